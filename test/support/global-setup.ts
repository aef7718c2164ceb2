import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { TEST_CACHE } from "./gohelper";
import { RUN_TMPDIR_ENV, SYSTEM_TMPDIR_ENV, runDirPrefix, sweepAbandonedRunDirs } from "./run-tmpdir";

/** jest globalSetup: points TMPDIR at a new, empty directory for this run (see run-tmpdir.ts). */
export default function globalSetup(): void {
  const systemTmp = process.env[SYSTEM_TMPDIR_ENV] ?? tmpdir();
  sweepAbandonedRunDirs(systemTmp);
  const runTmp = mkdtempSync(path.join(systemTmp, runDirPrefix(process.pid)));
  process.env[SYSTEM_TMPDIR_ENV] = systemTmp;
  process.env[RUN_TMPDIR_ENV] = runTmp;
  // Read by os.tmpdir() in this process and in the workers jest starts after this, and by the
  // go command, git and podman that tests start.
  process.env.TMPDIR = runTmp;
  // Two tools keep a compile cache in the temp dir, which would be left in the run's: tsc (npm
  // pack's build) through node:module's enableCompileCache, told not to here; and ts-node
  // (v8-compile-cache-lib), whose cache goes beside the other test caches instead.
  process.env.NODE_DISABLE_COMPILE_CACHE = "1";
  process.env.V8_COMPILE_CACHE_CACHE_DIR = path.join(TEST_CACHE, "v8-compile-cache");
}
