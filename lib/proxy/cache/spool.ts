import { EventEmitter, once } from "node:events";
import { open, type FileHandle } from "node:fs/promises";
import { Readable } from "node:stream";

const CHUNK = 64 * 1024;

/**
 * A download being written to a local file at the source's own speed, which one client can
 * read while it grows. The reader never gets the last byte until `release()`: a client can
 * only complete its download once the whole file has been checked. A slow or stalled reader
 * never slows the download (others wait for it to be stored, not for that client).
 */
export class Spool {
  private written = 0;
  private released = false;
  private failure: Error | undefined;
  private readonly events = new EventEmitter();
  /** The file stays open until both the writer and the reader are done with it. */
  private users = 2;

  private constructor(private readonly handle: FileHandle) {}

  static async create(file: string): Promise<Spool> {
    return new Spool(await open(file, "wx+"));
  }

  /** Copies `source` into the file; resolves once every byte is written. */
  async fill(source: Readable): Promise<void> {
    try {
      for await (const chunk of source) {
        const data = chunk as Buffer;
        await this.handle.write(data, 0, data.length, this.written);
        this.written += data.length;
        this.events.emit("progress");
      }
    } finally {
      this.done();
    }
  }

  /** The reader may now read to the end. */
  release(): void {
    this.released = true;
    this.events.emit("progress");
  }

  /** The reader ends with this error instead of the rest of the file. */
  fail(err: Error): void {
    this.failure ??= err;
    this.events.emit("progress");
  }

  /** The one reader of this spool. */
  reader(): Readable {
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
          this.done();
        }
        callback(err);
      },
    });
    const pump = async (): Promise<void> => {
      if (pumping) return;
      pumping = true;
      try {
        while (!closed) {
          if (this.failure) {
            readable.destroy(this.failure);
            return;
          }
          const limit = this.released ? this.written : Math.max(0, this.written - 1);
          if (position < limit) {
            const buffer = Buffer.allocUnsafe(Math.min(CHUNK, limit - position));
            const { bytesRead } = await this.handle.read(buffer, 0, buffer.length, position);
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
    return readable;
  }

  private done(): void {
    this.users--;
    if (this.users === 0) void this.handle.close().catch(() => undefined);
  }
}
