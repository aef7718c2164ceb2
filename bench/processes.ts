import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";

/**
 * Every process the benchmark starts, so that all of them are stopped by PID at the end, on a
 * failure and on Ctrl-C alike. Nothing is ever killed by name.
 */

export interface Started {
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number;
  /** Output kept for error messages (last 8 KB of stdout and stderr). */
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process has exited. */
  stop(graceMs?: number): Promise<void>;
}

const running = new Set<Started>();

/** Spawns `command` and registers it for `stopAll`. */
export function start(
  name: string,
  command: string,
  args: readonly string[],
  options: SpawnOptions,
): Started {
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], ...options });
  if (child.pid === undefined) throw new Error(`${name}: could not start ${command}`);
  let tail = "";
  const keep = (b: Buffer): void => {
    tail = (tail + b.toString("utf8")).slice(-8192);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const started: Started = {
    name,
    child,
    pid: child.pid,
    output: () => tail,
    async stop(graceMs = 5000) {
      running.delete(started);
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
  running.add(started);
  return started;
}

/** Stops every process still running (in parallel). */
export async function stopAll(): Promise<void> {
  await Promise.allSettled([...running].map((p) => p.stop()));
}

/** Runs a command to completion with a time limit; rejects with its output when it fails. */
export function runToEnd(
  command: string,
  args: readonly string[],
  options: SpawnOptions & { timeoutMs: number },
): Promise<string> {
  return new Promise((resolve, reject) => {
    const proc = start(command, command, args, options);
    const out: Buffer[] = [];
    proc.child.stdout?.on("data", (b: Buffer) => out.push(b));
    const timer = setTimeout(() => proc.child.kill("SIGKILL"), options.timeoutMs);
    proc.child.once("error", (err) => {
      clearTimeout(timer);
      reject(new Error(`${command} ${args.join(" ")}: ${err.message}`));
    });
    proc.child.once("close", (code, signal) => {
      clearTimeout(timer);
      void proc.stop();
      if (code === 0) resolve(Buffer.concat(out).toString("utf8"));
      else {
        const why = signal ? `was killed (${signal}; limit ${options.timeoutMs} ms)` : `exited with ${code}`;
        reject(new Error(`${command} ${args.join(" ")} ${why}:\n${proc.output()}`));
      }
    });
  });
}

export { freePort } from "../test/support/ports";

/**
 * Polls `url` until it answers 200 (any status with `anyStatus`), or fails naming the process
 * and its output.
 */
export async function waitUntilUp(
  url: string,
  proc: Started,
  { timeoutMs = 30_000, anyStatus = false }: { timeoutMs?: number; anyStatus?: boolean } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.child.exitCode !== null) {
      throw new Error(
        `${proc.name} exited with ${proc.child.exitCode} before answering ${url}:\n${proc.output()}`,
      );
    }
    const ok = await fetch(url).then(
      async (res) => {
        await res.arrayBuffer();
        return anyStatus || res.status === 200;
      },
      () => false,
    );
    if (ok) return;
    if (Date.now() > deadline) {
      throw new Error(`${proc.name} did not answer ${url} within ${timeoutMs} ms:\n${proc.output()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
