import { mkdir, readdir, rm, stat, unlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { ProxyError } from "../errors";
import { GitCommandError, type ProcessSlots, runGit } from "./command";
import { redactURL } from "./credentials";
import { RepoLock } from "./lock";

/**
 * The on-disk side of one cached repository: a bare repository with the remote `origin`, its
 * lock, and the environment its git processes get. It outlives the process: the next start uses
 * what an earlier one fetched. Whenever a process first takes the lock, or breaks the stale lock
 * of a process killed mid-fetch, it repairs the repository before writing: it removes what an
 * interrupted git leaves (its `*.lock` files, temporary packs and objects; git renames complete
 * files into place, so nothing else can be half-written), and starts the repository over when
 * it is not a usable bare repository of the right remote.
 */
export interface RepoStoreOptions {
  /** The bare repository. */
  readonly dir: string;
  /** The URL git fetches from (after GOMIRROR_GIT_REWRITE, without user info). */
  readonly fetchURL: string;
  /** The repository URL as discovered, for messages. */
  readonly url: string;
  readonly env: NodeJS.ProcessEnv;
  readonly slots: ProcessSlots;
  readonly timeoutMs: number;
  /** Called after a repair, with the leftovers removed. */
  readonly onRepair?: (event: { dir: string; removed: string[]; reinitialized: boolean }) => void;
}

/** What the go command writes into info/attributes before `git archive` (codehost ensureGitAttributes). */
const ARCHIVE_ATTRIBUTES = "\n* -export-subst -export-ignore\n";

export class RepoStore {
  private readonly lock: RepoLock;
  private prepared?: Promise<void>;

  constructor(private readonly options: RepoStoreOptions) {
    this.lock = new RepoLock(`${options.dir}.lock`, options.timeoutMs);
  }

  get dir(): string {
    return this.options.dir;
  }

  get env(): NodeJS.ProcessEnv {
    return this.options.env;
  }

  /** Makes sure the repository exists and was checked by this process. */
  prepare(): Promise<void> {
    this.prepared ??= this.locked(async () => undefined).catch((err: unknown) => {
      this.prepared = undefined;
      throw err;
    });
    return this.prepared;
  }

  /** Runs `fn` holding the repository's lock, after a repair when one may be needed. */
  locked<T>(fn: () => Promise<T>): Promise<T> {
    return this.lock.run(async (fresh) => {
      if (fresh) await this.repair();
      return fn();
    });
  }

  /** Whether the repository exists on disk. */
  async exists(): Promise<boolean> {
    return isDirectory(path.join(this.dir, "objects"));
  }

  /** Whether the repository has a cut-off history (`shallow`) or no commits at all. */
  async isShallowOrEmpty(): Promise<boolean> {
    if (
      await stat(path.join(this.dir, "shallow")).then(
        () => true,
        () => false,
      )
    )
      return true;
    const { stdout } = await this.git(["for-each-ref", "--count=1", "--format=%(refname)"]);
    return stdout.length === 0;
  }

  /** A failed git command as a ProxyError that names the repository, never a secret. */
  explain(op: string, err: unknown): ProxyError {
    const where = redactURL(this.options.url);
    if (err instanceof ProxyError) return new ProxyError(err.kind, `git ${op} ${where}: ${err.message}`);
    if (!(err instanceof GitCommandError)) {
      return new ProxyError("internal", `git ${op} ${where}: ${(err as Error).message ?? String(err)}`);
    }
    const text = err.stderr;
    const host = hostOf(this.options.url);
    if (/Authentication failed|could not read (Username|Password)|returned error: 40[13]/.test(text)) {
      return new ProxyError(
        "forbidden",
        `git ${op} ${where}: the git server refused access: credentials for ${host} are missing or not ` +
          "accepted (put them into the netrc given by NETRC or GOMIRROR_NETRC)",
      );
    }
    if (/Permission denied \(/.test(text)) {
      return new ProxyError(
        "forbidden",
        `git ${op} ${where}: the ssh server did not accept the key (GOMIRROR_GIT_SSH_KEY) for ${host}`,
      );
    }
    if (/Host key verification failed|No [A-Z0-9]+ host key is known/.test(text)) {
      return new ProxyError(
        "upstream",
        `git ${op} ${where}: the ssh host key of ${host} is not in GOMIRROR_GIT_KNOWN_HOSTS or does not match it`,
      );
    }
    if (
      /returned error: 4(04|10)|[Rr]epository .*not found|does not appear to be a git repository/.test(text)
    ) {
      return new ProxyError("not-found", `git ${op} ${where}: repository not found`);
    }
    return new ProxyError("upstream", `git ${op} ${where}: ${lastLine(text) || `exit status ${err.code}`}`);
  }

  private async repair(): Promise<void> {
    if (!(await this.isUsable())) {
      await rm(this.dir, { recursive: true, force: true });
      await mkdir(this.dir, { recursive: true });
      await this.git(["init", "--bare", "-q"]);
      await this.git(["remote", "add", "origin", "--", this.options.fetchURL]);
      await mkdir(path.join(this.dir, "info"), { recursive: true });
      await writeFile(path.join(this.dir, "info", "attributes"), ARCHIVE_ATTRIBUTES);
      return;
    }
    const removed = await removeLeftovers(this.dir);
    await writeFile(path.join(this.dir, "info", "attributes"), ARCHIVE_ATTRIBUTES);
    if (removed.length > 0) this.options.onRepair?.({ dir: this.dir, removed, reinitialized: false });
  }

  private async isUsable(): Promise<boolean> {
    if (!(await this.exists()) || !(await isDirectory(path.join(this.dir, "refs")))) return false;
    try {
      const { stdout } = await this.git(["config", "--get", "remote.origin.url"]);
      if (stdout.toString("utf8").trim() === this.options.fetchURL) return true;
    } catch {
      // not a repository git can read
    }
    this.options.onRepair?.({ dir: this.dir, removed: [], reinitialized: true });
    return false;
  }

  private git(args: readonly string[]) {
    return runGit(this.options.slots, args, {
      cwd: this.dir,
      env: this.options.env,
      timeoutMs: this.options.timeoutMs,
    });
  }
}

/** Deletes what an interrupted git leaves in a repository; returns the paths, relative to `dir`. */
async function removeLeftovers(dir: string): Promise<string[]> {
  const removed: string[] = [];
  const remove = async (rel: string): Promise<void> => {
    await unlink(path.join(dir, rel)).catch(() => undefined);
    removed.push(rel);
  };
  for (const name of await list(dir)) if (name.endsWith(".lock")) await remove(name);
  const walkRefs = async (rel: string): Promise<void> => {
    for (const entry of await readdir(path.join(dir, rel), { withFileTypes: true }).catch(() => [])) {
      const child = `${rel}/${entry.name}`;
      if (entry.isDirectory()) await walkRefs(child);
      else if (entry.name.endsWith(".lock")) await remove(child);
    }
  };
  await walkRefs("refs");
  for (const name of await list(path.join(dir, "objects", "pack"))) {
    if (name.startsWith("tmp_") || name.startsWith(".tmp-")) await remove(`objects/pack/${name}`);
  }
  for (const sub of await list(path.join(dir, "objects"))) {
    if (sub.startsWith("tmp_obj_")) await remove(`objects/${sub}`);
    else if (/^[0-9a-f]{2}$/.test(sub)) {
      for (const name of await list(path.join(dir, "objects", sub))) {
        if (name.startsWith("tmp_obj_")) await remove(`objects/${sub}/${name}`);
      }
    }
  }
  return removed;
}

async function list(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => []);
}

async function isDirectory(p: string): Promise<boolean> {
  return stat(p).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return "";
  }
}

/** The last line of git's error output, without user info in URLs, at most 300 characters. */
function lastLine(stderr: string): string {
  const lines = stderr.split("\n").filter((l) => l.trim() !== "");
  return (lines[lines.length - 1] ?? "").replace(/(\/\/)[^/@\s]+@/g, "$1").slice(0, 300);
}
