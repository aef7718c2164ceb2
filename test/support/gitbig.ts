import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { once } from "node:events";

/**
 * Large generated repositories, written with `git fast-import` straight into a bare repository
 * (one pack, stored without compression so that serving it costs no CPU): for the memory and
 * crash tests and the monorepo benchmark. File contents are produced on demand and streamed, so
 * building a repository of gigabytes does not hold it in memory.
 */

export interface ImportCommit {
  /** The branch the commit goes on. @default "main" */
  readonly branch?: string;
  /** Committer and author time, in seconds since 1970. */
  readonly time: number;
  readonly message: string;
  /** Files written (created or replaced) by this commit; a function makes its content when written. */
  readonly files?: readonly { readonly path: string; readonly data: Buffer | string | (() => Buffer) }[];
  /** Paths deleted by this commit (a directory deletes everything under it). */
  readonly deletes?: readonly string[];
  /** Lightweight tags on this commit. */
  readonly tags?: readonly string[];
}

const IDENT = "Gopher <gopher@example.test>";

/**
 * Creates a bare repository at `dir` from `commits` (each branch's commits follow one another;
 * a branch's first commit starts from `from`, a commit index, or has no parent). Returns each
 * commit's hash, in order.
 */
export async function importRepo(
  dir: string,
  commits: Iterable<ImportCommit & { readonly from?: number }>,
): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  await runGit(dir, ["init", "-q", "--bare", "-b", "main"]);
  // Serving must cost the server little: large blobs are never delta-compressed or recompressed.
  await runGit(dir, ["config", "core.bigFileThreshold", "1m"]);
  await runGit(dir, ["config", "pack.compression", "0"]);
  const marks = path.join(dir, "gomirror-test-marks");
  const child = spawn(
    "git",
    [
      "-c",
      "core.compression=0",
      "-c",
      "pack.compression=0",
      "-c",
      "fastimport.unpackLimit=0",
      "fast-import",
      "--quiet",
      `--export-marks=${marks}`,
    ],
    { cwd: dir, env: gitEnv(), stdio: ["pipe", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
  const closed = new Promise<number | null>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", resolve);
  });
  child.stdin.on("error", () => undefined);
  const write = async (chunk: Buffer | string): Promise<void> => {
    if (!child.stdin.write(chunk)) await once(child.stdin, "drain");
  };
  const heads = new Map<string, number>();
  let n = 0;
  for (const c of commits) {
    n++;
    const branch = `refs/heads/${c.branch ?? "main"}`;
    const message = Buffer.from(c.message);
    await write(`commit ${branch}\nmark :${n}\n`);
    await write(`author ${IDENT} ${c.time} +0000\ncommitter ${IDENT} ${c.time} +0000\n`);
    await write(`data ${message.length}\n`);
    await write(message);
    await write("\n");
    const parent = heads.get(branch) ?? (c.from !== undefined ? c.from + 1 : undefined);
    if (parent !== undefined) await write(`from :${parent}\n`);
    for (const d of c.deletes ?? []) await write(`D ${d}\n`);
    for (const f of c.files ?? []) {
      const data = typeof f.data === "function" ? f.data() : Buffer.from(f.data);
      await write(`M 100644 inline ${f.path}\ndata ${data.length}\n`);
      await write(data);
      await write("\n");
    }
    await write("\n");
    heads.set(branch, n);
    for (const t of c.tags ?? []) await write(`reset refs/tags/${t}\nfrom :${n}\n\n`);
  }
  child.stdin.end();
  const code = await closed;
  if (code !== 0) throw new Error(`git fast-import failed (${code}): ${stderr}`);
  const hashes: string[] = [];
  for (const line of readFileSync(marks, "utf8").split("\n")) {
    const m = /^:(\d+) ([0-9a-f]{40})$/.exec(line);
    if (m) hashes[Number(m[1]) - 1] = m[2];
  }
  return hashes;
}

/** Total size of a bare repository's pack files, in bytes. */
export function packBytes(dir: string): number {
  const packs = path.join(dir, "objects", "pack");
  return readdirSync(packs)
    .filter((f) => f.endsWith(".pack"))
    .reduce((sum, f) => sum + statSync(path.join(packs, f)).size, 0);
}

function gitEnv(): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: "/nonexistent", GIT_CONFIG_NOSYSTEM: "1" };
}

function runGit(cwd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("git", args, { cwd, env: gitEnv(), stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    child.once("error", reject);
    child.once("close", (code) =>
      code === 0 ? resolve() : reject(new Error(`git ${args.join(" ")}: ${code}: ${stderr}`)),
    );
  });
}
