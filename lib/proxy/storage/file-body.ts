import { read } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { Readable, type Writable } from "node:stream";

/**
 * Bytes per read. Larger reads mean fewer thread-pool round trips per megabyte (the cost of
 * streaming a big zip): serving a 50 MB zip to 8 clients took about 0.7 CPU seconds per GB with
 * 256 KiB reads against about 0.9 with 128 KiB (loaded 2-core machine, 3 runs each); a second
 * buffer per download (reading the next chunk while the last is written) gained no CPU time.
 */
const CHUNK = 256 * 1024;

/** The smallest send buffer a download gets when many share the budget. */
const MIN_CHUNK = 64 * 1024;

/**
 * Bytes of send buffers all downloads may hold before new ones get smaller buffers: 16 downloads
 * at full size. Past it a new download gets what still fits, down to 64 KiB: 64 clients of a big
 * zip hold 7 MiB instead of 16 MiB, while the few downloads of a quiet mirror (and the 8 of the
 * benchmark's 50 MB row) still read 256 KiB at once.
 */
const SEND_BUDGET = 16 * CHUNK;

/** Bytes of returned send buffers kept for the next downloads (idle memory stays small). */
const KEEP_IDLE = 8 * CHUNK;

/**
 * The send buffers of `FileBody.sendTo`: each download borrows one for its whole body. Buffers
 * of the sizes above are kept for reuse once returned; a file smaller than its share gets a
 * buffer of its own size.
 */
export class SendBuffers {
  private lentBytes = 0;
  private idleBytes = 0;
  /** Returned buffers by size, one list per size a download may be given. */
  private readonly idle = new Map<number, Buffer[]>();

  constructor(
    private readonly budget = SEND_BUDGET,
    private readonly keepIdle = KEEP_IDLE,
  ) {
    for (let size = CHUNK; size >= MIN_CHUNK; size /= 2) this.idle.set(size, []);
  }

  /** Bytes of buffers borrowed and not yet returned. */
  get lent(): number {
    return this.lentBytes;
  }

  /** A buffer to send a file of `fileSize` bytes through. */
  take(fileSize: number): Buffer {
    let size = CHUNK;
    while (size > MIN_CHUNK && this.lentBytes + size > this.budget) size /= 2;
    let buffer: Buffer;
    if (fileSize < size) buffer = Buffer.allocUnsafeSlow(fileSize);
    else {
      const kept = this.idle.get(size)?.pop();
      if (kept) this.idleBytes -= size;
      buffer = kept ?? Buffer.allocUnsafeSlow(size);
    }
    this.lentBytes += buffer.length;
    return buffer;
  }

  /**
   * Returns a buffer. `reusable` is false when a write may still hold it (the client left before
   * confirming): it is then left to the garbage collector, never lent again. When the idle ones
   * fill their room, smaller ones make way for a larger one: once a busy spell is over, every
   * download asks for a full-size buffer again.
   */
  give(buffer: Buffer, reusable: boolean): void {
    const size = buffer.length;
    this.lentBytes -= size;
    const list = this.idle.get(size);
    if (!reusable || !list) return;
    for (let smaller = MIN_CHUNK; smaller < size && this.idleBytes + size > this.keepIdle; smaller *= 2) {
      const kept = this.idle.get(smaller)!;
      while (kept.length > 0 && this.idleBytes + size > this.keepIdle) {
        kept.pop();
        this.idleBytes -= smaller;
      }
    }
    if (this.idleBytes + size > this.keepIdle) return;
    list.push(buffer);
    this.idleBytes += size;
  }
}

/** The process's send buffers, shared by every download. */
export const sendBuffers = new SendBuffers();

