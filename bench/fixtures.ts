import path from "node:path";
import { sizedModule, smallModules, writeProxyTree, type BuiltModule } from "../test/support/fixtures";

/** The modules the benchmark serves, written as a GOPROXY tree by the x/mod-based fixture helper. */
export interface BenchFixtures {
  readonly root: string;
  /** Source of the `.info`, `.mod` and 100 KB zip measured. */
  readonly small: BuiltModule;
  /** The 50 MB zip. */
  readonly large: BuiltModule;
  /** The modules the go command downloads. */
  readonly many: readonly BuiltModule[];
}

export const SMALL_ZIP_BYTES = 100 * 1000;
export const LARGE_ZIP_BYTES = 50 * 1000 * 1000;
export const MANY_MODULES = 50;

export function buildFixtures(workDir: string): BenchFixtures {
  const root = path.join(workDir, "upstream");
  const small = sizedModule(SMALL_ZIP_BYTES);
  const large = sizedModule(LARGE_ZIP_BYTES);
  const many = smallModules(MANY_MODULES);
  const set = writeProxyTree(root, [small, large, ...many]);
  return {
    root,
    small: set.get(small.path, small.version),
    large: set.get(large.path, large.version),
    many: many.map((m) => set.get(m.path, m.version)),
  };
}

/** The URL path (leading slash) of a module version's file. */
export function urlPath(m: BuiltModule, ext: "info" | "mod" | "zip"): string {
  return `/${m.escapedPath}/@v/${m.escapedVersion}.${ext}`;
}
