import { randomBytes } from "node:crypto";
import {
  mkdtempSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { open } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { FileBody, SendBuffers, sendBuffers } from "../../../lib/proxy/storage/file-body";
import { readAll } from "./conformance";

/** Descriptors of this process open on `file`. */
function descriptorsOn(file: string): number {
  let n = 0;
  for (const fd of readdirSync("/proc/self/fd")) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === file) n++;
    } catch {
      // closed while we looked
    }
  }
  return n;
}

async function closed(file: string): Promise<void> {
  for (let i = 0; i < 100 && descriptorsOn(file) > 0; i++) await new Promise((r) => setTimeout(r, 10));
  expect(descriptorsOn(file)).toBe(0);
}

/**
 * A socket stand-in that confirms each write later, as a busy socket does, and checks that no
 * chunk changes between write() and its callback: a buffer reused too early would.
 */
class CheckingSink extends Writable {
  readonly received: Buffer[] = [];
  reusedEarly = false;

  override _write(chunk: Buffer, _enc: string, done: (err?: Error) => void): void {
    const copy = Buffer.from(chunk);
    this.received.push(copy);
    setTimeout(() => {
      if (!chunk.equals(copy)) this.reusedEarly = true;
      done();
    }, 1);
  }
}

/** A socket stand-in that holds every write until released, as a slow client does. */
class HeldSink extends Writable {
  readonly received: Buffer[] = [];
  firstChunk = 0;
  readonly firstWrite: Promise<void>;
  private wrote!: () => void;
  private held: (() => void)[] = [];
  private released = false;

  constructor() {
    super();
    this.firstWrite = new Promise((resolve) => (this.wrote = resolve));
  }

  override _write(chunk: Buffer, _enc: string, done: (err?: Error) => void): void {
    this.received.push(Buffer.from(chunk));
    if (!this.firstChunk) {
      this.firstChunk = chunk.length;
      this.wrote();
    }
    if (this.released) done();
    else this.held.push(() => done());
  }

  release(): void {
    this.released = true;
    for (const done of this.held.splice(0)) done();
  }
}

describe("SendBuffers", () => {
  const KiB = 1024;

  it("lends full-size buffers up to the budget, then smaller ones down to 64 KiB", () => {
    const buffers = new SendBuffers(1024 * KiB, 512 * KiB);
    const sizes = Array.from({ length: 7 }, () => buffers.take(10 * 1024 * KiB));
    expect(sizes.map((b) => b.length / KiB)).toEqual([256, 256, 256, 256, 64, 64, 64]);
    expect(buffers.lent).toBe(1216 * KiB);
    for (const b of sizes) buffers.give(b, true);
    expect(buffers.lent).toBe(0);
  });

  it("takes the room that is left: half a buffer when a whole one does not fit", () => {
    const buffers = new SendBuffers(512 * KiB);
    const first = buffers.take(1024 * KiB);
    const small = buffers.take(100 * KiB);
    expect([first.length, small.length]).toEqual([256 * KiB, 100 * KiB]);
    expect(buffers.take(1024 * KiB).length).toBe(128 * KiB);
  });

  it("gives a file smaller than its share a buffer of the file's size", () => {
    const buffers = new SendBuffers();
    expect(buffers.take(1000).length).toBe(1000);
    expect(buffers.lent).toBe(1000);
  });

  it("lets smaller idle buffers make way for a full-size one", () => {
    const buffers = new SendBuffers(256 * KiB, 256 * KiB);
    const big = buffers.take(1024 * KiB);
    const small = Array.from({ length: 4 }, () => buffers.take(1024 * KiB));
    expect(small.map((b) => b.length / KiB)).toEqual([64, 64, 64, 64]);
    for (const b of small) buffers.give(b, true);
    // The idle room (256 KiB) is full of 64 KiB buffers; the 256 KiB one replaces them.
    buffers.give(big, true);
    expect(buffers.lent).toBe(0);
    expect(buffers.take(1024 * KiB)).toBe(big);
    // and the 64 KiB ones are gone: the next (64 KiB, the budget being taken) is a new buffer.
    expect(small).not.toContain(buffers.take(1024 * KiB));
  });

  it("reuses returned buffers, keeps no more idle than allowed, and never reuses one a write may hold", () => {
    const buffers = new SendBuffers(4096 * KiB, 256 * KiB);
    const a = buffers.take(1024 * KiB);
    const b = buffers.take(1024 * KiB);
    buffers.give(a, true);
    buffers.give(b, true);
    // Only one 256 KiB buffer is kept idle: the next two takes get `a`, then a new one.
    expect(buffers.take(1024 * KiB)).toBe(a);
    expect(buffers.take(1024 * KiB)).not.toBe(b);
    const held = buffers.take(1024 * KiB);
    buffers.give(held, false);
    expect(buffers.take(1024 * KiB)).not.toBe(held);
  });
});

