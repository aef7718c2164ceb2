import { mkdtemp, readdir, readFile, rm, utimes } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { ProxyMetrics } from "../../../lib/proxy/metrics";
import { DiskStorage } from "../../../lib/proxy/storage/disk";
import { DiskLimitStorage, type DiskLimitOptions } from "../../../lib/proxy/storage/disk-limit";
import { SERVED_INDEX_KEY } from "../../../lib/proxy/storage/served-index";
import type { Storage } from "../../../lib/proxy/storage/storage";
import { LogCapture } from "../../support/log-capture";
import { collect, readAll, runStorageConformance } from "./conformance";

async function tempRoot(): Promise<string> {
  return mkdtemp(path.join(tmpdir(), "gomirror-disk-limit-"));
}

runStorageConformance("DiskLimitStorage over DiskStorage", async () => {
  const root = await tempRoot();
  const storage = new DiskLimitStorage(new DiskStorage(root), { maxBytes: 1 << 30 });
  return {
    storage,
    cleanup: async () => {
      await storage.close();
      await rm(root, { recursive: true, force: true });
    },
    leftovers: () => readdir(path.join(root, ".tmp")).catch(() => []),
  };
});

const KiB = 1024;
const zipKey = (n: number) => `example.test/m${n}/@v/v1.0.0.zip`;
const modKey = (n: number) => `example.test/m${n}/@v/v1.0.0.mod`;
const bytes = (n: number) => Buffer.alloc(n, 1);

/** Waits until a background count has seen what the test changed. */
async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("the store was not counted again within 10 s");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Lets the eviction that a put started run to its end. */
async function settle(storage: DiskLimitStorage): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
  await storage.close();
}

