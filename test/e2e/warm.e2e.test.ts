import { spawn } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { runWarmCommand } from "../../bin/warm";
import { DiskStorage } from "../../lib/proxy/storage/disk";
import { IndexLog } from "../../lib/proxy/sync/index-log";
import { addToken } from "../../lib/proxy/auth/token-store";
import { FIXTURE, standardFixtures, writeProxyTree } from "../support/fixtures";
import { createGoWorkspace, expectGoSuccess, removeTree, type GoWorkspace } from "../support/gocmd";
import { describeWithTools } from "../support/tools";
import { startStaticUpstream, type StaticUpstream } from "../support/upstream";
import { filesUnder } from "./airgap-support";
import { startTestMirror, type TestMirror } from "./gomirror";

/**
 * `gomirror warm` from what the go command itself wrote: a go.sum and a go.mod of a program
 * built against a loopback upstream. After warming, the upstream answers nothing but 500, and a
 * fresh go command still builds the program through the mirror, from its cache alone.
 */

const ROOT = path.resolve(__dirname, "../..");

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `gomirror warm` as a user runs it: its own process, reading its environment. */
function warmProcess(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["-r", "ts-node/register/transpile-only", "bin/gomirror.ts", "warm", ...args],
      {
        cwd: ROOT,
        env: { PATH: process.env.PATH, HOME: tmpdir(), ...env },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", reject);
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

async function warmInProcess(args: string[], env: Record<string, string>): Promise<Run> {
  let stdout = "";
  let stderr = "";
  const code = await runWarmCommand(args, {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    env,
    progress: false,
  });
  return { code, stdout, stderr };
}

describeWithTools({ go: true }, "gomirror warm from the go command's own files", () => {
  let root: string;
  let work: string;
  let upstream: StaticUpstream;
  let goSum: string;
  let goMod: string;
  const mirrors: TestMirror[] = [];
  let ws: GoWorkspace | undefined;

  beforeAll(async () => {
    root = mkdtempSync(path.join(tmpdir(), "gomirror-e2e-warm-"));
    work = mkdtempSync(path.join(tmpdir(), "gomirror-e2e-warm-files-"));
    writeProxyTree(root, standardFixtures());
    upstream = await startStaticUpstream({ root });
    // The program and its go.sum, as the go command writes them against the upstream.
    const maker = createGoWorkspace({ goproxy: upstream.url });
    try {
      maker.writeMainModule({
        imports: [FIXTURE.chainA, FIXTURE.v2],
        requires: [
          { module: FIXTURE.chainA, version: "v1.0.0" },
          { module: FIXTURE.v2, version: "v2.1.0" },
        ],
      });
      expectGoSuccess(await maker.run(["mod", "tidy"]), "go mod tidy");
      goSum = path.join(work, "go.sum");
      goMod = path.join(work, "go.mod");
      copyFileSync(path.join(maker.moduleDir, "go.sum"), goSum);
      copyFileSync(path.join(maker.moduleDir, "go.mod"), goMod);
      copyFileSync(path.join(maker.moduleDir, "main.go"), path.join(work, "main.go"));
    } finally {
      maker.cleanup();
    }
  }, 300_000);

  afterEach(async () => {
    upstream.faults.clear();
    ws?.cleanup();
    ws = undefined;
    for (const m of mirrors.splice(0)) await m.close();
  });

  afterAll(async () => {
    await upstream?.close();
    if (root) removeTree(root);
    if (work) removeTree(work);
  });

  /** Builds the program through `goproxy` in a fresh GOPATH, while the upstream is down. */
  async function buildThrough(goproxy: string): Promise<void> {
    upstream.faults.set("*", { status: 500 });
    ws = createGoWorkspace({ goproxy });
    for (const file of ["go.mod", "go.sum", "main.go"])
      copyFileSync(path.join(work, file), path.join(ws.moduleDir, file));
    const run = await ws.run(["run", "."], { env: { GOFLAGS: "-mod=readonly" } });
    expectGoSuccess(run, "go run through the warmed mirror");
    expect(run.stdout).toContain("chain/a v1.0.0 > chain/b v1.2.0 > chain/c v1.0.0");
    expect(run.stdout).toContain("major/v2 v2.1.0");
  }

  it("--mirror with a token: warms a running mirror from go.sum, checking its hashes", async () => {
    const tokenFile = path.join(work, "tokens");
    const { token } = await addToken(tokenFile, "warmer");
    const mirror = await startTestMirror({ goproxy: upstream.url, env: { GOMIRROR_AUTH_FILE: tokenFile } });
    mirrors.push(mirror);
    upstream.resetRequests();

    const run = await warmProcess(["--mirror", mirror.url, "--jobs", "3", goSum], { GOMIRROR_TOKEN: token });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const sumLines = readFileSync(goSum, "utf8").trim().split("\n");
    const zips = sumLines.filter((l) => !l.includes("/go.mod "));
    expect(run.stdout).toMatch(new RegExp(`files fetched, 0 already there, 0 failed\\n$`));
    expect(run.stdout.split("\n").filter((l) => l.startsWith("ok   "))).toHaveLength(
      new Set(sumLines.map((l) => l.split(" ").slice(0, 2).join(" ").replace("/go.mod", ""))).size,
    );
    expect(upstream.count(/\.zip$/)).toBe(zips.length);
    expect(run.stdout).not.toContain(token);

    // Without the token the mirror refuses, and warm says so.
    const refused = await warmProcess(["--mirror", mirror.url, `${FIXTURE.chainC}@v1.0.0`], {});
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain(`FAIL ${FIXTURE.chainC}@v1.0.0 info: the mirror answered 401`);

    // What the mirror stored is enough: a mirror of the same storage with no upstream builds it.
    const cacheOnly = await startTestMirror({ goproxy: "off", storage: mirror.storage });
    mirrors.push(cacheOnly);
    await buildThrough(cacheOnly.url);
  }, 300_000);

  it("--storage from go.mod: the whole requirement graph lands in the storage the mirror serves", async () => {
    const storage = mkdtempSync(path.join(tmpdir(), "gomirror-e2e-warm-storage-"));
    const run = await warmInProcess(["--storage", storage, goMod], {
      GOPROXY: upstream.url,
      GOSUMDB: "off",
      GOMIRROR_LOG_LEVEL: "silent",
    });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    // chain/b v1.2.0 is selected; chain/c v1.0.0 too (only its go.mod would not do).
    expect(run.stdout).toMatch(/warmed \d+ module versions: \d+ files fetched, 0 already there, 0 failed\n$/);
    // Recorded for /index as it is stored (no rebuild needed): one entry per .mod and .zip.
    const recorded = await new IndexLog(new DiskStorage(storage), undefined, false).read(0, 2000);
    const moduleFiles = filesUnder(storage).filter((f) => /\/@v\/[^/]+\.(mod|zip)$/.test(f));
    expect(recorded.length).toBe(moduleFiles.length);
    expect(recorded.length).toBeGreaterThan(0);

    const again = await warmInProcess(["--storage", storage, goSum], {
      GOPROXY: upstream.url,
      GOSUMDB: "off",
    });
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/: 0 files fetched, \d+ already there, 0 failed\n$/);

    const mirror = await startTestMirror({ goproxy: "off", storage });
    mirrors.push(mirror);
    await buildThrough(mirror.url);
  }, 300_000);

  it("exits 1 naming the module when a file differs from go.sum", async () => {
    const tampered = path.join(work, "tampered.sum");
    const lines = readFileSync(goSum, "utf8").split("\n");
    const at = lines.findIndex((l) => l.startsWith(`${FIXTURE.chainC} v1.0.0 h1:`));
    lines[at] = `${FIXTURE.chainC} v1.0.0 h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=`;
    writeFileSync(tampered, lines.join("\n"));
    const storage = mkdtempSync(path.join(tmpdir(), "gomirror-e2e-warm-storage-"));
    try {
      const run = await warmInProcess(["--storage", storage, tampered], {
        GOPROXY: upstream.url,
        GOSUMDB: "off",
      });
      expect(run.code).toBe(1);
      expect(run.stdout).toContain(
        `FAIL ${FIXTURE.chainC}@v1.0.0 zip: zip: checksum mismatch: go.sum has h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=, ${storage} has h1:`,
      );
      expect(run.stdout).toMatch(/, 1 failed\n$/);
    } finally {
      removeTree(storage);
    }
  }, 120_000);
});
