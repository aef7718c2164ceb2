import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describeLeftovers, runDirPrefix, sweepAbandonedRunDirs } from "./support/run-tmpdir";

/** The helpers of the leftover guard (jest globalSetup/globalTeardown in test/support). */
describe("the test run's temporary directory", () => {
  let root: string;
  beforeEach(() => (root = mkdtempSync(path.join(tmpdir(), "gomirror-guard-test-"))));
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it("names what was left, with the number of files in each directory", () => {
    expect(describeLeftovers(root)).toEqual([]);
    mkdirSync(path.join(root, "cdktf.outdir.abc", "stacks"), { recursive: true });
    mkdirSync(path.join(root, "gomirror-zip-x"));
    writeFileSync(path.join(root, "gomirror-zip-x", "module.zip"), "zip");
    writeFileSync(path.join(root, "loose"), "");
    expect(describeLeftovers(root)).toEqual([
      "cdktf.outdir.abc/ (0 files)",
      "gomirror-zip-x/ (1 file)",
      "loose",
    ]);
  });

  it("sweeps run directories of runs that are gone and quiet for an hour, and only those", () => {
    const exited = spawnSync(process.execPath, ["-e", ""]);
    const dead = exited.pid!;
    const hoursAgo = new Date(Date.now() - 2 * 3600 * 1000);
    const make = (pid: number, old: boolean): string => {
      const dir = mkdtempSync(path.join(root, runDirPrefix(pid)));
      if (old) utimesSync(dir, hoursAgo, hoursAgo);
      return dir;
    };
    const abandoned = make(dead, true);
    const recent = make(dead, false);
    const ownOld = make(process.pid, true);
    const other = path.join(root, "gomirror-zip-old");
    mkdirSync(other);
    utimesSync(other, hoursAgo, hoursAgo);

    sweepAbandonedRunDirs(root);
    expect(existsSync(abandoned)).toBe(false);
    expect([recent, ownOld, other].filter((d) => !existsSync(d))).toEqual([]);
  });
});
