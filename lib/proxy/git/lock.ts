import { randomBytes } from "node:crypto";
import { link, open, readFile, rename, unlink } from "node:fs/promises";
import { hostname } from "node:os";
import { ProxyError } from "../errors";

/**
 * A lock on one cached repository, held while git writes to it (init, fetch), so that writers
 * never run at once: inside this process (a promise chain) and across the processes sharing the
 * cache directory (GOMIRROR_WORKERS), through a lock file created with O_EXCL that names its
 * holder (host, pid, and a token of this process).
 *
 * A lock file whose holder is gone (a process killed with SIGKILL during a fetch) is stale: the
 * next process breaks it and is told so, and then repairs what the killed git left behind (see
 * repo.ts). A holder on the same host is gone when its pid no longer exists, or when the pid is
 * this very process's but the token is not one it holds (pid reuse after a container restart). Readers never
 * take the lock: git writes objects and refs by renaming complete files into place.
 */

/**
 * Tokens of the locks this process holds right now: a lock file with this process's pid and a
 * token not in here is a leftover (of an earlier process with the same pid, or a failed unlink).
 */
const HELD = new Set<string>();
const HOST = hostname();
const POLL_MS = 50;

export class RepoLock {
  private tail: Promise<unknown> = Promise.resolve();
  private usedBefore = false;

  constructor(
    private readonly file: string,
    /** How long to wait for another process's lock, in ms. */
    private readonly waitMs: number,
  ) {}

  /**
   * Runs `fn` holding the lock. `fresh` is true the first time this process holds it and after a
   * stale lock was broken: the moments to look for leftovers of an interrupted writer.
   */
  run<T>(fn: (fresh: boolean) => Promise<T>): Promise<T> {
    const result = this.tail.then(async () => {
      const token = randomBytes(8).toString("hex");
      HELD.add(token);
      try {
        const broken = await this.acquire(token);
        const fresh = broken || !this.usedBefore;
        this.usedBefore = true;
        try {
          return await fn(fresh);
        } finally {
          await unlink(this.file).catch(() => undefined);
        }
      } finally {
        HELD.delete(token);
      }
    });
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** Takes the lock file; true when a stale one had to be broken first. */
  private async acquire(token: string): Promise<boolean> {
    const deadline = Date.now() + this.waitMs;
    const content = `${HOST} ${process.pid} ${token}\n`;
    let broken = false;
    for (;;) {
      try {
        const fd = await open(this.file, "wx", 0o600);
        try {
          await fd.writeFile(content);
        } finally {
          await fd.close();
        }
        return broken;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      }
      const holder = await readFile(this.file, "utf8").catch(() => undefined);
      if (holder !== undefined && isStale(holder)) {
        broken = (await this.breakStale(holder)) || broken;
        continue;
      }
      if (Date.now() > deadline) {
        throw new ProxyError(
          "upstream",
          `the git cache lock ${this.file} is held by ${holder?.trim() ?? "another process"}; gave up after ${this.waitMs} ms`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  /**
   * Moves a stale lock file aside. Two processes may judge the same file stale at once; the one
   * that finds it moved a different (live) lock puts it back.
   */
  private async breakStale(seen: string): Promise<boolean> {
    const aside = `${this.file}.stale-${randomBytes(6).toString("hex")}`;
    try {
      await rename(this.file, aside);
    } catch {
      return false;
    }
    const moved = await readFile(aside, "utf8").catch(() => undefined);
    if (moved !== seen) {
      await link(aside, this.file).catch(() => undefined);
      await unlink(aside).catch(() => undefined);
      return false;
    }
    await unlink(aside).catch(() => undefined);
    return true;
  }
}

function isStale(holder: string): boolean {
  const [host, pidText, token] = holder.trim().split(" ");
  const pid = Number(pidText);
  if (host !== HOST || !Number.isInteger(pid) || pid <= 0) {
    // Another host's lock (a cache shared over the network) cannot be checked: never broken.
    return host === HOST;
  }
  if (pid === process.pid) return !HELD.has(token ?? "");
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "ESRCH";
  }
}
