import type { Readable } from "node:stream";
import type { PutOptions, PutResult } from "../../lib/proxy/storage/storage";
import { WrappedStorage } from "./wrapped-storage";

/** How the storage fails: writes refused at once (read-only), or after some bytes (full). */
export type StorageFault = "read-only" | "full" | undefined;

function errno(code: string, message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: ${message}`), { code });
}

/** A storage wrapper whose writes fail on demand, the way a read-only or full volume fails them. */
export class FaultyStorage extends WrappedStorage {
  /** The fault writes meet from now on. */
  fault: StorageFault;
  /** Puts that failed so far. */
  failedPuts = 0;

  override async put(key: string, body: Readable | Buffer, options?: PutOptions): Promise<PutResult> {
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
