import { rmSync } from "node:fs";
import { RUN_TMPDIR_ENV, SYSTEM_TMPDIR_ENV, describeLeftovers } from "./run-tmpdir";

/**
 * jest globalTeardown: fails the run when tests left anything in the run's temporary directory,
 * naming what, then removes the directory either way.
 */
export default function globalTeardown(): void {
  const runTmp = process.env[RUN_TMPDIR_ENV];
  if (!runTmp) throw new Error(`${RUN_TMPDIR_ENV} is not set: did the global setup run?`);
  const left = describeLeftovers(runTmp);
  rmSync(runTmp, { recursive: true, force: true });
  process.env.TMPDIR = process.env[SYSTEM_TMPDIR_ENV];
  if (left.length > 0) {
    throw new Error(
      `the tests left ${left.length} entr${left.length === 1 ? "y" : "ies"} in their temporary directory ` +
        `(each test removes what it creates in os.tmpdir()):\n${left.map((l) => `  ${l}`).join("\n")}`,
    );
  }
}
