import { EventEmitter, once } from "node:events";
import { Readable } from "node:stream";
import { ProxyError } from "../errors";
import { guarded } from "../streams";

const CHUNK = 64 * 1024;

/** What a spool needs of its file: positioned reads and writes. A FileHandle fits. */
export interface SpoolFile {
  write(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesWritten: number }>;
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  close(): Promise<void>;
}

/** The space all spools of a process share (SpoolDirectory). */
export interface SpoolSpace {
  /** Takes `bytes` more; false when that would pass the limit. */
  reserve(bytes: number): boolean;
  free(bytes: number): void;
  /**
   * Why a download that needs `bytes` in all cannot have them: "too-large" when it never could,
   * "unavailable" when downloads in progress hold the space.
   */
  refusal(what: string, bytes: number): ProxyError;
  /** Told of a spool file being closed and removed, which settles when it is gone. */
  removing(removal: Promise<void>): void;
}

/**
 * A download being written to a local file at the source's own speed, which any number of
 * readers (the clients waiting for it, then the storage) read while it grows. No reader gets the
 * last byte before `release()`: a client can only complete its download once the whole file has
 * been checked. A slow or stalled reader never slows the download, nor any other reader.
 *
 * The file lives while anyone uses it: the writer until `close()`, each reader until it ends or
 * is destroyed. Then it is removed and its space given back, so a failed store never cuts off a
 * reader, and the space counted in use is what downloads in progress hold on disk.
 */
export class Spool {
  private written = 0;
  private released = false;
  private failed: Error | undefined;
  private readonly events = new EventEmitter();
  private holds = 1;

  constructor(
    /** Where the file is, while the spool is in use (the zip checks open it by name). */
    readonly file: string,
    private readonly handle: SpoolFile,
    private readonly space: SpoolSpace,
    /** Bytes taken from `space` up front (the declared size). */
    private reserved: number,
    /** Removes the file once nobody uses it. */
    private readonly remove: () => Promise<void>,
  ) {
    this.events.setMaxListeners(0);
  }

  /** Whether new readers may still be made (the file is there until the last user is done). */
  get open(): boolean {
    return this.holds > 0;
  }

  /** The error readers end with, once the download or its checks failed. */
  get failure(): Error | undefined {
    return this.failed;
  }

  /**
   * Copies `source` into the file, refusing more than `limit` bytes or more than the space left.
   * Resolves once every byte is written; on failure the spool fails with the same error.
   */
  async fill(source: Readable, limit: number, what: string): Promise<void> {
    try {
      for await (const chunk of source) {
        const data = chunk as Buffer;
        if (this.written + data.length > limit) {
          throw new ProxyError("too-large", `${what} is larger than ${limit} bytes`);
        }
        this.take(this.written + data.length, what);
        await this.writeAll(data, what);
        this.written += data.length;
        this.events.emit("progress");
      }
    } catch (err) {
      const fault = err instanceof ProxyError ? err : new ProxyError("internal", `${what}: ${String(err)}`);
      this.fail(fault);
      source.destroy();
      throw fault;
    }
  }

  /** Resolves once `bytes` bytes are written (or all are, released); rejects if the spool fails first. */
  async reached(bytes: number): Promise<void> {
    while (this.written < bytes && !this.released) {
      if (this.failed) throw this.failed;
      await once(this.events, "progress");
    }
  }

  /** The readers may now read to the end. */
  release(): void {
    this.released = true;
    this.events.emit("progress");
  }

  /** The readers end with this error instead of the rest of the file. */
  fail(err: Error): void {
    this.failed ??= err;
    this.events.emit("progress");
  }

  /** The writer is done with the file (the readers may not be). */
  close(): void {
    this.drop();
  }

  /** A new reader, from the first byte. */
  reader(): Readable {
    if (this.holds === 0)
      throw new ProxyError("internal", `spool ${this.file} was read after it was removed`);
    this.holds++;
    let position = 0;
    let pumping = false;
    let closed = false;
    const readable = new Readable({
      highWaterMark: CHUNK,
      read: () => void pump(),
      destroy: (err, callback) => {
        if (!closed) {
          closed = true;
          this.events.emit("progress"); // wakes a waiting pump, which then sees `closed`
          this.drop();
        }
        callback(err);
      },
    });
    const pump = async (): Promise<void> => {
      if (pumping) return;
      pumping = true;
      try {
        while (!closed) {
          if (this.failed) {
            readable.destroy(this.failed);
            return;
          }
          const limit = this.released ? this.written : Math.max(0, this.written - 1);
          if (position < limit) {
            const buffer = Buffer.allocUnsafe(Math.min(CHUNK, limit - position));
            const { bytesRead } = await this.handle.read(buffer, 0, buffer.length, position);
            if (closed) return;
            position += bytesRead;
            if (!readable.push(buffer.subarray(0, bytesRead))) return;
          } else if (this.released) {
            readable.push(null);
            return;
          } else {
            await once(this.events, "progress");
          }
        }
      } catch (err) {
        readable.destroy(err as Error);
      } finally {
        pumping = false;
      }
    };
    return guarded(readable);
  }

  /** Makes sure `total` bytes are reserved, taking more from the shared space when needed. */
  private take(total: number, what: string): void {
    if (total <= this.reserved) return;
    const more = total - this.reserved;
    if (!this.space.reserve(more)) throw this.space.refusal(what, total);
    this.reserved += more;
  }

  private async writeAll(data: Buffer, what: string): Promise<void> {
    let offset = 0;
    while (offset < data.length) {
      let bytesWritten: number;
      try {
        ({ bytesWritten } = await this.handle.write(
          data,
          offset,
          data.length - offset,
          this.written + offset,
        ));
      } catch (err) {
        throw spoolWriteError(err, what);
      }
      offset += bytesWritten;
    }
  }

  private drop(): void {
    this.holds--;
    if (this.holds > 0) return;
    // The space counts as free from now on: the file goes within moments.
    this.space.free(this.reserved);
    this.reserved = 0;
    this.space.removing(
      this.handle
        .close()
        .catch(() => undefined)
        .then(() => this.remove())
        .catch(() => undefined),
    );
  }
}

/** A full spool file system is a temporary shortage (503); any other write failure is ours. */
export function spoolWriteError(err: unknown, what: string): ProxyError {
  if (err instanceof ProxyError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  if (code === "ENOSPC" || code === "EDQUOT") {
    return new ProxyError(
      "unavailable",
      `${what}: the spool directory is full (${code}); try again shortly`,
      { cause: err },
    );
  }
  return new ProxyError("internal", `${what}: cannot spool the download: ${code ?? String(err)}`, {
    cause: err,
  });
}
