import { randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { rename, rm } from "node:fs/promises";
import { Transform, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { extract as tarExtract, pack as tarPack, type Header } from "tar-stream";

/**
 * Bundles are plain tar files (ustar, with PAX headers for names longer than ustar holds), read
 * and written as streams through tar-stream: one entry at a time passes through memory, whatever
 * the bundle's size. tar-stream was chosen because it is only a streaming tar parser and
 * generator (no file system side, no gzip), gives entry-level control with back-pressure (an
 * entry is hashed or spooled before the next is read), detects a truncated archive, and is the
 * tar layer under tar-fs, with millions of weekly installs.
 */

/** Writes a tar to `file` through a temporary name: the bundle appears only once complete. */
export class TarWriter {
  private readonly pack = tarPack();
  private readonly temp: string;
  private readonly written: Promise<void>;
  private readonly mtime: Date;

  constructor(
    private readonly file: string,
    mtime: Date,
  ) {
    this.temp = `${file}.${randomBytes(6).toString("hex")}.part`;
    this.mtime = mtime;
    this.written = pipeline(this.pack, createWriteStream(this.temp, { flags: "wx" }));
    this.written.catch(() => undefined); // awaited in finish() or abort()
  }

  /** Adds a small entry held in memory. */
  add(name: string, data: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pack.entry(this.header(name, data.length), data, (err) => (err ? reject(err) : resolve()));
    });
  }

  /** Streams an entry whose size is known; a body of another length fails the entry. */
  async addStream(name: string, size: number, body: Readable): Promise<void> {
    const entry = this.pack.entry(this.header(name, size));
    await pipeline(body, entry);
  }

  async finish(): Promise<void> {
    this.pack.finalize();
    await this.written;
    await rename(this.temp, this.file);
  }

  async abort(): Promise<void> {
    this.pack.destroy();
    await this.written.catch(() => undefined);
    await rm(this.temp, { force: true });
  }

  private header(name: string, size: number): Partial<Header> & Pick<Header, "name"> {
    return { name, size, mode: 0o644, mtime: this.mtime, type: "file" };
  }
}

export interface TarEntry {
  readonly name: string;
  readonly size: number;
  /** "file" for regular files; anything else is refused by bundle readers. */
  readonly type: string;
  /** The entry's bytes; must be read to the end (or destroyed) before the next entry comes. */
  readonly body: Readable;
}

/**
 * Calls `onEntry` for each entry of the tar `file` in order, waiting for it before reading on.
 * `onBytes` hears how many bytes of the file have been read (for progress). A truncated or
 * malformed tar rejects. `onEntry` may return false to stop reading early.
 */
export async function readTar(
  file: string,
  onEntry: (entry: TarEntry) => Promise<boolean | void>,
  onBytes?: (bytes: number) => void,
): Promise<void> {
  const extract = tarExtract();
  let read = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      read += chunk.length;
      onBytes?.(read);
      done(null, chunk);
    },
  });
  const reading = pipeline(createReadStream(file), counter, extract);
  reading.catch(() => undefined); // the loop below sees the same failure
  try {
    for await (const raw of extract) {
      const h = raw.header;
      const entry: TarEntry = {
        name: h.name,
        size: h.size ?? 0,
        type: h.type ?? "file",
        body: raw as unknown as Readable,
      };
      const goOn = await onEntry(entry);
      // Whatever the handler left unread is skipped, so the next header can be parsed.
      raw.resume();
      if (goOn === false) {
        extract.destroy();
        return;
      }
    }
    await reading;
  } catch (err) {
    extract.destroy();
    throw err;
  }
}