describe("FileBody", () => {
  let dir: string;
  let file: string;
  let data: Buffer;

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "gomirror-filebody-"));
    file = path.join(realpathSync(dir), "module.zip");
    // Several chunks and a partial one.
    data = randomBytes(3 * 256 * 1024 + 12_345);
    writeFileSync(file, data);
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  async function body(size = data.length): Promise<FileBody> {
    return new FileBody(await open(file, "r"), size);
  }

  it("reads the whole file as a stream and closes it at the end", async () => {
    const b = await body();
    // Buffer.equals: jest's toEqual walks a large buffer byte by byte.
    expect((await readAll(b)).equals(data)).toBe(true);
    await closed(file);
  });

  it("sends the whole file through one reused buffer, never reused before the write is confirmed", async () => {
    const b = await body();
    const sink = new CheckingSink();
    expect(await b.sendTo(sink)).toBe(data.length);
    expect(Buffer.concat(sink.received).equals(data)).toBe(true);
    expect(sink.reusedEarly).toBe(false);
    await closed(file);
  });

  it("sends no more than the size it was opened with", async () => {
    const b = await body(1000);
    const sink = new CheckingSink();
    expect(await b.sendTo(sink)).toBe(1000);
    expect(Buffer.concat(sink.received).equals(data.subarray(0, 1000))).toBe(true);
  });

  it("stops and closes the file when the destination goes away mid-body", async () => {
    const b = await body();
    const sink = new CheckingSink();
    const sending = b.sendTo(sink);
    await new Promise((r) => setTimeout(r, 3));
    sink.destroy();
    const sent = await sending;
    expect(sent).toBeLessThan(data.length);
    await closed(file);
  });

  it("fails, and closes the file, when the file is shorter than promised", async () => {
    const b = await body();
    truncateSync(file, 1000);
    await expect(b.sendTo(new CheckingSink())).rejects.toThrow(/ended at 1000 of/);
    await closed(file);
    const again = await body();
    await expect(readAll(again)).rejects.toThrow(/ended at 1000 of/);
    await closed(file);
  });

  it("closes the file when destroyed unread, or while a read is in flight", async () => {
    const unread = await body();
    unread.destroy();
    await closed(file);
    const reading = await body();
    reading.resume();
    reading.destroy();
    await closed(file);
  });

  it("shares the send-buffer budget: many downloads at once get smaller buffers, all returned at the end", async () => {
    const sinks = Array.from({ length: 24 }, () => new HeldSink());
    const bodies = await Promise.all(sinks.map(() => body()));
    const sending = bodies.map((b, i) => b.sendTo(sinks[i]!));
    await Promise.all(sinks.map((s) => s.firstWrite));
    const KiB = 1024;
    // 16 downloads fill the 4 MiB budget at 256 KiB; the 8 after them read 64 KiB at a time.
    expect(sinks.map((s) => s.firstChunk / KiB)).toEqual([...Array(16).fill(256), ...Array(8).fill(64)]);
    expect(sendBuffers.lent).toBe(16 * 256 * KiB + 8 * 64 * KiB);
    for (const s of sinks) s.release();
    const sent = await Promise.all(sending);
    expect(sent).toEqual(Array(24).fill(data.length));
    for (const s of sinks) expect(Buffer.concat(s.received).equals(data)).toBe(true);
    expect(sendBuffers.lent).toBe(0);
    await closed(file);
  });

  it("returns the buffer of a download whose client left", async () => {
    const b = await body();
    const sink = new HeldSink();
    const sending = b.sendTo(sink);
    await sink.firstWrite;
    expect(sendBuffers.lent).toBe(256 * 1024);
    sink.destroy();
    expect(await sending).toBe(0);
    expect(sendBuffers.lent).toBe(0);
    await closed(file);
  });

  it("cannot be sent twice", async () => {
    const b = await body();
    const first = b.sendTo(new CheckingSink());
    await expect(b.sendTo(new CheckingSink())).rejects.toThrow(/already being read/);
    await first;
  });
});