describe("DiskLimitStorage: least recently served zips go first", () => {
  let root: string;
  let now: number;
  let metrics: ProxyMetrics;
  let logs: LogCapture;
  const open = (options: Partial<DiskLimitOptions> = {}, inner: Storage = new DiskStorage(root)) =>
    new DiskLimitStorage(inner, {
      maxBytes: 100 * KiB,
      now: () => now,
      minAgeMs: 0,
      metrics,
      logger: logs.logger,
      ...options,
    });

  beforeEach(async () => {
    root = await tempRoot();
    // A minute ahead of the files the test writes, whose own times are the real clock's.
    now = Date.now() + 60_000;
    metrics = new ProxyMetrics();
    logs = new LogCapture();
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const keys = async (storage: Storage) => (await collect(storage.list("example.test/"))).sort();
  const gauge = async (name: "storageBytes" | "storageEvictions" | "storageEvictedBytes") =>
    (await metrics[name].get()).values[0]?.value;

  it("evicts the zips served longest ago, down to 90% of the limit, and keeps .mod files", async () => {
    const storage = open();
    await storage.ready;
    for (let n = 1; n <= 4; n++) {
      await storage.put(modKey(n), bytes(100));
      await storage.put(zipKey(n), bytes(24 * KiB));
      now += 1000;
    }
    // Served since: m1 most recently, then m3; m2 and m4 only when they were stored.
    (await storage.get(zipKey(3)))!.body.resume();
    now += 1000;
    (await storage.get(zipKey(1)))!.body.resume();
    now += 1000;
    // 5 x 24 KiB and the .mod files pass 100 KiB; 90 KiB, the low-water mark, takes two zips away.
    await storage.put(zipKey(5), bytes(24 * KiB));
    await settle(storage);

    expect(await keys(storage)).toEqual(
      [zipKey(1), zipKey(3), zipKey(5), ...[1, 2, 3, 4].map(modKey)].sort(),
    );
    expect(storage.storedBytes).toBeLessThanOrEqual(100 * KiB);
    expect(await gauge("storageEvictions")).toBe(2);
    expect(await gauge("storageEvictedBytes")).toBe(48 * KiB);
    expect(await gauge("storageBytes")).toBe(storage.storedBytes);
    expect(logs.events("storage_evicted")).toEqual([
      expect.objectContaining({ zips: 2, bytes: 48 * KiB, maxBytes: 100 * KiB }),
    ]);
  });

  it("counts what is already on disk at startup, and evicts by file time when nothing was served", async () => {
    const disk = new DiskStorage(root);
    for (let n = 1; n <= 6; n++) {
      await disk.put(zipKey(n), bytes(20 * KiB));
      const time = new Date(Date.parse("2024-06-01T00:00:00Z") + n * 60_000);
      await utimes(path.join(root, ...zipKey(n).split("/")), time, time);
    }
    const storage = open({}, disk);
    await storage.ready;
    await settle(storage);
    expect(storage.storedBytes).toBeLessThanOrEqual(100 * KiB);
    // The oldest files went: m1, m2 (written first).
    expect(await keys(storage)).toEqual([3, 4, 5, 6].map(zipKey).sort());
  });

  it("never removes a zip while it is being read", async () => {
    const storage = open();
    await storage.ready;
    await storage.put(zipKey(1), bytes(60 * KiB));
    now += 1000;
    const reading = await storage.get(zipKey(1));
    now += 1000;
    await storage.put(zipKey(2), bytes(30 * KiB));
    now += 1000;
    await storage.put(zipKey(3), bytes(30 * KiB));
    await new Promise((resolve) => setImmediate(resolve));
    await settle(storage);
    // m1 is the least recently served, but its reader holds it: m2 went instead.
    expect(await keys(storage)).toEqual([zipKey(1), zipKey(3)].sort());
    expect((await readAll(reading!.body)).length).toBe(60 * KiB);
  });

  it("a reader that opened a zip just before it was removed still reads it to the end", async () => {
    const inner = new DiskStorage(root);
    await inner.put(zipKey(1), bytes(256 * KiB));
    // Opened behind the limit's back, as a request racing the eviction would have it.
    const early = await inner.get(zipKey(1));
    const storage = open({ maxBytes: 10 * KiB }, inner);
    await storage.ready;
    await settle(storage);
    expect(await inner.stat(zipKey(1))).toBeUndefined();
    expect((await readAll(early!.body)).equals(bytes(256 * KiB))).toBe(true);
  });

  it("answers a put before its eviction is done", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const disk = new DiskStorage(root);
    const slowDeletes: Storage = {
      get: (k) => disk.get(k),
      stat: (k) => disk.stat(k),
      put: (k, b, o) => disk.put(k, b, o),
      list: (p) => disk.list(p),
      delete: async (k) => {
        await gate;
        await disk.delete(k);
      },
    };
    const storage = open({ maxBytes: 30 * KiB }, slowDeletes);
    await storage.ready;
    await storage.put(zipKey(1), bytes(20 * KiB));
    await storage.put(zipKey(2), bytes(20 * KiB));
    // The put resolved although the deletion it started is held up.
    expect(await disk.stat(zipKey(1))).toBeDefined();
    release();
    await settle(storage);
    expect(await disk.stat(zipKey(1))).toBeUndefined();
  });

  it("keeps last-served times across restarts, in the store itself", async () => {
    const first = open();
    await first.ready;
    for (let n = 1; n <= 4; n++) {
      await first.put(zipKey(n), bytes(20 * KiB));
      now += 1000;
    }
    (await first.get(zipKey(1)))!.body.resume();
    now += 1000;
    await first.close();
    const index = await readFile(path.join(root, ...SERVED_INDEX_KEY.split("/")), "utf8");
    expect(index).toContain(`${Math.floor((now - 1000) / 1000)} ${zipKey(1)}\n`);

    // A new process: the files' own times say m1 is oldest; the index says it was served last.
    now += 60_000;
    const second = open();
    await second.ready;
    await second.put(zipKey(5), bytes(20 * KiB));
    await settle(second);
    expect(await keys(second)).toEqual([1, 3, 4, 5].map(zipKey).sort());
  });

  it("leaves zips stored or served moments ago for later, for the clients about to read them", async () => {
    const storage = open({ minAgeMs: 5000 });
    await storage.ready;
    for (let n = 1; n <= 5; n++) await storage.put(zipKey(n), bytes(24 * KiB));
    await new Promise((resolve) => setImmediate(resolve));
    expect((await keys(storage)).length).toBe(5);
    now += 5001;
    await storage.put(modKey(1), bytes(100));
    await settle(storage);
    expect(await keys(storage)).toEqual([modKey(1), ...[3, 4, 5].map(zipKey)].sort());
    expect(logs.events("storage_full")).toEqual([]);
  });

  it("tries again by itself once the youngest zips have aged", async () => {
    const storage = open({ minAgeMs: 300, now: Date.now });
    await storage.ready;
    for (let n = 1; n <= 5; n++) await storage.put(zipKey(n), bytes(24 * KiB));
    await until(() => storage.storedBytes <= 90 * KiB);
    await settle(storage);
    expect((await keys(storage)).length).toBe(3);
  });

  it("says so once when it cannot get under the limit", async () => {
    const storage = open({ maxBytes: 1 * KiB });
    await storage.ready;
    await storage.put(modKey(1), bytes(2 * KiB));
    await storage.put(modKey(2), bytes(2 * KiB));
    await settle(storage);
    expect(await keys(storage)).toEqual([modKey(1), modKey(2)]);
    expect(logs.events("storage_full")).toHaveLength(1);
  });

  it("sees what another process stored or removed when it counts again", async () => {
    const storage = open({ rescanIntervalMs: 50 });
    await storage.ready;
    const other = new DiskStorage(root);
    for (let n = 1; n <= 3; n++) await other.put(zipKey(n), bytes(30 * KiB));
    await until(() => storage.storedBytes === 90 * KiB);
    await other.delete(zipKey(2));
    await until(() => storage.storedBytes === 60 * KiB);
    await other.put(zipKey(4), bytes(10 * KiB));
    await other.put(zipKey(5), bytes(50 * KiB));
    // Counted at 120 KiB (never 90 KiB on the way), then one 30 KiB zip evicted.
    await until(() => storage.storedBytes === 90 * KiB);
    await settle(storage);
    expect(storage.storedBytes).toBeLessThanOrEqual(100 * KiB);
    expect((await keys(storage)).length).toBe(3);
  });
});
