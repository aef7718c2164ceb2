import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { FIXTURE, standardFixtures, writeProxyTree, type FixtureSet } from "../support/fixtures";
import {
  createGoWorkspace,
  expectGoSuccess,
  parseGoJson,
  removeTree,
  type GoWorkspace,
} from "../support/gocmd";
import { describeWithTools } from "../support/tools";
import { startStaticUpstream, type StaticUpstream } from "../support/upstream";

/**
 * gomirror started the way a user starts it: `gomirror serve` as its own process, configured by
 * environment variables, JSON logs on stdout, stopped with SIGTERM.
 */

const ROOT = path.resolve(__dirname, "../..");

interface ServeProcess {
  readonly child: ChildProcess;
  /** Parsed JSON log lines so far (non-JSON lines are kept as { raw }). */
  readonly logs: Record<string, unknown>[];
  stderr(): string;
  /** Resolves with the exit code (or the signal's name) once the process has exited. */
  readonly exited: Promise<number | string>;
}

function serve(env: Record<string, string>): ServeProcess {
  const child = spawn(
    process.execPath,
    ["-r", "ts-node/register/transpile-only", "bin/gomirror.ts", "serve"],
    {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: tmpdir(), ...env },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const logs: Record<string, unknown>[] = [];
  let pending = "";
  let err = "";
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    pending += chunk;
    const lines = pending.split("\n");
    pending = lines.pop()!;
    for (const line of lines.filter((l) => l.trim() !== "")) {
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        logs.push({ raw: line });
      }
    }
  });
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (err += chunk));
  const exited = new Promise<number | string>((resolve) =>
    child.on("exit", (code, signal) => resolve(code ?? signal ?? "unknown")),
  );
  return { child, logs, stderr: () => err, exited };
}

