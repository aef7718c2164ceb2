import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync } from "node:fs";
import { open } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { PassThrough, Readable } from "node:stream";
import { setTimeout as delay } from "node:timers/promises";
import { SpoolDirectory, sweepSpools } from "../../../lib/proxy/cache/spool-directory";
import type { SpoolFile } from "../../../lib/proxy/cache/spool";
import { ProxyError } from "../../../lib/proxy/errors";
import { silentLogger } from "../../../lib/proxy/logger";
import { readStream } from "../../support/fake-source";

/** A spool file whose writes fail with `code` once `after` bytes are in. */
function failingAfter(after: number, code: string): (file: string) => Promise<SpoolFile> {
  return async (file) => {
    const handle = await open(file, "wx+");
    let written = 0;
    return {
      read: (buffer, offset, length, position) => handle.read(buffer, offset, length, position),
      close: () => handle.close(),
      async write(buffer, offset, length, position) {
        if (written + length > after) throw Object.assign(new Error(`${code}: injected`), { code });
        written += length;
        return handle.write(buffer, offset, length, position);
      },
    };
  };
}

/** Chunks of `data` that come only as the test lets them through. */
function gatedSource(
  data: Buffer,
  chunk = 16 * 1024,
): { body: Readable; send(n: number): void; end(): void } {
  const body = new PassThrough();
  let offset = 0;
  return {
    body,
    send(n) {
      for (let i = 0; i < n && offset < data.length; i++, offset += chunk) {
        body.write(data.subarray(offset, offset + chunk));
      }
    },
    end() {
      body.end(data.subarray(offset));
      offset = data.length;
    },
  };
}

/** Reads `stream` until it has `n` bytes (or ends), without ending it. */
async function readAtLeast(stream: Readable, n: number, timeoutMs = 2000): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  const deadline = Date.now() + timeoutMs;
  while (total < n && Date.now() < deadline) {
    const chunk = stream.read() as Buffer | null;
    if (chunk) {
      chunks.push(chunk);
      total += chunk.length;
    } else await delay(5);
  }
  return Buffer.concat(chunks);
}

