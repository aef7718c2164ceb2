import { compareVersions, isCanonicalVersion } from "../module/semver";
import type { WarmItem } from "./inputs";
import { readGoModDirectives, type Replacement, type Requirement } from "./requirements";

/** Fetches a go.mod through the target (warming it); undefined when that failed (already reported). */
export type ModFetcher = (path: string, version: string) => Promise<Buffer | undefined>;

/** A replacement by a directory: there is nothing to fetch, and its requirements are not known. */
function isDirectory(target: string): boolean {
  return target.startsWith("./") || target.startsWith("../") || target.startsWith("/");
}

/**
 * The module graph of a main module's go.mod, walked as the go command loads it without graph
 * pruning: every requirement's go.mod is fetched and its requirements followed, with the main
 * module's `replace` and `exclude` applied throughout. Returns, for each module path, the
 * version minimal version selection picks (the highest one reached), as items asking for its
 * `.info` and zip; every go.mod on the way has been fetched already.
 */
export async function walkModuleGraph(
  goMod: string,
  fetchMod: ModFetcher,
  jobs: number,
): Promise<WarmItem[]> {
  const main = readGoModDirectives(goMod);
  const excluded = new Set(main.excludes.map((e) => `${e.path}@${e.version}`));
  const replace = (req: Requirement): Replacement | undefined =>
    main.replaces.find((r) => r.old === req.path && r.oldVersion === req.version) ??
    main.replaces.find((r) => r.old === req.path && r.oldVersion === undefined);
  /** What is fetched for a requirement: itself, or its replacement; undefined for a directory. */
  const source = (req: Requirement): Requirement | undefined => {
    const r = replace(req);
    if (!r) return req;
    return r.version === undefined || isDirectory(r.new) ? undefined : { path: r.new, version: r.version };
  };

  const versions = new Map<string, Set<string>>();
  const seen = new Set<string>();
  const queue: Requirement[] = [];
  const add = (req: Requirement): void => {
    if (!isCanonicalVersion(req.version) || excluded.has(`${req.path}@${req.version}`)) return;
    const key = `${req.path}@${req.version}`;
    if (seen.has(key)) return;
    seen.add(key);
    let set = versions.get(req.path);
    if (!set) versions.set(req.path, (set = new Set()));
    set.add(req.version);
    queue.push(req);
  };
  main.requires.forEach(add);

  let active = 0;
  await new Promise<void>((resolve) => {
    const pump = (): void => {
      if (queue.length === 0 && active === 0) return resolve();
      while (active < jobs && queue.length > 0) {
        const req = queue.shift()!;
        const from = source(req);
        if (!from) continue;
        active++;
        void fetchMod(from.path, from.version)
          .then((data) => {
            if (data) readGoModDirectives(data.toString("utf8")).requires.forEach(add);
          })
          .finally(() => {
            active--;
            pump();
          });
      }
      if (queue.length === 0 && active === 0) resolve();
    };
    pump();
  });

  const selected: WarmItem[] = [];
  for (const [path, set] of versions) {
    const version = [...set].sort(compareVersions).pop()!;
    const from = source({ path, version });
    if (from) selected.push({ path: from.path, version: from.version, files: new Set(["info", "zip"]) });
  }
  return selected;
}
