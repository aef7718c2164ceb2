import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { runIndexCommand } from "../../../bin/index-command";
import { DiskStorage } from "../../../lib/proxy/storage/disk";
import { IndexLog } from "../../../lib/proxy/sync/index-log";
import { IndexedStorage } from "../../../lib/proxy/sync/indexed-storage";
import { MemoryStorage } from "../sumdb/memory-storage";
import { startTestProxy } from "../../support/proxy";

/** Rebuilding /index from what the storage holds: files stored before the feed, or by other means. */

const T0 = Date.parse("2026-01-01T00:00:00Z") * 1000;

/** Module files as an older gomirror (or a copy by hand) left them: no index entries. */
async function unindexed(storage: MemoryStorage | DiskStorage): Promise<void> {
  for (const [key, body] of [
    ["example.test/b/@v/v1.0.0.mod", "module example.test/b\n"],
    ["example.test/b/@v/v1.0.0.zip", "PK"],
    ["example.test/b/@v/v1.0.0.info", "{}"],
    ["example.test/b/@v/list", "v1.0.0\n"],
    ["example.test/!upper/@v/v2.0.0+incompatible.mod", "module example.test/Upper\n"],
    ["sumdb/sum.example/lookup/example.test/b@v1.0.0", "1\n"],
    ["sync/0123/state", "{}"],
  ] as const) {
    await storage.put(key, Buffer.from(body));
  }
}

const shape = (entries: { Path: string; Version: string }[]): string[] =>
  entries.map((e) => `${e.Path}@${e.Version}`);

describe("rebuilding the index from the storage", () => {
  it("adds an entry, stamped now, per module file the index does not account for, once", async () => {
    const storage = new MemoryStorage();
    await unindexed(storage);
    let now = T0;
    const log = new IndexLog(storage, () => now++, false);
    expect(await log.read(0, 100)).toEqual([]); // no automatic rebuild when told not to

    expect(await log.rebuild()).toEqual({ files: 3, added: 3 });
    const entries = await log.read(0, 100);
    expect(shape(entries)).toEqual([
      "example.test/Upper@v2.0.0+incompatible",
      "example.test/b@v1.0.0",
      "example.test/b@v1.0.0",
    ]);
    expect(entries[0].Timestamp).toBe("2026-01-01T00:00:00.000000Z");
    expect(await log.rebuild()).toEqual({ files: 3, added: 0 });
  });

  it("adds only what is missing beside entries already recorded", async () => {
    const storage = new MemoryStorage();
    const indexed = new IndexedStorage(storage);
    await indexed.put("example.test/b/@v/v1.0.0.mod", Buffer.from("module example.test/b\n"), {
      ifNoneMatch: true,
    });
    // The zip arrived without the index (copied into the storage by other means).
    await storage.put("example.test/b/@v/v1.0.0.zip", Buffer.from("PK"));
    expect(await new IndexLog(storage).rebuild()).toEqual({ files: 2, added: 1 });
    expect(shape(await indexed.index.read(0, 100))).toEqual([
      "example.test/b@v1.0.0",
      "example.test/b@v1.0.0",
    ]);
  });

  it("rebuilds an index that has no entries at all by itself, on the first read", async () => {
    const storage = new MemoryStorage();
    await unindexed(storage);
    const log = new IndexLog(storage);
    expect(shape(await log.read(0, 100))).toEqual([
      "example.test/Upper@v2.0.0+incompatible",
      "example.test/b@v1.0.0",
      "example.test/b@v1.0.0",
    ]);
    // Another process (replica, restart) finds entries and rebuilds nothing.
    expect(await new IndexLog(storage).read(0, 100)).toHaveLength(3);
  });

  it("gomirror index --rebuild does it for a disk storage", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "gomirror-index-"));
    try {
      await unindexed(new DiskStorage(dir));
      let out = "";
      const io = { stdout: (t: string) => void (out += t), stderr: () => undefined, env: {}, tty: false };
      expect(await runIndexCommand(["--rebuild", `--storage=${dir}`], io)).toBe(0);
      expect(out).toBe(`index of ${dir}: 3 module files, 3 entries added\n`);
      expect(shape(await new IndexLog(new DiskStorage(dir), undefined, false).read(0, 100))).toHaveLength(3);
      out = "";
      await runIndexCommand(["--rebuild", `--storage=${dir}`], io);
      expect(out).toMatch(/ 0 entries added/);
      await expect(runIndexCommand([], io)).rejects.toThrow(/index wants --rebuild/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a mirror started over a storage filled before the feed lists it at /index", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "gomirror-index-serve-"));
    await unindexed(new DiskStorage(dir));
    const mirror = await startTestProxy({ GOPROXY: "off", GOMIRROR_STORAGE: dir });
    try {
      const res = await fetch(`${mirror.url}/index`);
      expect(res.status).toBe(200);
      const lines = (await res.text())
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as { Path: string; Version: string });
      expect(shape(lines)).toEqual([
        "example.test/Upper@v2.0.0+incompatible",
        "example.test/b@v1.0.0",
        "example.test/b@v1.0.0",
      ]);
    } finally {
      await mirror.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
