import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { storageKeys } from "../../lib/proxy/cache/keys";
import { DiskStorage } from "../../lib/proxy/storage/disk";
import { removeTree } from "../support/gocmd";

/** `gomirror index --rebuild` run as users run it: its own process, the storage as a flag. */

const ROOT = path.resolve(__dirname, "../..");

function gomirror(args: readonly string[]): { code: number | null; stdout: string; stderr: string } {
  const run = spawnSync(
    process.execPath,
    ["-r", "ts-node/register/transpile-only", "bin/gomirror.ts", ...args],
    {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        HOME: tmpdir(),
        TMPDIR: process.env.TMPDIR,
        ...(process.env.V8_COMPILE_CACHE_CACHE_DIR && {
          V8_COMPILE_CACHE_CACHE_DIR: process.env.V8_COMPILE_CACHE_CACHE_DIR,
        }),
      },
      encoding: "utf8",
      timeout: 60_000,
    },
  );
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe("gomirror index", () => {
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "gomirror-index-cli-"));
    // Files stored before the feed existed: nothing records them yet.
    const storage = new DiskStorage(dir);
    await storage.put(storageKeys.mod("example.test/m", "v1.0.0"), Buffer.from("module example.test/m\n"));
    await storage.put(storageKeys.zip("example.test/m", "v1.0.0"), Buffer.from("PK not checked here"));
    await storage.put(storageKeys.mod("example.test/m", "v1.1.0"), Buffer.from("module example.test/m\n"));
  });
  afterAll(() => removeTree(dir));

  it("adds an entry for every module file the index lacks, and nothing when run again", () => {
    const first = gomirror(["index", "--rebuild", "--storage", dir]);
    expect([first.code, first.stderr]).toEqual([0, ""]);
    expect(first.stdout).toBe(`index of ${dir}: 3 module files, 3 entries added\n`);
    const again = gomirror(["index", "--rebuild", "--storage", dir]);
    expect(again.stdout).toBe(`index of ${dir}: 3 module files, 0 entries added\n`);
  }, 120_000);

  it("says how it is used, and refuses to guess", () => {
    const help = gomirror(["index", "--help"]);
    expect([help.code, help.stdout]).toEqual([0, expect.stringContaining("gomirror index --rebuild")]);
    const bare = gomirror(["index", "--storage", dir]);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain("index wants --rebuild");
  }, 120_000);
});
