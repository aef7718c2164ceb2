import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { VERSION } from "../../lib/proxy/version";
import { freePort } from "../support/ports";

/**
 * What a new user sees from the `gomirror` command itself, run as its own process: the version,
 * the startup lines, and one clear line (no stack) when it cannot start. No test here reaches
 * beyond 127.0.0.1 (GOPROXY=off, or the proxy itself).
 */

const ROOT = path.resolve(__dirname, "../..");

interface Run {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  readonly exited: Promise<number | string>;
}

function gomirror(args: string[], env: Record<string, string>): Run {
  const child = spawn(
    process.execPath,
    ["-r", "ts-node/register/transpile-only", "bin/gomirror.ts", ...args],
    {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: tmpdir(), GOSUMDB: "off", GOPROXY: "off", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let out = "";
  let err = "";
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (err += chunk));
  const exited = new Promise<number | string>((resolve) =>
    child.on("exit", (code, signal) => resolve(code ?? signal ?? "unknown")),
  );
  return { child, stdout: () => out, stderr: () => err, exited };
}

async function waitFor(what: string, probe: () => boolean, run: Run, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (run.child.exitCode !== null) throw new Error(`gomirror exited before ${what}:\n${run.stderr()}`);
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}:\n${run.stdout()}${run.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe("the gomirror command, as a new user meets it", () => {
  let work: string;
  const runs: Run[] = [];
  const run = (args: string[], env: Record<string, string> = {}): Run => {
    // Its own temp directory: the spool sweep at start looks there.
    const r = gomirror(args, { TMPDIR: work, ...env });
    runs.push(r);
    return r;
  };

  beforeEach(() => {
    work = mkdtempSync(path.join(tmpdir(), "gomirror-e2e-startup-"));
  });
  afterEach(async () => {
    for (const r of runs.splice(0)) {
      if (r.child.exitCode === null && r.child.signalCode === null) {
        process.kill(r.child.pid!, "SIGKILL");
        await r.exited;
      }
    }
    rmSync(work, { recursive: true, force: true });
  });

  it.each([["--version"], ["version"]])(
    "prints its version for %s",
    async (arg) => {
      const r = run([arg]);
      expect(await r.exited).toBe(0);
      expect(r.stdout()).toBe(`gomirror ${VERSION}\n`);
    },
    60_000,
  );

  it("logs readable lines with GOMIRROR_LOG_FORMAT=pretty, and a second start on its port says so in one line", async () => {
    const port = await freePort();
    const env = { GOMIRROR_LISTEN: `127.0.0.1:${port}`, GOMIRROR_STORAGE: path.join(work, "cache") };
    const first = run(["serve"], { ...env, GOMIRROR_LOG_FORMAT: "pretty" });
    await waitFor("the startup lines", () => first.stdout().includes("    auth"), first);
    expect(first.stdout()).toMatch(
      new RegExp(
        `^\\d\\d:\\d\\d:\\d\\d INFO  gomirror ${VERSION} listening on http://127\\.0\\.0\\.1:${port}$`,
        "m",
      ),
    );
    expect(first.stdout()).toMatch(/^ {4}goproxy +off$/m);
    expect(first.stdout()).toMatch(/^\d\d:\d\d:\d\d WARN {2}GOSUMDB=off: /m);
    expect(first.stdout()).not.toMatch(/^\{/m);

    const second = run(["serve"], env);
    expect(await second.exited).toBe(1);
    expect(second.stderr()).toBe(
      `gomirror: 127.0.0.1:${port} is already in use (another gomirror?); set GOMIRROR_LISTEN or --listen to another address\n`,
    );
    process.kill(first.child.pid!, "SIGTERM");
    expect(await first.exited).toBe(0);
  }, 120_000);

  it("with GOMIRROR_WORKERS, stops at once when its workers cannot listen, instead of restarting them", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = blocker.address() as AddressInfo;
      const r = run(["serve"], {
        GOMIRROR_WORKERS: "2",
        GOMIRROR_LISTEN: `127.0.0.1:${port}`,
        GOMIRROR_STORAGE: path.join(work, "cache"),
      });
      expect(await r.exited).toBe(1);
      expect(r.stderr()).toMatch(
        new RegExp(`^(gomirror: 127\\.0\\.0\\.1:${port} is already in use .*\n){1,2}$`),
      );
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  }, 60_000);

  it("refuses to start when its GOPROXY is its own address, saying how to fix it", async () => {
    const port = await freePort();
    const r = run(["serve"], {
      GOPROXY: `http://127.0.0.1:${port}`,
      GOMIRROR_LISTEN: `127.0.0.1:${port}`,
      GOMIRROR_STORAGE: path.join(work, "cache"),
    });
    expect(await r.exited).toBe(2);
    expect(r.stderr()).toMatch(
      /^gomirror: GOPROXY=http:\/\/127\.0\.0\.1:\d+ names this proxy itself .*npm start`.*\n$/,
    );
    expect(r.stderr().split("\n")).toHaveLength(2);
  }, 60_000);

  it("refuses to start on a storage path it cannot write, in one line", async () => {
    writeFileSync(path.join(work, "file"), "");
    const r = run(["serve"], {
      GOMIRROR_LISTEN: "127.0.0.1:0",
      GOMIRROR_STORAGE: path.join(work, "file", "cache"),
    });
    expect(await r.exited).toBe(2);
    expect(r.stderr()).toMatch(
      /^gomirror: GOMIRROR_STORAGE=.*file\/cache cannot be written \(ENOTDIR: .*\n$/,
    );
    expect(r.stderr().split("\n")).toHaveLength(2);
  }, 60_000);

  describe("gomirror verify", () => {
    const sumdb = { GOSUMDB: "sum.golang.org http://127.0.0.1:9" };

    it("exits 2 when the storage does not exist, instead of checking nothing", async () => {
      const r = run(["verify", "--storage", path.join(work, "missing")], sumdb);
      expect(await r.exited).toBe(2);
      expect(r.stderr()).toMatch(/^gomirror: verify: GOMIRROR_STORAGE=.*missing does not exist/);
      expect(r.stdout()).toBe("");
    }, 60_000);

    it("keeps its log lines out of its output", async () => {
      mkdirSync(path.join(work, "cache"));
      const r = run(["verify", "--storage", path.join(work, "cache")], sumdb);
      expect(await r.exited).toBe(0);
      expect(r.stdout()).toBe("checked 0: 0 ok, 0 mismatched, 0 skipped (private), 0 errors\n");
      expect(r.stderr()).toContain('"event":"verify_summary"');
    }, 60_000);
  });
});
