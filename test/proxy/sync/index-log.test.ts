import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { DiskStorage } from "../../../lib/proxy/storage/disk";
import { formatTimestamp, IndexLog, parseTimestamp } from "../../../lib/proxy/sync/index-log";
import { IndexedStorage } from "../../../lib/proxy/sync/indexed-storage";
import { MemoryStorage } from "../sumdb/memory-storage";

const T0 = Date.parse("2024-05-01T23:59:59Z") * 1000;

describe("the index record of stored versions", () => {
  it("reads RFC 3339 times to the microsecond and writes them back", () => {
    expect(parseTimestamp("2024-05-01T00:00:00Z")).toBe(Date.parse("2024-05-01T00:00:00Z") * 1000);
    expect(parseTimestamp("2024-05-01T00:00:00.1234567Z") % 1_000_000).toBe(123456);
    expect(parseTimestamp("2024-05-01T02:00:00+02:00")).toBe(parseTimestamp("2024-05-01T00:00:00Z"));
    expect(formatTimestamp(T0 + 1234)).toBe("2024-05-01T23:59:59.001234Z");
    expect(() => parseTimestamp("yesterday")).toThrow(/want RFC 3339/);
    expect(() => parseTimestamp("2024-05-01")).toThrow(/RFC 3339/);
  });

  it("lists entries oldest first across days, since inclusive, up to a limit, keeping what the caller keeps", async () => {
    const storage = new MemoryStorage();
    let now = T0;
    const log = new IndexLog(storage, () => now);
    await log.append("example.test/a", "v1.0.0");
    now += 2_000_000; // the next day
    const b = await log.append("example.test/b", "v1.0.0");
    now += 1;
    await log.append("corp.example/private", "v0.1.0");
    now += 1;
    await log.append("example.test/c", "v1.0.0");

    const all = await log.read(0, 100);
    expect(all.map((e) => e.Path)).toEqual([
      "example.test/a",
      "example.test/b",
      "corp.example/private",
      "example.test/c",
    ]);
    expect(all[1]).toEqual({
      Path: "example.test/b",
      Version: "v1.0.0",
      Timestamp: "2024-05-02T00:00:01.000000Z",
    });
    expect((await log.read(parseTimestamp(b.Timestamp), 100)).map((e) => e.Path)[0]).toBe("example.test/b");
    expect(await log.read(0, 2)).toHaveLength(2);
    const publicOnly = await log.read(0, 3, (e) => !e.Path.startsWith("corp.example/"));
    expect(publicOnly.map((e) => e.Path)).toEqual(["example.test/a", "example.test/b", "example.test/c"]);
    expect(await log.read(now + 1, 10)).toEqual([]);
  });

  it("stamps entries by the wall clock, which `--since` is read against, strictly increasing", async () => {
    // A monotonic clock drifts from the wall clock over a long-running process; setting the
    // wall clock to a day in 2024 shows which one the stamps follow.
    const wall = jest.spyOn(Date, "now").mockReturnValue(T0 / 1000);
    try {
      const log = new IndexLog(new MemoryStorage());
      const first = await log.append("example.test/a", "v1.0.0");
      const second = await log.append("example.test/b", "v1.0.0");
      expect(first.Timestamp).toBe("2024-05-01T23:59:59.000000Z");
      expect(second.Timestamp).toBe("2024-05-01T23:59:59.000001Z");
    } finally {
      wall.mockRestore();
    }
  });

  it("takes entries from two writers at the same instant without losing one (disk)", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "gomirror-index-"));
    try {
      const storage = new DiskStorage(dir);
      const one = new IndexLog(storage, () => T0);
      const two = new IndexLog(storage, () => T0);
      await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 ? one : two).append(`example.test/m${i}`, "v1.0.0")),
      );
      const read = await new IndexLog(storage).read(0, 100);
      expect(new Set(read.map((e) => e.Path)).size).toBe(20);
      // Each writer's own entries never tie: its clock is made strictly increasing.
      expect(new Set(read.map((e) => e.Timestamp)).size).toBe(10);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("writes entries appended while it writes as one object, and reads them back in time order", async () => {
    const storage = new MemoryStorage();
    let now = T0 - 10_000_000;
    const log = new IndexLog(storage, () => now++);
    const written = await Promise.all(
      Array.from({ length: 40 }, (_, i) => log.append(`example.test/m${i}`, "v1.0.0")),
    );
    const objects: string[] = [];
    for await (const key of storage.list("index/2024-05-01/")) objects.push(key);
    // The first append is written alone; the 39 that came meanwhile go in one more object.
    expect(objects).toHaveLength(2);
    const read = await new IndexLog(storage).read(0, 100);
    expect(read).toEqual(written);
    // `since` inside an object: its earlier entries are left out, its later ones kept.
    const since = parseTimestamp(written[20]!.Timestamp);
    expect(await new IndexLog(storage).read(since, 100)).toEqual(written.slice(20));
    expect(await new IndexLog(storage).read(since, 5)).toEqual(written.slice(20, 25));
  });

  it("pages through two writers' interleaved objects without skipping an entry", async () => {
    const storage = new MemoryStorage();
    // One writer's burst goes into one object spanning the other's one-entry objects in time.
    let a = T0 - 10_000_000;
    let b = a + 1;
    const batched = new IndexLog(storage, () => (a += 2));
    const single = new IndexLog(storage, () => (b += 2));
    const burst = Promise.all(
      Array.from({ length: 51 }, (_, i) => batched.append(`example.test/a${i}`, "v1.0.0")),
    );
    for (let i = 0; i < 51; i++) await single.append(`example.test/b${i}`, "v1.0.0");
    await burst;
    const reader = new IndexLog(storage);
    const all = await reader.read(0, 1000);
    expect(all).toHaveLength(102);
    const paged: string[] = [];
    let since = 0;
    for (let page = 0; page < 20; page++) {
      const got = await reader.read(since, 20);
      if (got.length === 0) break;
      paged.push(...got.map((e) => e.Path));
      since = parseTimestamp(got[got.length - 1]!.Timestamp) + 1;
    }
    expect(paged).toEqual(all.map((e) => e.Path));
  });

  it("still reads the one-entry objects older versions wrote", async () => {
    const storage = new MemoryStorage();
    const entry = { Path: "example.test/old", Version: "v1.0.0", Timestamp: formatTimestamp(T0) };
    await storage.put("index/days/2024-05-01", Buffer.alloc(0));
    await storage.put(
      `index/2024-05-01/${String(T0).padStart(16, "0")}-0123456789ab`,
      Buffer.from(JSON.stringify(entry)),
    );
    const log = new IndexLog(storage, () => T0 + 1);
    await log.append("example.test/new", "v1.0.0");
    expect((await log.read(0, 10)).map((e) => e.Path)).toEqual(["example.test/old", "example.test/new"]);
  });

  it("records newly stored .mod and .zip files only", async () => {
    const storage = new IndexedStorage(new MemoryStorage());
    await storage.put("example.test/!upper/@v/v1.0.0.mod", Buffer.from("module example.test/Upper\n"), {
      ifNoneMatch: true,
    });
    await storage.put("example.test/!upper/@v/v1.0.0.mod", Buffer.from("again"), { ifNoneMatch: true });
    await storage.put("example.test/!upper/@v/v1.0.0.info", Buffer.from("{}"));
    await storage.put("example.test/!upper/@v/list", Buffer.from("v1.0.0\n"));
    await storage.put("sumdb/sum.example/lookup/x.test/a@v1.0.0", Buffer.from("1\n"));
    await storage.put("example.test/!upper/@v/v1.0.0.zip", Buffer.from("PK"), { ifNoneMatch: true });
    const entries = await storage.index.read(0, 10);
    expect(entries.map((e) => `${e.Path}@${e.Version}`)).toEqual([
      "example.test/Upper@v1.0.0",
      "example.test/Upper@v1.0.0",
    ]);
  });
});
