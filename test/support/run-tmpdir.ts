import { readdirSync, rmSync, statSync } from "node:fs";
import path from "node:path";

/**
 * Every test run gets a temporary directory of its own (TMPDIR, which os.tmpdir() and the tools
 * the tests start read), so that what a run leaves behind can be seen and refused: jest's
 * globalSetup creates it, globalTeardown fails the run when anything is left in it.
 */

/** Where the run directories are made: the machine's temp dir, kept here before TMPDIR changes. */
export const SYSTEM_TMPDIR_ENV = "GOMIRROR_TEST_SYSTEM_TMPDIR";
/** The run's own temporary directory. */
export const RUN_TMPDIR_ENV = "GOMIRROR_TEST_RUN_TMPDIR";

const RUN_PREFIX = "gomirror-test-run-";

/** `gomirror-test-run-<pid>-XXXXXX`: the pid of the jest process that owns it. */
export function runDirPrefix(pid: number): string {
  return `${RUN_PREFIX}${pid}-`;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** A run directory untouched for this long, whose process is gone, was abandoned. */
const ABANDONED_MS = 60 * 60 * 1000;

/**
 * Removes run directories of interrupted runs (jest skips globalTeardown on Ctrl-C): their jest
 * process is gone and they have not changed for an hour. The age matters where the temp dir is
 * shared with processes this one cannot see (another PID namespace).
 */
export function sweepAbandonedRunDirs(systemTmp: string): void {
  for (const name of readdirSync(systemTmp)) {
    const pid = name.startsWith(RUN_PREFIX) ? parseInt(name.slice(RUN_PREFIX.length), 10) : NaN;
    if (!(pid > 0) || pid === process.pid || isAlive(pid)) continue;
    const dir = path.join(systemTmp, name);
    const st = statSync(dir, { throwIfNoEntry: false });
    if (st && Date.now() - st.mtimeMs > ABANDONED_MS) rmSync(dir, { recursive: true, force: true });
  }
}

function countFiles(dir: string): number {
  let n = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    n += entry.isDirectory() && !entry.isSymbolicLink() ? countFiles(path.join(dir, entry.name)) : 1;
  }
  return n;
}

/** One line per entry left in `dir`: its name, and how many files a directory holds. */
export function describeLeftovers(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .map((name) => {
      const full = path.join(dir, name);
      const st = statSync(full, { throwIfNoEntry: false });
      if (!st?.isDirectory()) return name;
      const files = countFiles(full);
      return `${name}/ (${files} file${files === 1 ? "" : "s"})`;
    });
}
