import path from "node:path";
import { sizedModule, smallModules, writeProxyTree, type BuiltModule } from "../test/support/fixtures";

/** The modules the benchmark serves, written as a GOPROXY tree by the x/mod-based fixture helper. */
export interface BenchFixtures {
  readonly root: string;
  /** Source of the `.info`, `.mod` and 100 KB zip measured. */
  readonly small: BuiltModule;
  /** The 50 MB zip. */
  readonly large: BuiltModule;
  /** The 500 MB zip (memory must not grow with the size of what is streamed), when asked for. */
  readonly huge?: BuiltModule;
  /** The modules the go command downloads. */
  readonly many: readonly BuiltModule[];
}

export const SMALL_ZIP_BYTES = 100 * 1000;
export const LARGE_ZIP_BYTES = 50 * 1000 * 1000;
export const MANY_MODULES = 50;

export const HUGE_ZIP_BYTES = 500 * 1000 * 1000;

export function buildFixtures(workDir: string, options: { huge: boolean }): BenchFixtures {
  const root = path.join(workDir, "upstream");
  const small = sizedModule(SMALL_ZIP_BYTES);
  const large = sizedModule(LARGE_ZIP_BYTES);
  const huge = options.huge ? sizedModule(HUGE_ZIP_BYTES) : undefined;
  const many = smallModules(MANY_MODULES);
  const set = writeProxyTree(root, [small, large, ...(huge ? [huge] : []), ...many]);
  return {
    root,
    small: set.get(small.path, small.version),
    large: set.get(large.path, large.version),
    ...(huge ? { huge: set.get(huge.path, huge.version) } : {}),
    many: many.map((m) => set.get(m.path, m.version)),
  };
}

/** The URL path (leading slash) of a module version's file. */
export function urlPath(m: BuiltModule, ext: "info" | "mod" | "zip"): string {
  return `/${m.escapedPath}/@v/${m.escapedVersion}.${ext}`;
}