/**
 * A stored file opened for one reader, read by position up to the size it had when opened (the
 * Content-Length already promised). Two ways to read it:
 *
 * - as a Readable, for any consumer (each chunk is a new buffer the consumer may keep);
 * - `sendTo(out)`, for an HTTP response: one buffer is reused for every chunk, the next read
 *   starting only once `out` has handed the previous chunk to the kernel (its write callback).
 *   Streaming a big zip then makes no garbage, so memory stays flat however large the file; past
 *   the first 16 downloads, each further one holds 64 KiB (see `SendBuffers`).
 *
 * The file is closed exactly once, as soon as the body ends, fails, is destroyed or `sendTo`
 * returns; never left to the garbage collector.
 */
export class FileBody extends Readable {
  private position = 0;
  private sending = false;
  /** A read is in flight: closing must wait for it (the descriptor is still in use). */
  private reading = false;
  private afterRead: (() => void) | undefined;

  constructor(
    private readonly handle: FileHandle,
    readonly size: number,
  ) {
    super({ highWaterMark: CHUNK });
  }

  override _read(): void {
    const length = Math.min(CHUNK, this.size - this.position);
    if (length <= 0) {
      this.push(null);
      return;
    }
    const buffer = Buffer.allocUnsafe(length);
    this.readAt(buffer, length, (err, bytes) => {
      if (err) {
        this.destroy(err);
        return;
      }
      this.push(bytes < length ? buffer.subarray(0, bytes) : buffer);
      // Ending with the last chunk saves the reader one more round trip.
      if (this.position >= this.size) this.push(null);
    });
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    const close = (): void => {
      this.handle.close().then(
        () => callback(err),
        (closeErr: Error) => callback(err ?? closeErr),
      );
    };
    if (this.reading) this.afterRead = close;
    else close();
  }

  /**
   * Writes the whole file to `out` (not ending it) through one reused buffer. Resolves with the
   * bytes `out` accepted: all of them, or fewer when `out` was closed first (the client left).
   * Rejects when the file cannot be read. Closes the file in every case.
   */
  async sendTo(out: Writable): Promise<number> {
    if (this.sending || this.readableDidRead || this.destroyed) {
      throw new Error("FileBody.sendTo: the body is already being read");
    }
    this.sending = true;
    const buffer = sendBuffers.take(this.size);
    let reusable = true;
    let sent = 0;
    try {
      while (this.position < this.size && !out.destroyed && !this.destroyed) {
        const length = Math.min(buffer.length, this.size - this.position);
        const bytes = await new Promise<number>((resolve, reject) =>
          this.readAt(buffer, length, (err, n) => (err ? reject(err) : resolve(n))),
        );
        reusable = await written(out, bytes < buffer.length ? buffer.subarray(0, bytes) : buffer);
        if (!reusable) break;
        sent += bytes;
      }
      return sent;
    } finally {
      // A write `out` never confirmed may still be queued with this buffer: never reuse it then.
      sendBuffers.give(buffer, reusable);
      this.destroy();
    }
  }

  /** Reads the next `length` bytes into `buffer`; a file shorter than its size is an error. */
  private readAt(buffer: Buffer, length: number, done: (err: Error | null, bytes: number) => void): void {
    this.reading = true;
    read(this.handle.fd, buffer, 0, length, this.position, (err, bytes) => {
      this.reading = false;
      const closing = this.afterRead;
      if (closing) {
        // Destroyed meanwhile: the descriptor can go now; the reader gets no more bytes.
        this.afterRead = undefined;
        closing();
        done(new Error("the stored file was closed while being read"), 0);
      } else if (err) done(err, 0);
      else if (bytes === 0) done(new Error(`stored file ended at ${this.position} of ${this.size} bytes`), 0);
      else {
        this.position += bytes;
        done(null, bytes);
      }
    });
  }
}

/**
 * Writes `chunk` to `out` and resolves once `out` no longer needs it: true after its write
 * callback (the bytes are with the kernel), false when `out` closed or failed first.
 */
function written(out: Writable, chunk: Buffer): Promise<boolean> {
  return new Promise((resolve) => {
    const onClose = (): void => resolve(false);
    out.once("close", onClose);
    out.write(chunk, (err) => {
      out.off("close", onClose);
      resolve(!err);
    });
  });
}
