import { MAX_LIST_BYTES } from "../limits";
import { parseList } from "../module/info";
import { isPseudoVersion } from "../module/pseudo";
import { compare } from "../module/semver";
import { readLimited } from "../read-limited";
import type { Storage } from "../storage/storage";
import { storageKeys } from "./keys";

/**
 * The stored `@v/list` of a module and the versions this mirror holds. A mirror that fetched a
 * version lists it because its upstream does; one that received it by `gomirror import` or
 * `gomirror sync` lists it because these add it here, so `go list -m -versions` and
 * `go get module@latest` answer the same either way, also with every upstream off. Only
 * versions whose zip is held are added (a version that travelled with its go.mod alone cannot
 * be built from here), and never pseudo-versions, which no `@v/list` names.
 */

export async function readStoredList(storage: Storage, path: string): Promise<string[]> {
  const key = storageKeys.list(path);
  const stored = await storage.get(key);
  return stored ? parseList(await readLimited(stored.body, MAX_LIST_BYTES, `stored ${key}`)) : [];
}

/**
 * Adds `versions` to the stored list of `path` (the list read again and rewritten, in semver
 * order, only when it changes). One writer per module path at a time: callers add a path's
 * versions in one call.
 */
export async function addListedVersions(
  storage: Storage,
  path: string,
  versions: readonly string[],
): Promise<boolean> {
  const listed = await readStoredList(storage, path);
  const known = new Set(listed);
  const added = versions.filter((v) => !isPseudoVersion(v) && !known.has(v) && known.add(v));
  if (added.length === 0) return false;
  const all = [...listed, ...added].sort(compare);
  await storage.put(storageKeys.list(path), Buffer.from(all.map((v) => `${v}\n`).join("")));
  return true;
}

/**
 * The versions of the stored list, other than those in `except`, whose zip this mirror holds:
 * what an upstream's fresh answer may lack (an imported private module, an upstream that is
 * another mirror) and the mirror can serve all the same.
 */
export async function heldVersions(
  storage: Storage,
  path: string,
  except: readonly string[] = [],
): Promise<string[]> {
  const skip = new Set(except);
  const candidates = (await readStoredList(storage, path)).filter((v) => !skip.has(v));
  const held = await Promise.all(
    candidates.map(async (v) => ((await storage.stat(storageKeys.zip(path, v))) ? v : undefined)),
  );
  return held.filter((v): v is string => v !== undefined);
}

/** Adds those of `versions` whose zip the storage holds to their modules' stored lists. */
export async function listHeldVersions(
  storage: Storage,
  versions: readonly { readonly path: string; readonly version: string }[],
): Promise<void> {
  const byPath = new Map<string, string[]>();
  for (const { path, version } of versions) {
    if (!(await storage.stat(storageKeys.zip(path, version)))) continue;
    byPath.set(path, [...(byPath.get(path) ?? []), version]);
  }
  for (const [path, held] of byPath) await addListedVersions(storage, path, held);
}