async function waitFor<T>(
  what: string,
  probe: () => T | undefined,
  timeoutMs: number,
  proc?: ServeProcess,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (proc && proc.child.exitCode !== null) {
      throw new Error(`gomirror exited (${proc.child.exitCode}) before ${what}; stderr:\n${proc.stderr()}`);
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}; stderr:\n${proc?.stderr() ?? ""}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

describeWithTools({ go: true }, "gomirror serve as a process", () => {
  let root: string;
  let storage: string;
  let fixtures: FixtureSet;
  let upstream: StaticUpstream;
  let proc: ServeProcess | undefined;
  let ws: GoWorkspace | undefined;

  beforeAll(async () => {
    root = mkdtempSync(path.join(tmpdir(), "gomirror-e2e-cli-"));
    fixtures = writeProxyTree(root, standardFixtures());
    upstream = await startStaticUpstream({ root });
  }, 300_000);
  beforeEach(() => {
    storage = mkdtempSync(path.join(tmpdir(), "gomirror-e2e-cli-storage-"));
    upstream.faults.clear();
    upstream.resetRequests();
  });
  afterEach(async () => {
    if (proc && proc.child.exitCode === null && proc.child.signalCode === null) {
      proc.child.kill("SIGKILL");
      await proc.exited;
    }
    proc = undefined;
    ws?.cleanup();
    ws = undefined;
    removeTree(storage);
  });
  afterAll(async () => {
    await upstream?.close();
    if (root) removeTree(root);
  });

  const startServe = async (extraEnv: Record<string, string> = {}): Promise<string> => {
    proc = serve({
      GOPROXY: upstream.url,
      GOSUMDB: "off",
      GOMIRROR_STORAGE: storage,
      GOMIRROR_LISTEN: "127.0.0.1:0",
      GOMIRROR_LOG_LEVEL: "info",
      ...extraEnv,
    });
    const p = proc;
    const listening = await waitFor(
      "the listening log line",
      () => p.logs.find((l) => l.event === "listening"),
      60_000,
      p,
    );
    return String(listening.url).replace(/\/+$/, "");
  };

  it("serves the go command, logs requests as JSON, and exits 0 on SIGTERM", async () => {
    const url = await startServe();
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);

    ws = createGoWorkspace({ goproxy: url });
    const res = await ws.run(["mod", "download", "-json", `${FIXTURE.upper}@v1.0.0`], { cwd: ws.dir });
    expectGoSuccess(res, "go mod download through gomirror serve");
    expect(parseGoJson<{ Sum: string }>(res.stdout)[0]?.Sum).toBe(
      fixtures.get(FIXTURE.upper, "v1.0.0").zipHash,
    );

    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/^gomirror_http_requests_total\{.*\} \d+/m);

    const p = proc!;
    const requestLog = await waitFor(
      "a request log line for the zip",
      () => p.logs.find((l) => l.event === "request" && String(l.endpoint ?? "").includes("zip")),
      5_000,
      p,
    );
    expect(requestLog).toMatchObject({ status: 200 });
    expect(typeof requestLog.durationMs).toBe("number");

    p.child.kill("SIGTERM");
    expect(await p.exited).toBe(0);
  }, 120_000);

  it("lets a download in flight finish when SIGTERM arrives, then exits 0", async () => {
    const zipPath = fixtures.urlPath(FIXTURE.v2, "v2.1.0", "zip");
    upstream.faults.set(zipPath, { delayMs: 1_500 });
    // Without prefetching, the zip request at the upstream is the client's own, in flight at
    // gomirror when SIGTERM comes (a prefetch would ask before the client does).
    const url = await startServe({ GOMIRROR_SHUTDOWN_GRACE: "20", GOMIRROR_PREFETCH: "off" });
    ws = createGoWorkspace({ goproxy: url });
    const download = ws.run(["mod", "download", "-json", `${FIXTURE.v2}@v2.1.0`], { cwd: ws.dir });
    await waitFor(
      "the zip request at the upstream",
      () => (upstream.count(zipPath) > 0 ? true : undefined),
      30_000,
    );
    proc!.child.kill("SIGTERM");
    const res = await download;
    expectGoSuccess(res, "go mod download across SIGTERM");
    expect(parseGoJson<{ Sum: string }>(res.stdout)[0]?.Sum).toBe(fixtures.get(FIXTURE.v2, "v2.1.0").zipHash);
    expect(await proc!.exited).toBe(0);
  }, 120_000);

  it("runs several workers on one port with GOMIRROR_WORKERS, and stops them all on SIGTERM", async () => {
    await startServe({ GOMIRROR_WORKERS: "2" });
    const p = proc!;
    const listening = await waitFor(
      "two workers listening",
      () => {
        const lines = p.logs.filter((l) => l.event === "listening");
        return lines.length >= 2 ? lines : undefined;
      },
      60_000,
      p,
    );
    expect(new Set(listening.map((l) => l.pid)).size).toBe(2);
    expect(new Set(listening.map((l) => l.url)).size).toBe(1);
    const url = String(listening[0]!.url);
    ws = createGoWorkspace({ goproxy: url });
    const res = await ws.run(["mod", "download", "-json", `${FIXTURE.upper}@v1.0.0`], { cwd: ws.dir });
    expectGoSuccess(res, "go mod download through two workers");
    p.child.kill("SIGTERM");
    expect(await p.exited).toBe(0);
    expect(
      p.logs
        .filter((l) => l.event === "stopped")
        .map((l) => l.pid)
        .sort(),
    ).toEqual(listening.map((l) => l.pid).sort());
  }, 120_000);

  it("refuses a bad setting with a message naming it, and a non-zero exit", async () => {
    proc = serve({
      GOMIRROR_LISTEN: "not-a-listen-address",
      GOMIRROR_STORAGE: storage,
      GOPROXY: upstream.url,
    });
    const code = await proc.exited;
    expect(code).not.toBe(0);
    expect(proc.stderr() + proc.logs.map((l) => JSON.stringify(l)).join("\n")).toContain("GOMIRROR_LISTEN");
  }, 60_000);
});
