import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import type { Writable } from "node:stream";
import { finished } from "node:stream/promises";
import { ProxyError } from "../errors";

/**
 * Runs the git binary the way the go command does (cmd/go/internal/modfetch/codehost Run), with
 * more care about what a long-lived server needs: never through a shell (an argument array, so no
 * ref or URL is ever parsed by one), with the environment the caller built (see environment.ts),
 * under a deadline that kills git and every process it started, with its standard output either
 * collected up to a bound or streamed to a file, and with a bound on how many git processes run
 * at once.
 */
export interface GitRunOptions {
  /** Working directory: the bare repository. */
  readonly cwd: string;
  /** The complete environment of the git process. */
  readonly env: NodeJS.ProcessEnv;
  /** Deadline, in ms. */
  readonly timeoutMs: number;
  /** Largest standard output collected, in bytes; more is a "too-large" error. @default 64 MiB */
  readonly maxStdout?: number;
  /** Where standard output goes instead of being collected. */
  readonly stdout?: Writable;
  /** Written to standard input, which is then closed. */
  readonly stdin?: string;
}

export interface GitResult {
  /** Exit code (0 unless the caller asked to see failures with `runGitStatus`). */
  readonly code: number;
  readonly stdout: Buffer;
  /** The end of standard error, for messages. */
  readonly stderr: string;
}

/** A git command that exited non-zero: its code and the end of its standard error. */
export class GitCommandError extends Error {
  constructor(
    readonly args: readonly string[],
    readonly code: number,
    readonly stderr: string,
  ) {
    super(`git ${describeArgs(args)}: exit status ${code}${stderr ? `: ${stderr}` : ""}`);
    this.name = "GitCommandError";
  }
}

const DEFAULT_MAX_STDOUT = 64 << 20;
const STDERR_KEPT = 4096;

/** A counting semaphore: at most `limit` git processes at once. */
export class ProcessSlots {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  async acquire(): Promise<() => void> {
    if (this.running >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.running++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.running--;
      this.waiting.shift()?.();
    };
  }
}

/** Runs git; resolves with its output when it exits 0, rejects with GitCommandError otherwise. */
export async function runGit(
  slots: ProcessSlots,
  args: readonly string[],
  options: GitRunOptions,
): Promise<GitResult> {
  const result = await runGitStatus(slots, args, options);
  if (result.code !== 0) throw new GitCommandError(args, result.code, result.stderr);
  return result;
}

/** Runs git and resolves with its exit code whatever it is (for commands that answer by status). */
export async function runGitStatus(
  slots: ProcessSlots,
  args: readonly string[],
  options: GitRunOptions,
): Promise<GitResult> {
  const release = await slots.acquire();
  try {
    return await spawnGit(args, options);
  } finally {
    release();
  }
}

function spawnGit(args: readonly string[], options: GitRunOptions): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    const maxStdout = options.maxStdout ?? DEFAULT_MAX_STDOUT;
    const child = spawn("git", [...args], {
      cwd: options.cwd,
      env: options.env,
      stdio: ["pipe", "pipe", "pipe"],
      shell: false,
    });
    const out: Buffer[] = [];
    let outBytes = 0;
    let sinkDone: Promise<void> = Promise.resolve();
    let stderr = "";
    let failure: Error | undefined;
    let settled = false;
    const fail = (err: Error): void => {
      failure ??= err;
      killTree(child.pid);
    };
    const timer = setTimeout(
      () =>
        fail(
          new ProxyError("upstream", `git ${describeArgs(args)}: timed out after ${options.timeoutMs} ms`),
        ),
      options.timeoutMs,
    );
    child.on("error", (err: NodeJS.ErrnoException) => {
      failure ??=
        err.code === "ENOENT" && existsSync(options.cwd)
          ? new ProxyError("internal", "the git binary is not installed (or not on PATH): install git")
          : new ProxyError("internal", `cannot run git in ${options.cwd}: ${err.message}`);
      finish(-1);
    });
    child.stdin.on("error", () => undefined);
    child.stdin.end(options.stdin ?? "");
    child.stderr.on("error", () => undefined);
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (s: string) => {
      stderr = (stderr + s).slice(-STDERR_KEPT);
    });
    child.stdout.on("error", (err) => fail(err));
    if (options.stdout) {
      const sink = options.stdout;
      sinkDone = finished(sink).catch((err: Error) => fail(err));
      child.stdout.pipe(sink);
    } else {
      child.stdout.on("data", (b: Buffer) => {
        outBytes += b.length;
        if (outBytes > maxStdout) {
          fail(
            new ProxyError("too-large", `git ${describeArgs(args)}: more than ${maxStdout} bytes of output`),
          );
          return;
        }
        out.push(b);
      });
    }
    child.on("close", (code, signal) => finish(code ?? (signal ? 128 : -1)));

    function finish(code: number): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (failure) {
        reject(failure);
        return;
      }
      // A file sink has all of the output only once it has finished writing.
      void sinkDone.then(() => {
        if (failure) reject(failure);
        else resolve({ code, stdout: Buffer.concat(out), stderr: stderr.trim() });
      });
    }
  });
}

/**
 * Kills a process and everything it started (git runs git-remote-https, index-pack, ssh, ...):
 * the descendants found in /proc first, each by its id, then the process itself.
 */
function killTree(pid: number | undefined): void {
  if (pid === undefined) return;
  for (const p of [...descendants(pid), pid]) {
    try {
      process.kill(p, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

function descendants(pid: number): number[] {
  let children: number[];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8")
      .split(/\s+/)
      .filter((s) => s !== "")
      .map(Number);
  } catch {
    return [];
  }
  return children.flatMap((c) => [...descendants(c), c]);
}

/** The command for messages: the subcommand and its arguments, never more than 200 characters. */
function describeArgs(args: readonly string[]): string {
  const shown = args.filter((a, i) => !(a === "-c" || args[i - 1] === "-c")).join(" ");
  return shown.length > 200 ? `${shown.slice(0, 200)}...` : shown;
}
