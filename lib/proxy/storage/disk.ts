import { randomBytes } from "node:crypto";
import { constants, readlinkSync } from "node:fs";
import {
  link,
  lstat,
  mkdir,
  open,
  readdir,
  realpath,
  rename,
  rm,
  stat,
  unlink,
  type FileHandle,
} from "node:fs/promises";
import path from "node:path";
import type { Readable } from "node:stream";
import { ProxyError } from "../errors";
import { FileBody } from "./file-body";
import { checkStoragePrefix } from "./prefix";
import type { ObjectInfo, PutOptions, PutResult, Storage, StoredObject } from "./storage";
import { checkStorageKey } from "./storage";

/** Temporary files live inside the root (same filesystem, so rename is atomic). */
const TEMP_DIR = ".tmp";
/** Leftovers of a crash older than this are removed when a DiskStorage opens the root. */
const STALE_TEMP_MS = 60 * 60 * 1000;

function isErrno(err: unknown, code: string): boolean {
  return typeof err === "object" && err !== null && (err as NodeJS.ErrnoException).code === code;
}

/** Directories a DiskStorage remembers having made; past this many it forgets them all. */
const KNOWN_DIRS_MAX = 10_000;

/**
 * The default storage: a directory tree. Writes go to a temporary file that is fsynced and then
 * renamed (or hard-linked, for create-only puts) into place, so a reader never sees a partial
 * file, whatever happens to the process mid-write. A create-only put does not fsync the
 * directory after the link: a crash may forget a file stored just before it (a cache miss,
 * fetched again), never leave one half written. A put that replaces a file does.
 */
export class DiskStorage implements Storage {
  private readonly tempDir: string;
  private realRoot: string | undefined;
  /** Whether /proc/self/fd can name open files (Linux); checked on first use. */
  private procFds = process.platform === "linux";
  private ready: Promise<void> | undefined;
  /** Directories made (or found) by earlier puts: a put into one of them skips its mkdir. */
  private readonly knownDirs = new Set<string>();

  constructor(readonly root: string) {
    this.root = path.resolve(root);
    this.tempDir = path.join(this.root, TEMP_DIR);
  }

  private init(): Promise<void> {
    this.ready ??= (async () => {
      await mkdir(this.tempDir, { recursive: true });
      const now = Date.now();
      for (const name of await readdir(this.tempDir)) {
        const file = path.join(this.tempDir, name);
        const info = await stat(file).catch(() => undefined);
        if (info && now - info.mtimeMs > STALE_TEMP_MS) await rm(file, { force: true });
      }
    })().catch((err: unknown) => {
      // Let the next put try again (the volume may be mounted late, or permissions fixed).
      this.ready = undefined;
      throw err;
    });
    return this.ready;
  }

  /**
   * Whether `dir` (an existing directory under the root) really lies under the root once
   * symlinks are resolved: a symlink planted inside the cache must not make it read or write
   * elsewhere. The root itself may be a symlink (a mounted volume). False when `dir` is missing.
   */
  private async insideRoot(dir: string): Promise<boolean> {
    let real: string;
    let realRoot: string;
    try {
      // The root's own location is fixed once it exists; a key's directory is checked every time.
      this.realRoot ??= await realpath(this.root);
      realRoot = this.realRoot;
      real = (await this.openedRealPath(dir)) ?? (await realpath(dir));
    } catch (err) {
      if (isErrno(err, "ENOENT") || isErrno(err, "ENOTDIR")) return false;
      throw err;
    }
    if (real === realRoot || real.startsWith(realRoot + path.sep)) return true;
    throw new ProxyError(
      "security",
      `storage directory ${dir} leads outside the storage root ${this.root} through a symlink`,
    );
  }

