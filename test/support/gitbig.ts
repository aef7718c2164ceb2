import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
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

/** The shape of a generated monorepo. */
export interface MonorepoShape {
  /** Nested modules, `mod00` to `modNN`, each with its own go.mod. */
  readonly modules: number;
  /** Tags, spread over the modules round-robin: `modNN/v1.0.K`, one commit each. */
  readonly tags: number;
  /** Bytes of incompressible history: each tagged commit replaces its module's data file. */
  readonly historyBytes: number;
  /** Untagged commits at the end of main (their pseudo-versions need the whole history). */
  readonly untagged: number;
}

export interface Monorepo {
  /** Import path of the repository root (`<host>/mono.git`). */
  readonly root: string;
  /** Hashes of the untagged commits, oldest first. */
  readonly untagged: readonly string[];
}

/**
 * A monorepo at `<dir>/mono.git`: `shape.modules` nested modules under the module path
 * `<host>/mono.git/modNN`, `shape.tags` tagged commits, about `shape.historyBytes` of history.
 */
export async function buildMonorepo(dir: string, host: string, shape: MonorepoShape): Promise<Monorepo> {
  const root = `${host}/mono.git`;
  const blob = Math.ceil(shape.historyBytes / shape.tags);
  const start = Date.UTC(2024, 0, 1) / 1000;
  const name = (m: number) => `mod${String(m).padStart(2, "0")}`;
  function* commits(): Generator<ImportCommit> {
    for (let i = 0; i < shape.tags; i++) {
      const m = i % shape.modules;
      const k = Math.floor(i / shape.modules);
      const files: { path: string; data: Buffer | string | (() => Buffer) }[] = [
        { path: `${name(m)}/data.bin`, data: () => randomBytes(blob) },
        { path: `${name(m)}/${name(m)}.go`, data: `package ${name(m)} // commit ${i}\n` },
      ];
      if (k === 0) files.push({ path: `${name(m)}/go.mod`, data: `module ${root}/${name(m)}\n\ngo 1.21\n` });
      yield { time: start + i * 60, message: `${name(m)} v1.0.${k}`, files, tags: [`${name(m)}/v1.0.${k}`] };
    }
    for (let j = 0; j < shape.untagged; j++) {
      yield {
        time: start + (shape.tags + j) * 60,
        message: `untagged ${j}`,
        files: [{ path: `${name(0)}/${name(0)}.go`, data: `package ${name(0)} // untagged ${j}\n` }],
      };
    }
  }
  const hashes = await importRepo(path.join(dir, "mono.git"), commits());
  return { root, untagged: hashes.slice(shape.tags) };
}
