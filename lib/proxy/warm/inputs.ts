import { checkPath } from "../module/path";
import { isCanonicalVersion } from "../module/semver";

/** The files of a module version a client asks a proxy for. */
export type ModuleFile = "info" | "mod" | "zip";

/** One module version to warm, with what to fetch and the `h1:` hashes go.sum gives for it. */
export interface WarmItem {
  readonly path: string;
  /** A canonical version, or a query (`latest`, `v1.2`) resolved through `.info` first. */
  readonly version: string;
  readonly files: ReadonlySet<ModuleFile>;
  readonly zipHash?: string;
  readonly modHash?: string;
}

export class WarmInputError extends Error {}

const ALL_FILES: ReadonlySet<ModuleFile> = new Set(["info", "mod", "zip"]);
const MOD_ONLY: ReadonlySet<ModuleFile> = new Set(["mod"]);

function checkModule(path: string, version: string, where: string): void {
  try {
    checkPath(path);
  } catch (err) {
    throw new WarmInputError(`${where}: ${(err as Error).message}`);
  }
  if (!isCanonicalVersion(version)) {
    throw new WarmInputError(`${where}: ${version} is not a canonical version like v1.2.3`);
  }
}

/**
 * go.sum: `path version h1:...` asks for the zip (and its `.info` and `.mod`, which a build
 * fetches too); `path version/go.mod h1:...` alone asks for the go.mod only, which is all the
 * go command needs of a module it does not build.
 */
export function readGoSum(text: string, name = "go.sum"): WarmItem[] {
  const items = new Map<string, { path: string; version: string; zipHash?: string; modHash?: string }>();
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (line === "") return;
    const fields = line.split(/\s+/);
    const where = `${name}:${i + 1}`;
    if (fields.length !== 3 || !fields[2]!.startsWith("h1:")) {
      throw new WarmInputError(`${where}: want "module version h1:hash", got ${JSON.stringify(line)}`);
    }
    const [path, versionField, hash] = fields as [string, string, string];
    const isMod = versionField.endsWith("/go.mod");
    const version = isMod ? versionField.slice(0, -"/go.mod".length) : versionField;
    checkModule(path, version, where);
    const key = `${path}@${version}`;
    const item = items.get(key) ?? { path, version };
    if (isMod) item.modHash = hash;
    else item.zipHash = hash;
    items.set(key, item);
  });
  return [...items.values()].map((item) => ({
    ...item,
    files: item.zipHash !== undefined ? ALL_FILES : MOD_ONLY,
  }));
}

/**
 * `go list -m all` output: the main module (a path alone) first, then `path version`, or
 * `path version => replacement version` (the replacement is what gets fetched); a replacement by
 * a directory (`=> ../dir`) has nothing to fetch.
 */
export function readModuleList(text: string, name = "module list"): WarmItem[] {
  const items: WarmItem[] = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (line === "") return;
    const where = `${name}:${i + 1}`;
    const [left, right] = line.split(/\s+=>\s+/) as [string, string | undefined];
    const target = (right ?? left).split(/\s+/);
    if (target.length === 1) return; // the main module, or a directory replacement
    if (target.length !== 2) {
      throw new WarmInputError(`${where}: want "module version", got ${JSON.stringify(line)}`);
    }
    const [path, version] = target as [string, string];
    checkModule(path, version, where);
    items.push({ path, version, files: ALL_FILES });
  });
  return items;
}

/** `module@version` arguments; the version may be a query such as `latest` or `v1.2`. */
export function readModuleArgument(arg: string): WarmItem {
  const at = arg.lastIndexOf("@");
  if (at <= 0 || at === arg.length - 1) {
    throw new WarmInputError(`${JSON.stringify(arg)}: want module@version, e.g. golang.org/x/text@v0.14.0`);
  }
  const path = arg.slice(0, at);
  try {
    checkPath(path);
  } catch (err) {
    throw new WarmInputError(`${JSON.stringify(arg)}: ${(err as Error).message}`);
  }
  return { path, version: arg.slice(at + 1), files: ALL_FILES };
}

/** The items of several inputs, each module version once, its files and hashes merged. */
export function mergeItems(lists: readonly (readonly WarmItem[])[]): WarmItem[] {
  const merged = new Map<string, WarmItem>();
  for (const item of lists.flat()) {
    const key = `${item.path}@${item.version}`;
    const seen = merged.get(key);
    merged.set(
      key,
      seen
        ? {
            ...seen,
            files: new Set([...seen.files, ...item.files]),
            zipHash: seen.zipHash ?? item.zipHash,
            modHash: seen.modHash ?? item.modHash,
          }
        : item,
    );
  }
  return [...merged.values()];
}
