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

/**
 * A list file: `path@version` or `path version` lines, blank lines and `#` comments skipped; or
 * `go list -m all` output as it comes: the main module (a path alone) is skipped, a replaced
 * module (`path version => new version`) stands for its replacement, a directory replacement
 * (`=> ../dir`) has nothing to bundle, and `-u`/`-retracted` notes (`[v1.2.4]`, `(retracted)`)
 * are ignored.
 */
export function parseVersionList(text: string, file: string): WantedVersion[] {
  const out: WantedVersion[] = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.replace(/#.*/, "").trim();
    if (line === "") return;
    const where = `${file}:${i + 1}`;
    const [left, right] = line.split(/\s+=>\s+/);
    const fields = (right ?? left).split(/\s+/).filter((f) => !/^[[(]/.test(f));
    if (fields.length === 1 && !fields[0].includes("@")) return; // the main module, or a directory
    if (fields.length > 2)
      throw new SelectionError(`${where}: want "module version", got ${JSON.stringify(line)}`);
    out.push(parseModuleArg(fields.join("@"), where));
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
  /** The `module` directive; the main module's path never gets a zip. */
  module?: string;
  /** The `go` directive: from 1.17 on, the go command prunes the module graph. */
  go?: string;
  readonly requires: ModVer[];
  readonly excludes: Set<string>;
  /** `path` or `path@version` to a module replacement, or "local" for a directory. */
  readonly replaces: Map<string, ModVer | "local">;
}

function unquote(token: string): string {
  return token.startsWith('"') && token.endsWith('"') ? (JSON.parse(token) as string) : token;
}

/** Reads `module`, `go`, `require`, `exclude` and `replace` (single lines and blocks). */
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
  if (verb === "module" && args.length === 1) into.module = args[0];
  if (verb === "go" && args.length === 1) into.go = args[0];
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

/** Whether a go.mod's `go` directive makes the go command prune its module graph (go 1.17 on). */
export function prunesGraph(go: string | undefined): boolean {
  const m = /^1\.(\d+)/.exec(go ?? "");
  return m !== null && Number(m[1]) >= 17;
}

/**
 * The requirement graph of a main module's go.mod. Every version reachable through the
 * requirements of every go.mod (the unpruned graph, with the main module's `replace` and
 * `exclude` applied) travels with its go.mod. The zips are those of the versions the go command
 * selects: minimal version selection over the graph the go command loads, which for a main
 * module at `go 1.17` or later is the pruned graph (the main module's requirements, their own
 * requirements, and everything below a dependency whose go.mod is older than 1.17), so a
 * version required only deep inside a pruned dependency does not raise the selection. Requirements
 * on the main module's own path get no zip (the main module always wins). `readMod` fetches a
 * version's go.mod; each is read once.
 */
export async function requirementGraph(
  mainGoMod: string,
  readMod: (path: string, version: string) => Promise<Buffer>,
): Promise<WantedVersion[]> {
  const main = parseGoModDirectives(mainGoMod);
  const key = (m: ModVer): string => `${m.path}@${m.version}`;
  const replaced = (m: ModVer): ModVer | undefined => {
    const r = main.replaces.get(key(m)) ?? main.replaces.get(m.path);
    return r === "local" ? undefined : (r ?? m);
  };
  const notExcluded = (reqs: readonly ModVer[]): ModVer[] => reqs.filter((r) => !main.excludes.has(key(r)));

  /** A version's go.mod as the graph sees it (its replacement's); undefined for a directory. */
  const summaries = new Map<string, Promise<{ requires: ModVer[]; pruned: boolean } | undefined>>();
  const summary = (m: ModVer): Promise<{ requires: ModVer[]; pruned: boolean } | undefined> => {
    const actual = replaced(m);
    if (!actual) return Promise.resolve(undefined);
    let s = summaries.get(key(actual));
    if (!s) {
      checked(actual.path, actual.version, "go.mod requirement");
      s = readMod(actual.path, actual.version).then((data) => {
        const d = parseGoModDirectives(data.toString("utf8"));
        return { requires: notExcluded(d.requires), pruned: prunesGraph(d.go) };
      });
      summaries.set(key(actual), s);
    }
    return s;
  };

  // The unpruned graph: every go.mod that any go command could read for this main module.
  const roots = notExcluded(main.requires);
  const reachable = new Map<string, ModVer>();
  const queue: ModVer[] = [...roots];
  while (queue.length > 0) {
    const m = queue.shift() as ModVer;
    checked(m.path, m.version, "go.mod requirement");
    if (reachable.has(key(m))) continue;
    reachable.set(key(m), m);
    queue.push(...((await summary(m))?.requires ?? []));
  }

  // The graph the go command selects from (modload's readModGraph).
  let selectFrom: ModVer[] = [...reachable.values()];
  if (prunesGraph(main.go)) {
    const nodes = new Map<string, ModVer>(roots.map((r) => [key(r), r]));
    const unpruned = new Set<string>();
    const load = async (m: ModVer, pruned: boolean): Promise<void> => {
      if (!pruned) {
        if (unpruned.has(key(m))) return;
        unpruned.add(key(m));
      }
      const s = await summary(m);
      if (!s) return;
      for (const r of s.requires) {
        nodes.set(key(r), r);
        // Below a pre-1.17 go.mod, or once unpruned, everything is loaded.
        if (!pruned || !s.pruned) await load(r, false);
      }
    };
    for (const r of roots) await load(r, true);
    selectFrom = [...nodes.values()];
  }
  const selected = new Map<string, string>();
  for (const m of selectFrom) {
    if (m.path === main.module) continue;
    const best = selected.get(m.path);
    if (best === undefined || compare(m.version, best) > 0) selected.set(m.path, m.version);
  }
  const zips = new Set<string>();
  for (const [path, version] of selected) {
    const actual = replaced({ path, version });
    if (actual) zips.add(key(actual));
  }

  const goMods = new Map<string, ModVer>();
  for (const m of reachable.values()) {
    const actual = replaced(m);
    if (actual) goMods.set(key(actual), actual);
  }
  return [...goMods.values()].map((m) => ({ path: m.path, version: m.version, zip: zips.has(key(m)) }));
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
