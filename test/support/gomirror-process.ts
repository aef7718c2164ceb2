import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { freePort } from "./ports";

const ROOT = path.resolve(__dirname, "../..");

/**
 * gomirror as its own process (`gomirror serve`, from the sources through ts-node), the way it
 * runs in production: a fault that would end the process ends this one, where a test can see it,
 * and its file descriptors and memory can be counted.
 */
export interface GomirrorProcess {
  readonly url: string;
  readonly pid: number;
  /** Whether the process has exited (it never should while a test runs). */
  readonly exited: boolean;
  /** How it exited, once it has. */
  readonly exit: string | undefined;
  /** Log lines seen so far, by pino level (30 info, 40 warn, 50 error, 60 fatal). */
  readonly levels: Readonly<Record<number, number>>;
  /** Log lines seen so far, by `event`. */
  readonly events: Readonly<Record<string, number>>;
  /** The last lines of output (stdout and stderr), for failure messages. */
  output(): string;
  /** Open file descriptors of the process (/proc/<pid>/fd). */
  openFiles(): number;
  /** Resident set size in bytes (/proc/<pid>/status). */
  rss(): number;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process has exited. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Starts `gomirror serve` with these settings (GOMIRROR_LISTEN is chosen here). `nodeArgs` say
 * how to run it: the sources through ts-node by default, or a bundle as the image ships it.
 */
export async function startGomirrorProcess(
  env: Record<string, string>,
  nodeArgs: readonly string[] = [
    "-r",
    "ts-node/register/transpile-only",
    path.join(ROOT, "bin", "gomirror.ts"),
  ],
): Promise<GomirrorProcess> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, "serve"], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      TMPDIR: process.env.TMPDIR,
      // ts-node's compile cache goes where global-setup.ts put it, not into the run's TMPDIR.
      ...(process.env.V8_COMPILE_CACHE_CACHE_DIR && {
        V8_COMPILE_CACHE_CACHE_DIR: process.env.V8_COMPILE_CACHE_CACHE_DIR,
      }),
      GOMIRROR_LOG_LEVEL: "info",
      ...env,
      GOMIRROR_LISTEN: `127.0.0.1:${port}`,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error("could not start gomirror");
  let tail = "";
  let exit: string | undefined;
  const levels: Record<number, number> = {};
  const events: Record<string, number> = {};
  let pending = "";
  child.stdout?.setEncoding("utf8").on("data", (data: string) => {
    tail = (tail + data).slice(-16384);
    pending += data;
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) {
      let doc: { level?: number; event?: string };
      try {
        doc = JSON.parse(line) as typeof doc;
      } catch {
        continue;
      }
      if (doc.level !== undefined) levels[doc.level] = (levels[doc.level] ?? 0) + 1;
      if (doc.event !== undefined) events[doc.event] = (events[doc.event] ?? 0) + 1;
    }
  });
  child.stderr?.setEncoding("utf8").on("data", (data: string) => {
    tail = (tail + data).slice(-16384);
  });
  const exited = new Promise<void>((resolve) =>
    child.once("exit", (code, signal) => {
      exit = signal ?? `code ${code}`;
      resolve();
    }),
  );
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exit !== undefined) throw new Error(`gomirror exited before listening (${exit}):\n${tail}`);
    const up = await fetch(`${url}/healthz`).then(
      (res) => res.ok,
      () => false,
    );
    if (up) break;
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`gomirror did not start within 60 s:\n${tail}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    pid,
    get exited() {
      return exit !== undefined;
    },
    get exit() {
      return exit;
    },
    levels,
    events,
    output: () => tail,
    openFiles: () => readdirSync(`/proc/${pid}/fd`).length,
    rss: () =>
      Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) * 1024,
    async stop(graceMs = 10_000) {
      if (exit !== undefined) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