  /**
   * On Linux, the real path of directory `dir` from a readlink of /proc/self/fd on the directory
   * opened (the kernel's own name for it, no file-system access), where realpath reads every
   * component of the path (a cold put of a module file asks this for a directory seven levels
   * deep). Undefined elsewhere, or when the directory may be searched but not read.
   */
  private async openedRealPath(dir: string): Promise<string | undefined> {
    if (!this.procFds) return undefined;
    let handle: FileHandle;
    try {
      handle = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
    } catch (err) {
      if (isErrno(err, "EACCES")) return undefined;
      throw err;
    }
    try {
      return readlinkSync(`/proc/self/fd/${handle.fd}`);
    } catch {
      this.procFds = false;
      return undefined;
    } finally {
      await handle.close();
    }
  }

  private resolve(key: string): string {
    checkStorageKey(key);
    const file = path.join(this.root, ...key.split("/"));
    if (!file.startsWith(this.root + path.sep) || key.split("/")[0] === TEMP_DIR) {
      throw new Error(`storage key ${JSON.stringify(key)} escapes the storage root`);
    }
    return file;
  }

  async get(key: string): Promise<StoredObject | undefined> {
    const file = this.resolve(key);
    let handle: FileHandle;
    try {
      // O_NOFOLLOW: a symlink in place of a stored file is never followed. O_NONBLOCK: a FIFO
      // planted in the cache cannot hang the open (it is refused as not a file just below).
      handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch (err) {
      if (isErrno(err, "ENOENT") || isErrno(err, "ENOTDIR")) return undefined;
      if (isErrno(err, "ELOOP")) {
        throw new ProxyError("security", `stored file ${file} is a symlink; the storage never follows one`);
      }
      throw err;
    }
    try {
      const info = await handle.stat();
      if (!info.isFile()) {
        await handle.close();
        return undefined;
      }
      // Checked on the file actually opened, so a directory swapped for a symlink between a
      // check and the open cannot slip through.
      if (!(await this.openedInsideRoot(handle.fd, file))) {
        await handle.close();
        return undefined;
      }
      return { size: info.size, modified: info.mtime, body: new FileBody(handle, info.size) };
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  /**
   * Whether the open file `fd` (opened as `file`) lies under the root once symlinks are
   * resolved; throws a security error when it does not. On Linux one readlink of /proc/self/fd
   * gives the opened file's real path without touching the file system; elsewhere, the real
   * path of its directory (false when that directory is gone).
   */
  private async openedInsideRoot(fd: number, file: string): Promise<boolean> {
    this.realRoot ??= await realpath(this.root);
    let real: string | undefined;
    if (this.procFds) {
      try {
        real = readlinkSync(`/proc/self/fd/${fd}`);
      } catch {
        this.procFds = false;
      }
    }
    if (real === undefined) return this.insideRoot(path.dirname(file));
    if (!real.startsWith(this.realRoot + path.sep)) {
      throw new ProxyError(
        "security",
        `stored file ${file} leads outside the storage root ${this.root} through a symlink`,
      );
    }
    return true;
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    const file = this.resolve(key);
    if (!(await this.insideRoot(path.dirname(file)))) return undefined;
    try {
      const info = await lstat(file);
      return info.isFile() ? { size: info.size, modified: info.mtime } : undefined;
    } catch (err) {
      if (isErrno(err, "ENOENT") || isErrno(err, "ENOTDIR")) return undefined;
      throw err;
    }
  }

  async put(key: string, body: Readable | Buffer, options: PutOptions = {}): Promise<PutResult> {
    const file = this.resolve(key);
    await this.init();
    const temp = path.join(this.tempDir, `${randomBytes(12).toString("hex")}.part`);
    const counter = { bytes: 0 };
    try {
      const limit = options.maxBytes ?? Number.POSITIVE_INFINITY;
      const handle = await open(temp, "wx");
      try {
        for await (const chunk of Buffer.isBuffer(body) ? [body] : body) {
          const data = typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer);
          counter.bytes += data.length;
          if (counter.bytes > limit) {
            if (!Buffer.isBuffer(body)) body.destroy();
            throw new ProxyError("too-large", `file exceeds the limit of ${limit} bytes`);
          }
          await handle.write(data);
        }
        // fsync before the rename: a crash must never leave a renamed but incomplete file.
        await handle.sync();
      } finally {
        await handle.close();
      }
      const dir = path.dirname(file);
      const known = this.knownDirs.has(dir);
      if (!known) await this.makeDirectory(dir);
      let placed: boolean;
      try {
        placed = await this.place(temp, file, options.ifNoneMatch === true);
      } catch (err) {
        // A directory remembered from an earlier put was removed since (by hand): make it again.
        if (!known || !isErrno(err, "ENOENT")) throw err;
        this.knownDirs.delete(dir);
        await this.makeDirectory(dir);
        placed = await this.place(temp, file, options.ifNoneMatch === true);
      }
      // A rename replaces what a reader relies on staying replaced (the checksum database's latest
      // verified tree, a list): its directory is fsynced, so a crash cannot bring the old one back.
      if (!options.ifNoneMatch) await this.syncDirectory(dir);
      return placed ? { created: true, size: counter.bytes } : { created: false, size: 0 };
    } finally {
      await unlink(temp).catch(() => undefined);
    }
  }

  private async syncDirectory(dir: string): Promise<void> {
    const handle = await open(dir, "r").catch(() => undefined);
    if (!handle) return;
    try {
      await handle.sync();
    } catch {
      // Some file systems refuse fsync on directories; the file itself is already durable.
    } finally {
      await handle.close();
    }
  }

  private async makeDirectory(dir: string): Promise<void> {
    await mkdir(dir, { recursive: true });
    if (this.knownDirs.size >= KNOWN_DIRS_MAX) this.knownDirs.clear();
    this.knownDirs.add(dir);
  }

  /**
   * Moves the finished temporary file to `file`, after checking that no symlink leads its
   * directory out of the root; false when a create-only put finds `file` there already.
   */
  private async place(temp: string, file: string, createOnly: boolean): Promise<boolean> {
    await this.insideRoot(path.dirname(file));
    try {
      await (createOnly ? link(temp, file) : rename(temp, file));
      return true;
    } catch (err) {
      if (createOnly && isErrno(err, "EEXIST")) return false;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    const file = this.resolve(key);
    if (!(await this.insideRoot(path.dirname(file)))) return;
    await unlink(file).catch((err) => {
      if (!isErrno(err, "ENOENT") && !isErrno(err, "ENOTDIR")) throw err;
    });
  }

  async *list(prefix: string): AsyncIterable<string> {
    checkStoragePrefix(prefix);
    // Start the walk at the deepest directory the prefix fully names.
    const slash = prefix.lastIndexOf("/");
    const dirKey = slash >= 0 ? prefix.slice(0, slash) : "";
    const start = dirKey === "" ? this.root : this.resolve(dirKey);
    // The walk itself never follows symlinks (Dirent types are not resolved); only the start can.
    if (!(await this.insideRoot(start))) return;
    const stack: Array<{ dir: string; key: string }> = [{ dir: start, key: dirKey }];
    while (stack.length > 0) {
      const { dir, key } = stack.pop()!;
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        if (isErrno(err, "ENOENT") || isErrno(err, "ENOTDIR")) continue;
        throw err;
      }
      for (const entry of entries) {
        const childKey = key === "" ? entry.name : `${key}/${entry.name}`;
        if (key === "" && entry.name === TEMP_DIR) continue;
        if (entry.isDirectory()) {
          if (childKey.startsWith(prefix) || prefix.startsWith(childKey + "/")) {
            stack.push({ dir: path.join(dir, entry.name), key: childKey });
          }
        } else if (entry.isFile() && childKey.startsWith(prefix)) {
          yield childKey;
        }
      }
    }
  }
}
