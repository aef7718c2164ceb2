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
import { FileBody } from "../../../lib/proxy/storage/file-body";
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

  it("cannot be sent twice", async () => {
    const b = await body();
    const first = b.sendTo(new CheckingSink());
    await expect(b.sendTo(new CheckingSink())).rejects.toThrow(/already being read/);
    await first;
  });
});
