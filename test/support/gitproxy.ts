import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";

/**
 * gomirror as a separate process, the way it runs in production: the esbuild bundle of
 * bin/gomirror.ts under node, configured through its environment. Started in a process group of
 * its own, so that `kill()` can end it with every process it started (cluster workers, git and
 * its helpers) at once, by that group's id: what a container runtime does on SIGKILL. Its RSS and
 * that of its git processes can be read from /proc.
 */

const ROOT = path.resolve(__dirname, "../..");

/** Bundles bin/gomirror.ts into `dir` (as scripts/bundle.mjs does, unminified); the file's path. */
export async function bundleGomirror(dir: string): Promise<string> {
  const { build, stop } = await import("esbuild");
  await build({
    absWorkingDir: ROOT,
    entryPoints: { gomirror: path.join(ROOT, "bin", "gomirror.ts") },
    outdir: dir,
    bundle: true,
    platform: "node",
    target: "node20",
    format: "cjs",
    keepNames: true,
    logLevel: "warning",
  });
  // esbuild keeps a service process for more builds; none will come.
  await stop();
  return path.join(dir, "gomirror.js");
}

export interface ProxyProcess {
  /** `http://127.0.0.1:PORT` (no trailing slash). */
  readonly url: string;
  readonly pid: number;
  /** Everything it wrote to stdout and stderr so far (its JSON log lines). */
  output(): string;
  /** SIGTERM; resolves once it has exited. */
  stop(): Promise<void>;
  /** SIGKILL to its whole process group; resolves once it has exited. */
  kill(): Promise<void>;
}

/**
 * Starts `node <bundle> serve` with `env` (GOMIRROR_LISTEN is set here) and waits until it
 * listens, which it learns from the `listening` log line (so GOMIRROR_LOG_LEVEL stays at info).
 */
export async function startProxyProcess(bundle: string, env: Record<string, string>): Promise<ProxyProcess> {
  const child: ChildProcess = spawn(process.execPath, [bundle, "serve"], {
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      ...env,
      GOMIRROR_LOG_LEVEL: "info",
      GOMIRROR_LISTEN: "127.0.0.1:0",
    },
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error("gomirror did not start");
  let output = "";
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (b: Buffer): void => {
      output += b.toString("utf8");
      const m = /"event":"listening","url":"(http:\/\/[^"]+)"/.exec(output);
      if (m) resolve(m[1].replace(/\/+$/, ""));
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("error", reject);
    void exited.then(() => reject(new Error(`gomirror exited before listening:\n${output}`)));
  });
  return {
    url,
    pid,
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
    },
    async kill() {
      try {
        process.kill(-pid, "SIGKILL");
      } catch {
        // already gone
      }
      await exited;
    },
  };
}

/** Resident set size of one process, in bytes (0 once it has exited). */
export function rssOf(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** The processes `pid` started, and theirs, from /proc. */
export function descendantsOf(pid: number): number[] {
  let children: number[];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8")
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
  return children.flatMap((c) => [c, ...descendantsOf(c)]);
}

/** Samples the RSS of a process and, separately, the sum over its descendants, every `everyMs`. */
export function sampleMemory(pid: number, everyMs = 50): { stop(): { peak: number; peakChildren: number } } {
  let peak = rssOf(pid);
  let peakChildren = 0;
  const timer = setInterval(() => {
    peak = Math.max(peak, rssOf(pid));
    peakChildren = Math.max(
      peakChildren,
      descendantsOf(pid).reduce((sum, p) => sum + rssOf(p), 0),
    );
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      return { peak, peakChildren };
    },
  };
}