describe("Spool", () => {
  let root: string;
  let spools: SpoolDirectory;
  const data = randomBytes(200 * 1024);

  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), "gomirror-spool-test-"));
    spools = new SpoolDirectory({ root, maxBytes: 1024 * 1024 });
  });
  afterEach(async () => {
    await spools.remove();
    rmSync(root, { recursive: true, force: true });
  });

  const spoolFiles = (): string[] =>
    readdirSync(root).flatMap((d) => readdirSync(path.join(root, d)).map((f) => `${d}/${f}`));

  it("lets every reader read as the file grows, but not the last byte before release", async () => {
    const spool = await spools.create("test zip", data.length);
    const source = gatedSource(data);
    const filled = spool.fill(source.body, 1 << 30, "test zip");
    const early = spool.reader();
    source.send(4);
    const first = await readAtLeast(early, 4 * 16 * 1024 - 1);
    expect(first.length).toBeGreaterThanOrEqual(4 * 16 * 1024 - 1);
    const late = spool.reader();
    source.end();
    await filled;
    // Everything but the last byte, for both readers.
    const rest = await readAtLeast(early, data.length, 300);
    expect(first.length + rest.length).toBe(data.length - 1);
    expect((await readAtLeast(late, data.length, 300)).length).toBe(data.length - 1);
    spool.release();
    spool.close();
    expect((await readStream(late)).length).toBe(1);
    // A reader that joins now, while another still reads, gets the whole file.
    expect((await readStream(spool.reader())).equals(data)).toBe(true);
    early.destroy();
  });

  it("gives every reader the whole file once released", async () => {
    const spool = await spools.create("test zip", data.length);
    const readers = [spool.reader(), spool.reader(), spool.reader()];
    const reads = readers.map((r) => readStream(r));
    await spool.fill(Readable.from([data]), 1 << 30, "test zip");
    spool.release();
    spool.close();
    for (const got of await Promise.all(reads)) expect(got.equals(data)).toBe(true);
  });

  it("ends every reader with the failure, never with a short file", async () => {
    const spool = await spools.create("test zip", data.length);
    const reads = [readStream(spool.reader()), readStream(spool.reader())];
    await spool.fill(Readable.from([data]), 1 << 30, "test zip");
    spool.fail(new ProxyError("security", "checksum mismatch"));
    spool.close();
    for (const outcome of await Promise.allSettled(reads)) {
      expect(outcome).toMatchObject({ status: "rejected", reason: { kind: "security" } });
    }
  });

  it("removes its file and gives its space back once the writer and every reader are done", async () => {
    const spool = await spools.create("test zip", data.length);
    expect(spools.bytesInUse).toBe(data.length);
    const reader = spool.reader();
    await spool.fill(Readable.from([data]), 1 << 30, "test zip");
    spool.release();
    spool.close();
    await delay(20);
    expect(spoolFiles()).toHaveLength(1); // the reader still reads
    expect((await readStream(reader)).equals(data)).toBe(true);
    expect(spools.bytesInUse).toBe(0);
    for (let i = 0; i < 100 && spoolFiles().length > 0; i++) await delay(10);
    expect(spoolFiles()).toEqual([]);
  });

  it("refuses a download larger than the space it may ever take, and one that does not fit now", async () => {
    await expect(spools.create("huge zip", 2 * 1024 * 1024)).rejects.toMatchObject({ kind: "too-large" });
    const first = await spools.create("first zip", 800 * 1024);
    const second = spools.create("second zip", 300 * 1024);
    await expect(second).rejects.toMatchObject({ kind: "unavailable" });
    first.close();
    (await spools.create("second zip", 300 * 1024)).close();
  });

  it("stops a download of unknown size that outgrows the space left, or all the space there is", async () => {
    const other = await spools.create("sized zip", 800 * 1024);
    const spool = await spools.create("unsized zip");
    const reader = readStream(spool.reader());
    await expect(spool.fill(Readable.from([data, data]), 1 << 30, "unsized zip")).rejects.toMatchObject({
      kind: "unavailable",
    });
    await expect(reader).rejects.toMatchObject({ kind: "unavailable" });
    spool.close();
    other.close();
    expect(spools.bytesInUse).toBe(0);
    const alone = await spools.create("unsized zip");
    await expect(
      alone.fill(Readable.from([randomBytes(1024 * 1024 + 1)]), 1 << 30, "unsized zip"),
    ).rejects.toMatchObject({ kind: "too-large" });
    alone.close();
    expect(spools.bytesInUse).toBe(0);
  });

  it("fails a download over its limit as too large", async () => {
    const spool = await spools.create("test zip");
    await expect(spool.fill(Readable.from([data]), 1000, "test zip")).rejects.toMatchObject({
      kind: "too-large",
    });
    spool.close();
  });

  it("turns a full spool disk into 'unavailable' and any other write failure into 'internal'", async () => {
    for (const [code, kind] of [
      ["ENOSPC", "unavailable"],
      ["EDQUOT", "unavailable"],
      ["EIO", "internal"],
    ]) {
      const faulty = new SpoolDirectory({ root, maxBytes: 1 << 20, open: failingAfter(1000, code) });
      const spool = await faulty.create("test zip");
      await expect(spool.fill(Readable.from([data]), 1 << 30, "test zip")).rejects.toMatchObject({ kind });
      await expect(spool.reached(1)).rejects.toMatchObject({ kind });
      spool.close();
      await faulty.remove();
    }
  });

  it("probes whether its directory takes a file", async () => {
    await expect(spools.probe()).resolves.toBeUndefined();
    const full = new SpoolDirectory({ root, open: failingAfter(0, "ENOSPC") });
    await expect(full.probe()).rejects.toThrow(/ENOSPC/);
    await full.remove();
  });
});

describe("sweepSpools", () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), "gomirror-sweep-test-"));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const make = (name: string, ageMs = 0): string => {
    const dir = path.join(root, name);
    mkdirSync(dir);
    if (ageMs > 0) {
      const then = new Date(Date.now() - ageMs);
      utimesSync(dir, then, then);
    }
    return dir;
  };

  it("removes the spools of processes that are gone, however fresh, and keeps those of live ones", async () => {
    // This process's own directory, as SpoolDirectory names it.
    const live = new SpoolDirectory({ root });
    await live.probe();
    const [own] = readdirSync(root);
    const gone = make("gomirror-spool-99999999-12345-0a0b0c0d"); // no such pid
    const reused = make(`gomirror-spool-${process.pid}-1-0a0b0c0d`); // our pid, another start time
    await sweepSpools(root, silentLogger());
    expect(existsSync(gone)).toBe(false);
    expect(existsSync(reused)).toBe(false);
    expect(readdirSync(root)).toEqual([own]);
    await live.remove();
  });

  it("removes unowned download directories of older versions only once they are an hour old", async () => {
    const stale = make("gomirror-zip-abc", 2 * 3600 * 1000);
    const fresh = make("gomirror-verify-abc");
    const other = make("something-else", 2 * 3600 * 1000);
    await sweepSpools(root, silentLogger());
    expect([existsSync(stale), existsSync(fresh), existsSync(other)]).toEqual([false, true, true]);
  });
});
