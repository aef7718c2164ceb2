import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { crc32 } from "node:zlib";
import yauzl from "yauzl";
import { guarded } from "../streams";

/**
 * Go's `h1:` hashes (golang.org/x/mod/sumdb/dirhash Hash1), the checksums recorded in go.sum and
 * in the checksum database.
 *
 * Hash1 is the SHA-256 of a summary with one line per file, `<hex sha256 of content>  <name>\n`,
 * the files ordered by the BYTES of their names (Go's sort.Strings compares UTF-8 bytes; this is
 * not JavaScript's default UTF-16 code unit order, which differs for names mixing characters above
 * U+FFFF with characters in U+E000..U+FFFF). The result is `h1:` + base64 of the digest.
 */

/** A file to hash: its name as raw bytes (or a string, taken as UTF-8) and its content. */
export interface HashFile {
  readonly name: Buffer | string;
  /** The content, opened only when the file's turn comes. */
  open(): Promise<Readable | Buffer>;
}

async function sha256Hex(content: Readable | Buffer): Promise<string> {
  const h = createHash("sha256");
  if (Buffer.isBuffer(content)) {
    h.update(content);
  } else {
    for await (const chunk of content) h.update(chunk as Buffer);
  }
  return h.digest("hex");
}

/** Go's Hash1 over a list of files. */
export async function hash1(files: readonly HashFile[]): Promise<string> {
  const named = files.map((f) => ({
    file: f,
    name: Buffer.isBuffer(f.name) ? f.name : Buffer.from(f.name, "utf8"),
  }));
  named.sort((a, b) => Buffer.compare(a.name, b.name));
  const summary = createHash("sha256");
  for (const { file, name } of named) {
    if (name.includes(0x0a)) {
      throw new Error(`dirhash: file name ${JSON.stringify(name.toString("utf8"))} contains a newline`);
    }
    const hex = await sha256Hex(await file.open());
    summary.update(`${hex}  `);
    summary.update(name);
    summary.update("\n");
  }
  return `h1:${summary.digest("base64")}`;
}

/** The `h1:` hash of a go.mod file, as recorded in go.sum lines `M V/go.mod h1:...`. */
export function hashGoMod(data: Buffer): Promise<string> {
  return hash1([{ name: "go.mod", open: () => Promise.resolve(data) }]);
}

/** A zip's entries, read from its file, or from its bytes when it is small enough to be held. */
export function openZip(zip: string | Buffer): Promise<yauzl.ZipFile> {
  const options = { lazyEntries: true, autoClose: false, decodeStrings: false } as const;
  return typeof zip === "string" ? yauzl.openPromise(zip, options) : yauzl.fromBufferPromise(zip, options);
}

/**
 * The `h1:` hash of the files in a zip (its file on disk, or the bytes of a small one), as Go's
 * dirhash.HashZip: names are taken byte for byte from the zip (module zips keep their
 * `module@version/` prefix in the hash), only names and contents count, and entries are read one
 * at a time so a zip on disk is never held in memory. A zip whose entries fail their size or
 * CRC-32 checks is refused, as Go's zip reader does.
 */
export async function hashZipFile(file: string | Buffer): Promise<string> {
  const zip = await openZip(file);
  try {
    // Go keeps every name in the list but opens the LAST entry of a duplicated name for each.
    const byName = new Map<string, yauzl.Entry>();
    const names: Buffer[] = [];
    for await (const entry of zip.eachEntry()) {
      const raw = Buffer.from(entry.fileNameRaw);
      names.push(raw);
      byName.set(raw.toString("latin1"), entry);
    }
    return await hash1(
      names.map((name) => ({
        name,
        open: () => openEntry(zip, byName.get(name.toString("latin1")) as yauzl.Entry),
      })),
    );
  } catch (err) {
    const which = typeof file === "string" ? ` ${file}` : "";
    throw new Error(`hashing zip${which}: ${(err as Error).message}`, { cause: err });
  } finally {
    zip.close();
  }
}

async function openEntry(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<Readable | Buffer> {
  const raw = entry.fileNameRaw;
  if (raw.length > 0 && raw[raw.length - 1] === 0x2f /* "/" */) {
    // A directory entry reads as empty (Go refuses one that claims content).
    if (entry.uncompressedSize !== 0) throw new Error("directory entry with content");
    return Buffer.alloc(0);
  }
  const stream = guarded(await zip.openReadStreamPromise(entry));
  if (entry.crc32 === 0) return stream;
  return checkCrc(stream, entry.crc32, raw.toString("utf8"));
}

async function* crcChecked(stream: Readable, want: number, name: string): AsyncGenerator<Buffer> {
  let crc = 0;
  for await (const chunk of stream) {
    crc = crc32(chunk as Buffer, crc);
    yield chunk as Buffer;
  }
  if (crc >>> 0 !== want >>> 0) throw new Error(`zip entry ${JSON.stringify(name)} fails its CRC-32 check`);
}

function checkCrc(stream: Readable, want: number, name: string): Readable {
  return Readable.from(crcChecked(stream, want, name));
}

/**
 * The `h1:` hash of a zip given as a stream: it is spooled to a temporary file first (zips can
 * be hundreds of megabytes; their directory is at the end), then hashed and the file removed.
 */
export async function hashZipStream(body: Readable, options: { tmpDir?: string } = {}): Promise<string> {
  const dir = await mkdtemp(path.join(options.tmpDir ?? tmpdir(), "gomirror-zip-"));
  try {
    const file = path.join(dir, "module.zip");
    await pipeline(body, createWriteStream(file));
    return await hashZipFile(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
