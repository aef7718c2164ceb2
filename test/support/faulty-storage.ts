import type { Readable } from "node:stream";
import type {
  ObjectInfo,
  PutOptions,
  PutResult,
  Storage,
  StoredObject,
} from "../../lib/proxy/storage/storage";

/** How the storage fails: writes refused at once (read-only), or after some bytes (full). */
export type StorageFault = "read-only" | "full" | undefined;

function errno(code: string, message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: ${message}`), { code });
}

/** A storage wrapper whose writes fail on demand, the way a read-only or full volume fails them. */
export class FaultyStorage implements Storage {
  /** The fault writes meet from now on. */
  fault: StorageFault;
  /** Puts that failed so far. */
  failedPuts = 0;

  constructor(readonly inner: Storage) {}

  get(key: string): Promise<StoredObject | undefined> {
    return this.inner.get(key);
  }
  stat(key: string): Promise<ObjectInfo | undefined> {
    return this.inner.stat(key);
  }
  delete(key: string): Promise<void> {
    return this.inner.delete(key);
  }
  list(prefix: string): AsyncIterable<string> {
    return this.inner.list(prefix);
  }

  async put(key: string, body: Readable | Buffer, options?: PutOptions): Promise<PutResult> {
    if (this.fault === "read-only") {
      this.failedPuts++;
      throw errno("EROFS", "read-only file system");
    }
    if (this.fault === "full") {
      this.failedPuts++;
      // A full disk takes some bytes before it refuses more.
      if (!Buffer.isBuffer(body)) for await (const _chunk of body) break;
      throw errno("ENOSPC", "no space left on device");
    }
    return this.inner.put(key, body, options);
  }
}
