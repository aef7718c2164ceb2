import { SingleBar } from "cli-progress";
import { hashGoMod } from "../module/dirhash";
import { isCanonicalVersion } from "../module/semver";
import { walkModuleGraph } from "./graph";
import { mergeItems, type ModuleFile, type WarmItem } from "./inputs";
import type { WarmTarget } from "./target";

/**
 * `gomirror warm`: fills a mirror ahead of need with the module versions a build will ask for,
 * checking each file against go.sum where go.sum has its hash.
 */

export interface WarmOptions {
  readonly target: WarmTarget;
  readonly items: readonly WarmItem[];
  /** go.mod files whose whole requirement graph is warmed. */
  readonly goMods?: readonly string[];
  /** Module versions warmed at once. @default 4 */
  readonly jobs?: number;
  /** A progress bar on stderr. @default true when stderr is a terminal */
  readonly progress?: boolean;
  /** Where an `ok` line per module version goes when there is no progress bar. */
  readonly report?: (line: string) => void;
}

export interface WarmFailure {
  /** `path@version`. */
  readonly module: string;
  readonly file?: ModuleFile;
  readonly reason: string;
}

export interface WarmSummary {
  /** Module versions worked on (those whose go.mod only was read for the graph included). */
  readonly modules: number;
  /** Files fetched into the cache now (with a mirror: every file the mirror answered). */
  readonly fetched: number;
  /** Files the storage had already. */
  readonly alreadyThere: number;
  readonly failures: readonly WarmFailure[];
}

const ORDER: readonly ModuleFile[] = ["info", "mod", "zip"];

function mismatch(what: string, want: string, got: string | undefined, target: string): string {
  return `${what}: checksum mismatch: go.sum has ${want}, ${target} has ${got ?? "(no hash)"}`;
}

export async function runWarm(options: WarmOptions): Promise<WarmSummary> {
  const { target } = options;
  const jobs = Math.max(1, options.jobs ?? 4);
  let fetched = 0;
  let alreadyThere = 0;
  const failures: WarmFailure[] = [];
  const counted = new Set<string>();

  /** Counts one file once, however many inputs named it. */
  const count = (module: string, file: ModuleFile, present: boolean | undefined): void => {
    if (counted.has(`${module} ${file}`)) return;
    counted.add(`${module} ${file}`);
    if (present) alreadyThere++;
    else fetched++;
  };

  const fetchMod = async (path: string, version: string, modHash?: string): Promise<Buffer | undefined> => {
    const module = `${path}@${version}`;
    try {
      const present = await target.has(path, version, "mod");
      const data = await target.mod(path, version);
      if (modHash !== undefined) {
        const got = await hashGoMod(data);
        if (got !== modHash) throw new Error(mismatch("go.mod", modHash, got, target.name));
      }
      count(module, "mod", present);
      return data;
    } catch (err) {
      failures.push({ module, file: "mod", reason: (err as Error).message });
      return undefined;
    }
  };

  const graphItems: WarmItem[][] = [];
  for (const goMod of options.goMods ?? []) graphItems.push(await walkModuleGraph(goMod, fetchMod, jobs));
  const items = mergeItems([options.items, ...graphItems]);

  const showProgress = options.progress ?? process.stderr.isTTY === true;
  const bar = showProgress
    ? new SingleBar({
        stream: process.stderr,
        format:
          "warming {bar} {value}/{total} | fetched {fetched} | already there {present} | failed {failed}",
        hideCursor: true,
      })
    : undefined;
  bar?.start(items.length, 0, { fetched, present: alreadyThere, failed: 0 });

  const warmOne = async (item: WarmItem): Promise<void> => {
    let version = item.version;
    const failedBefore = failures.length;
    if (!isCanonicalVersion(version)) {
      try {
        version = await target.info(item.path, version);
        count(`${item.path}@${version}`, "info", undefined);
      } catch (err) {
        failures.push({
          module: `${item.path}@${item.version}`,
          file: "info",
          reason: (err as Error).message,
        });
        return;
      }
    }
    const module = `${item.path}@${version}`;
    for (const file of ORDER.filter((f) => item.files.has(f))) {
      if (file === "mod") {
        if (!(await fetchMod(item.path, version, item.modHash))) break;
        continue;
      }
      try {
        const present = await target.has(item.path, version, file);
        if (file === "info") await target.info(item.path, version);
        else {
          const got = await target.zip(item.path, version, item.zipHash !== undefined);
          if (item.zipHash !== undefined && got !== item.zipHash) {
            throw new Error(mismatch("zip", item.zipHash, got, target.name));
          }
        }
        count(module, file, present);
      } catch (err) {
        failures.push({ module, file, reason: (err as Error).message });
        break;
      }
    }
    if (!bar && failures.length === failedBefore) options.report?.(`ok   ${module}`);
  };

  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      await warmOne(items[next++]!);
      bar?.update(++done, { fetched, present: alreadyThere, failed: failures.length });
    }
  };
  try {
    await Promise.all(Array.from({ length: jobs }, worker));
  } finally {
    bar?.stop();
  }
  const modules = new Set([...counted].map((k) => k.split(" ")[0]!));
  for (const f of failures) modules.add(f.module);
  return { modules: modules.size, fetched, alreadyThere, failures };
}

/** One line per failure. */
export function formatWarmFailure(f: WarmFailure): string {
  return `FAIL ${f.module}${f.file ? ` ${f.file}` : ""}: ${f.reason}`;
}

/** The last line of the command: what was done, in numbers. */
export function formatWarmSummary(s: WarmSummary): string {
  return (
    `warmed ${s.modules} module version${s.modules === 1 ? "" : "s"}: ${s.fetched} files fetched, ` +
    `${s.alreadyThere} already there, ${s.failures.length} failed`
  );
}
