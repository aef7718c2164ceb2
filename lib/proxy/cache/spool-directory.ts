import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdir, open, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Logger } from "pino";
import { ProxyError } from "../errors";
import { Spool, spoolWriteError, type SpoolFile, type SpoolSpace } from "./spool";

/**
 * GOMIRROR_SPOOL_MAX's default: room for two downloads of Go's largest zip (500 MiB) at once,
 * and half the 2 GiB /tmp the Kubernetes construct gives by default (Fargate has about 20 GB).
 */
export const DEFAULT_SPOOL_MAX_BYTES = 2 ** 30;

export interface SpoolDirectoryOptions {
  /** Bytes all spools of this process may take at once (GOMIRROR_SPOOL_MAX). @default 1 GiB */
  readonly maxBytes?: number;
  /** Where this process's spool directory is made. @default os.tmpdir() */
  readonly root?: string;
  /** Opens a new spool file for writing and reading. @default fs.promises.open(file, "wx+") */
  readonly open?: (file: string) => Promise<SpoolFile>;
  /** Told the bytes in use after every change (a prom-client Gauge fits). */
  readonly gauge?: { set(bytes: number): void };
}

const PREFIX = "gomirror-spool-";

/**
 * Where the downloads of this process are spooled: one directory per process, named after the
 * process (`gomirror-spool-<pid>-<start time>-<random>`) so that a later process can tell a dead
 * owner's leftovers from a live neighbour's (see `sweepSpools`). It also bounds the space all
 * spools take at once: a cold download that does not fit is refused before it starts.
 */
export class SpoolDirectory implements SpoolSpace {
  readonly maxBytes: number;
  readonly root: string;
  private used = 0;
  private counter = 0;
  /** Spool files being removed now (settled() waits for them). */
  private readonly removals = new Set<Promise<void>>();
  private dir: Promise<string> | undefined;
  private readonly openFile: (file: string) => Promise<SpoolFile>;

  constructor(private readonly options: SpoolDirectoryOptions = {}) {
    this.maxBytes = options.maxBytes ?? DEFAULT_SPOOL_MAX_BYTES;
    this.root = options.root ?? tmpdir();
    this.openFile = options.open ?? ((file) => open(file, "wx+", 0o600));
  }

  removing(removal: Promise<void>): void {
    this.removals.add(removal);
    void removal.finally(() => this.removals.delete(removal));
  }

  /** Settles once every spool file let go of by now is removed. */
  async settled(): Promise<void> {
    while (this.removals.size > 0) await Promise.all(this.removals);
  }

  /** Bytes reserved by the spools in use. */
  get bytesInUse(): number {
    return this.used;
  }

  /** Whether no new download can start. */
  get full(): boolean {
    return this.used >= this.maxBytes;
  }

  reserve(bytes: number): boolean {
    if (this.used + bytes > this.maxBytes) return false;
    this.used += bytes;
    this.options.gauge?.set(this.used);
    return true;
  }

  free(bytes: number): void {
    this.used -= bytes;
    this.options.gauge?.set(this.used);
  }

  refusal(what: string, bytes: number): ProxyError {
    if (bytes > this.maxBytes) {
      return new ProxyError(
        "too-large",
        `${what} is more than one download may spool (GOMIRROR_SPOOL_MAX=${this.maxBytes} bytes)`,
      );
    }
    return new ProxyError(
      "unavailable",
      `${what}: downloads in progress fill the spool space (GOMIRROR_SPOOL_MAX=${this.maxBytes} bytes); try again shortly`,
    );
  }

  /**
   * A new spool for a download of `size` bytes (when known, it is reserved at once).
   * @throws ProxyError "too-large" when it could never fit, "unavailable" when it does not fit
   * now or the directory is full, "internal" when the directory cannot be written
   */
  async create(what: string, size?: number): Promise<Spool> {
    const reserved = size ?? 0;
    if (this.full || !this.reserve(reserved)) {
      throw this.refusal(size === undefined ? what : `${what} (${size} bytes)`, reserved);
    }
    try {
      const file = join(await this.directory(), `${++this.counter}.zip`);
      const handle = await this.openFile(file);
      return new Spool(file, handle, this, reserved, () => rm(file, { force: true }));
    } catch (err) {
      this.free(reserved);
      throw spoolWriteError(err, what);
    }
  }

  /** Writes, syncs and removes a small file: throws when the directory cannot take a download. */
  async probe(): Promise<void> {
    const file = join(await this.directory(), `probe-${++this.counter}`);
    const handle = await this.openFile(file);
    try {
      const data = Buffer.from("gomirror readiness probe\n");
      await handle.write(data, 0, data.length, 0);
    } finally {
      await handle.close();
      await rm(file, { force: true });
    }
  }

  /** Removes this process's directory and whatever is left in it (at shutdown). */
  async remove(): Promise<void> {
    const dir = this.dir;
    this.dir = undefined;
    if (dir) await rm(await dir.catch(() => ""), { recursive: true, force: true });
  }

  private directory(): Promise<string> {
    this.dir ??= (async () => {
      const dir = join(
        this.root,
        `${PREFIX}${process.pid}-${processStart(process.pid) ?? 0}-${randomBytes(4).toString("hex")}`,
      );
      await mkdir(dir, { mode: 0o700 });
      return dir;
    })().catch((err: unknown) => {
      this.dir = undefined; // the next download tries again
      throw err;
    });
    return this.dir;
  }
}

/**
 * When process `pid` started, in clock ticks since boot (/proc/<pid>/stat): with the pid, it names
 * one process for good, even after the pid is reused. Undefined without /proc or such a process.
 */
function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces and parentheses: count fields after the last ")".
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

/** Whether the process that made a spool directory still runs. */
function ownerAlive(pid: number, start: string): boolean {
  if (start !== "0") {
    const now = processStart(pid);
    if (now !== undefined || processStart(process.pid) !== undefined) return now === start;
  }
  // No /proc: the pid alone says it (EPERM: alive, someone else's).
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Leftovers whose owner cannot be told (older versions, `gomirror verify`) go once this old. */
const STALE_UNOWNED_MS = 60 * 60 * 1000;

/**
 * Removes what interrupted processes left in `root`: the spool directory of every process that
 * is gone, whatever its age, and unowned download directories once they are an hour old.
 */
export async function sweepSpools(root: string, logger: Logger): Promise<void> {
  const names = await readdir(root).catch(() => [] as string[]);
  for (const name of names) {
    const owned = /^gomirror-spool-(\d+)-(\d+)-/.exec(name);
    let stale: boolean;
    if (owned) stale = !ownerAlive(Number(owned[1]), owned[2]);
    else if (/^gomirror-(zip|verify)-/.test(name)) {
      const info = await stat(join(root, name)).catch(() => undefined);
      stale = info !== undefined && Date.now() - info.mtimeMs > STALE_UNOWNED_MS;
    } else continue;
    if (!stale) continue;
    await rm(join(root, name), { recursive: true, force: true });
    logger.info(
      { event: "spool_swept", dir: join(root, name) },
      "removed the download spool of a stopped process",
    );
  }
}
