import { compare } from "../module/semver";
import { checkCanonicalVersion } from "../module/version";
import { checkPath } from "../module/path";

/**
 * Which module versions a bundle holds, from what the user names: a go.sum (each version it
 * records, with a zip when it records one), a go.mod (its whole requirement graph: the go.mod of
 * every version reachable, the zip of each version minimal version selection picks), a list file
 * (`path@version` or `path version` per line, `#` comments), or `path@version` arguments.
 */

export interface WantedVersion {
  readonly path: string;
  readonly version: string;
  /** False when only the go.mod is needed (a version in the graph that is never built). */
  readonly zip: boolean;
  /** The hashes a go.sum recorded, checked against the bundle's. */
  readonly goSum?: { readonly zip?: string; readonly mod?: string };
}

export class SelectionError extends Error {}

function checked(path: string, version: string, where: string): void {
  try {
    checkPath(path);
    checkCanonicalVersion(path, version);
  } catch (err) {
    throw new SelectionError(`${where}: ${(err as Error).message}`);
  }
}

/** Versions recorded in a go.sum: `M V h1:..` (the zip) and `M V/go.mod h1:..`. */
export function parseGoSum(text: string, file = "go.sum"): WantedVersion[] {
  const byKey = new Map<string, { path: string; version: string; zip?: string; mod?: string }>();
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (line === "") return;
    const f = line.split(/\s+/);
    if (f.length !== 3 || !f[2].startsWith("h1:"))
      throw new SelectionError(`${file}:${i + 1}: malformed go.sum line`);
    const isMod = f[1].endsWith("/go.mod");
    const version = isMod ? f[1].slice(0, -"/go.mod".length) : f[1];
    checked(f[0], version, `${file}:${i + 1}`);
    const key = `${f[0]}@${version}`;
    const entry = byKey.get(key) ?? { path: f[0], version };
    if (isMod) entry.mod = f[2];
    else entry.zip = f[2];
    byKey.set(key, entry);
  });
  return [...byKey.values()].map((e) => ({
    path: e.path,
    version: e.version,
    zip: e.zip !== undefined,
    goSum: { zip: e.zip, mod: e.mod },
  }));
}

/** `path@version` or `path version` lines; blank lines and `#` comments are skipped. */
export function parseVersionList(text: string, file: string): WantedVersion[] {
  const out: WantedVersion[] = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.replace(/#.*/, "").trim();
    if (line === "") return;
    out.push(parseModuleArg(line.replace(/\s+/, "@"), `${file}:${i + 1}`));
  });
  return out;
}

export function parseModuleArg(arg: string, where = "argument"): WantedVersion {
  const at = arg.lastIndexOf("@");
  if (at <= 0) throw new SelectionError(`${where}: ${JSON.stringify(arg)} is not module@version`);
  const path = arg.slice(0, at);
  const version = arg.slice(at + 1);
  checked(path, version, where);
  return { path, version, zip: true };
}

interface ModVer {
  readonly path: string;
  readonly version: string;
}

/** The directives of a go.mod that shape its requirement graph. */
export interface GoModGraphDirectives {
  readonly requires: ModVer[];
  readonly excludes: Set<string>;
  /** `path` or `path@version` to a module replacement, or "local" for a directory. */
  readonly replaces: Map<string, ModVer | "local">;
}

function unquote(token: string): string {
  return token.startsWith('"') && token.endsWith('"') ? (JSON.parse(token) as string) : token;
}

/** Reads `require`, `exclude` and `replace` (single lines and blocks), as modfile does for the graph. */
export function parseGoModDirectives(text: string): GoModGraphDirectives {
  const result: GoModGraphDirectives = { requires: [], excludes: new Set(), replaces: new Map() };
  let block: string | undefined;
  for (const raw of text.split("\n")) {
    const line = raw.replace(/\/\/.*/, "").trim();
    if (line === "") continue;
    if (block !== undefined) {
      if (line === ")") block = undefined;
      else directive(block, line.split(/\s+/).map(unquote), result);
      continue;
    }
    const [verb, ...rest] = line.split(/\s+/);
    if (rest.length === 1 && rest[0] === "(") block = verb;
    else directive(verb, rest.map(unquote), result);
  }
  return result;
}

function directive(verb: string, args: string[], into: GoModGraphDirectives): void {
  if (verb === "require" && args.length >= 2) into.requires.push({ path: args[0], version: args[1] });
  if (verb === "exclude" && args.length >= 2) into.excludes.add(`${args[0]}@${args[1]}`);
  if (verb === "replace") {
    const arrow = args.indexOf("=>");
    if (arrow < 1) return;
    const from = arrow === 2 ? `${args[0]}@${args[1]}` : args[0];
    const to = args.slice(arrow + 1);
    into.replaces.set(from, to.length === 2 ? { path: to[0], version: to[1] } : "local");
  }
}

/**
 * The requirement graph of a main module's go.mod, walked as the go command's unpruned module
 * graph is: every reachable version's go.mod, with the main module's replacements and
 * exclusions applied; the version of each path that minimal version selection picks gets its
 * zip. `readMod` fetches a version's go.mod.
 */
export async function requirementGraph(
  mainGoMod: string,
  readMod: (path: string, version: string) => Promise<Buffer>,
): Promise<WantedVersion[]> {
  const main = parseGoModDirectives(mainGoMod);
  const replaced = (m: ModVer): ModVer | undefined => {
    const r = main.replaces.get(`${m.path}@${m.version}`) ?? main.replaces.get(m.path);
    return r === "local" ? undefined : (r ?? m);
  };
  const seen = new Map<string, ModVer>();
  const queue: ModVer[] = [...main.requires];
  const picked = new Map<string, string>();
  while (queue.length > 0) {
    const req = queue.shift() as ModVer;
    if (main.excludes.has(`${req.path}@${req.version}`)) continue;
    checked(req.path, req.version, "go.mod requirement");
    const best = picked.get(req.path);
    if (best === undefined || compare(req.version, best) > 0) picked.set(req.path, req.version);
    const actual = replaced(req);
    if (!actual || seen.has(`${actual.path}@${actual.version}`)) continue;
    seen.set(`${actual.path}@${actual.version}`, actual);
    const text = (await readMod(actual.path, actual.version)).toString("utf8");
    queue.push(...parseGoModDirectives(text).requires);
  }
  return [...seen.values()].map((m) => ({
    path: m.path,
    version: m.version,
    zip: [...picked].some(([p, v]) => {
      const r = replaced({ path: p, version: v });
      return r !== undefined && r.path === m.path && r.version === m.version;
    }),
  }));
}

/** One entry per version; a zip wanted by any of the inputs is wanted. */
export function mergeWanted(lists: readonly WantedVersion[][]): WantedVersion[] {
  const byKey = new Map<string, WantedVersion>();
  for (const w of lists.flat()) {
    const key = `${w.path}@${w.version}`;
    const had = byKey.get(key);
    byKey.set(key, had ? { ...had, zip: had.zip || w.zip, goSum: had.goSum ?? w.goSum } : w);
  }
  return [...byKey.values()].sort((a, b) =>
    a.path === b.path ? compare(a.version, b.version) : a.path < b.path ? -1 : 1,
  );
}
