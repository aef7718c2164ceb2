import { spawn, type ChildProcess } from "node:child_process";
import { createReadStream, createWriteStream, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { extract, pack } from "tar-stream";

/** Running `gomirror <command>` as a user does: a child process with only the given environment. */

const ROOT = path.resolve(__dirname, "../..");
const ARGS = ["-r", "ts-node/register/transpile-only", "bin/gomirror.ts"];

export interface CommandResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs it to the end, asynchronously: mirrors in the test's own process keep answering meanwhile. */
export function gomirror(args: readonly string[], env: Record<string, string>): Promise<CommandResult> {
  const child = gomirrorChild(args, env);
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout?.on("data", (b: Buffer) => out.push(b));
  child.stderr?.on("data", (b: Buffer) => err.push(b));
  const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (status) => {
      clearTimeout(timer);
      resolve({
        status,
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
      });
    });
  });
}

/** The same, in the background (to be killed). */
export function gomirrorChild(args: readonly string[], env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, [...ARGS, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, GOMIRROR_LOG_LEVEL: "silent", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
}

/** Copies a tar, letting `change` rewrite an entry's bytes (same name). */
export async function rewriteTar(
  from: string,
  to: string,
  change: (name: string, data: Buffer) => Buffer | undefined,
): Promise<void> {
  const out = pack();
  const writing = pipeline(out, createWriteStream(to));
  const input = extract();
  const reading = pipeline(createReadStream(from), input);
  for await (const entry of input) {
    const chunks: Buffer[] = [];
    for await (const c of entry) chunks.push(c as Buffer);
    const data = change(entry.header.name, Buffer.concat(chunks)) ?? Buffer.concat(chunks);
    await new Promise<void>((resolve, reject) =>
      out.entry({ ...entry.header, size: data.length }, data, (err) => (err ? reject(err) : resolve())),
    );
  }
  await reading;
  out.finalize();
  await writing;
}

/** Every file under `dir` (relative, slash-separated), leaving out the given top-level folders. */
export function filesUnder(dir: string, skip: readonly string[] = []): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const name of readdirSync(path.join(dir, rel))) {
      const r = rel ? `${rel}/${name}` : name;
      if (!rel && skip.includes(name)) continue;
      if (statSync(path.join(dir, r)).isDirectory()) walk(r);
      else out.push(r);
    }
  };
  walk("");
  return out.sort();
}
