import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { PassThrough, Readable } from "node:stream";
import { setTimeout as delay } from "node:timers/promises";
import { CachedSource } from "../../../lib/proxy/cache/cached-source";
import { storageKeys } from "../../../lib/proxy/cache/keys";
import { SingleFlight } from "../../../lib/proxy/cache/single-flight";
import { SpoolDirectory } from "../../../lib/proxy/cache/spool-directory";
import { hashZipFile } from "../../../lib/proxy/module/dirhash";
import type { Download } from "../../../lib/proxy/sources/source";
import { VerifyingSource, type ChecksumDatabase } from "../../../lib/proxy/sumdb/verify";
import { ProxyError } from "../../../lib/proxy/errors";
import { silentLogger } from "../../../lib/proxy/logger";
import { ProxyMetrics } from "../../../lib/proxy/metrics";
import { DiskStorage } from "../../../lib/proxy/storage/disk";
import type {
  ObjectInfo,
  PutOptions,
  PutResult,
  Storage,
  StoredObject,
} from "../../../lib/proxy/storage/storage";
import { brokenDownload, FakeSource, readStream } from "../../support/fake-source";
import { FaultyStorage } from "../../support/faulty-storage";
import { WrappedStorage } from "../../support/wrapped-storage";
import { makeModuleZip } from "../../support/module-zip";

const M = "example.test/Upper/m";
let ZIP: Buffer;
let ZIP_HASH: string;
beforeAll(async () => {
  ZIP = await makeModuleZip(M, "v1.0.0", { fillerBytes: 300 * 1024 });
  const dir = mkdtempSync(path.join(tmpdir(), "gomirror-cache-hash-"));
  writeFileSync(path.join(dir, "m.zip"), ZIP);
  ZIP_HASH = await hashZipFile(path.join(dir, "m.zip"));
  rmSync(dir, { recursive: true, force: true });
});

/** A checksum database that knows one hash for every zip. */
function databaseWith(zipHash: string): ChecksumDatabase {
  return {
    name: "sumdb.example.test",
    lookup: async () => ({ id: 1, zipHash, modHash: undefined, raw: Buffer.alloc(0) }),
  };
}

/** A zip download whose bytes come as the test lets them: `half()`, then `rest()`. */
function gatedZip(data: Buffer): { download: Download; half(): void; rest(): void } {
  const body = new PassThrough();
  const middle = Math.floor(data.length / 2);
  return {
    download: { body, size: data.length },
    half: () => body.write(data.subarray(0, middle)),
    rest: () => body.end(data.subarray(middle)),
  };
}

/** Reads what `stream` has within `ms`, without waiting for its end. */
async function readFor(stream: Readable, ms: number): Promise<number> {
  let got = 0;
  const onData = (chunk: Buffer): void => void (got += chunk.length);
  stream.on("data", onData);
  await delay(ms);
  stream.off("data", onData);
  stream.pause();
  return got;
}

/** `streamAfterBytes`: below it a zip is fetched into memory, above it through a spool file. */
function setup(ttlSeconds = 60, streamAfterBytes?: number) {
  const dir = mkdtempSync(path.join(tmpdir(), "gomirror-cache-"));
  const storage = new DiskStorage(dir);
  const inner = new FakeSource({
    [M]: {
      versions: ["v1.0.0", "v1.1.0"],
      mods: { "v1.0.0": "module example.test/Upper/m\n" },
      zips: { "v1.0.0": ZIP },
    },
  });
  const clock = { now: 1_700_000_000_000 };
  const metrics = new ProxyMetrics();
  const cached = new CachedSource(inner, storage, {
    ttlSeconds,
    logger: silentLogger(),
    metrics,
    now: () => clock.now,
    spools: new SpoolDirectory({ root: dir }),
    ...(streamAfterBytes === undefined ? {} : { streamAfterBytes }),
  });
  return {
    dir,
    storage,
    inner,
    cached,
    clock,
    metrics,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

async function counter(
  metrics: ProxyMetrics,
  name: "cacheHits" | "cacheMisses",
  kind: string,
): Promise<number> {
  const values = (await metrics[name].get()).values;
  return values.find((v) => v.labels.kind === kind)?.value ?? 0;
}

// The 300 KiB zip of these tests is held in memory by default, spooled when it is over streamAfterBytes.
describe.each([
  ["held in memory", undefined],
  ["spooled", 64 * 1024],
])("CachedSource, its zip %s", (_how, streamAfterBytes) => {
  let t: ReturnType<typeof setup>;
  beforeEach(() => (t = setup(60, streamAfterBytes)));
  afterEach(async () => {
    await t.cached.drain();
    t.cleanup();
  });

  it("stores immutable files once and never asks the source again", async () => {
    expect((await t.cached.mod(M, "v1.0.0")).toString()).toBe("module example.test/Upper/m\n");
    t.clock.now += 365 * 24 * 3600 * 1000;
    t.inner.failure = new ProxyError("upstream", "down");
    expect((await t.cached.mod(M, "v1.0.0")).toString()).toBe("module example.test/Upper/m\n");
    expect(t.inner.count("mod")).toBe(1);
    expect(await counter(t.metrics, "cacheHits", "mod")).toBe(1);
    expect(await counter(t.metrics, "cacheMisses", "mod")).toBe(1);
  });

  it("keeps the stored bytes under the escaped GOPROXY layout", async () => {
    await t.cached.mod(M, "v1.0.0");
    await t.cached.drain(); // small files are stored after their answer went out
    expect(storageKeys.mod(M, "v1.0.0")).toBe("example.test/!upper/m/@v/v1.0.0.mod");
    expect(await t.storage.stat("example.test/!upper/m/@v/v1.0.0.mod")).toMatchObject({ size: 28 });
  });

  it("serves a fresh canonical .info from storage and checks that the source echoes the version", async () => {
    await expect(t.cached.info(M, "v1.0.0")).resolves.toEqual({
      Version: "v1.0.0",
      Time: "2024-01-02T03:04:05Z",
    });
    await t.cached.info(M, "v1.0.0");
    expect(t.inner.count("info")).toBe(1);
  });

  it("refuses a canonical .info whose answer names another version", async () => {
    const liar = new FakeSource({ [M]: { versions: ["v1.0.1"] } });
    liar.info = async () => ({ Version: "v1.0.1", Time: "2024-01-02T03:04:05Z" });
    const cached = new CachedSource(liar, t.storage, { ttlSeconds: 60, logger: silentLogger() });
    await expect(cached.info(M, "v1.0.0")).rejects.toMatchObject({ kind: "upstream" });
    expect(await t.storage.stat(storageKeys.info(M, "v1.0.0"))).toBeUndefined();
  });

  it("refreshes list, @latest and queries after the TTL", async () => {
    await t.cached.list(M);
    await t.cached.latest(M);
    await t.cached.info(M, "v1");
    t.clock.now += 59_000;
    await t.cached.list(M);
    await t.cached.latest(M);
    await t.cached.info(M, "v1");
    expect([t.inner.count("list"), t.inner.count("latest"), t.inner.count("info")]).toEqual([1, 1, 1]);
    t.clock.now += 2_000;
    await t.cached.list(M);
    await t.cached.latest(M);
    await t.cached.info(M, "v1");
    expect([t.inner.count("list"), t.inner.count("latest"), t.inner.count("info")]).toEqual([2, 2, 2]);
  });

  it("answers a query with the version it resolves to, and remembers that version's .info", async () => {
    await expect(t.cached.info(M, "v1")).resolves.toMatchObject({ Version: "v1.1.0" });
    t.inner.failure = new ProxyError("upstream", "down");
    await expect(t.cached.info(M, "v1.1.0")).resolves.toMatchObject({ Version: "v1.1.0" });
  });

  it("serves a stale list when every source fails", async () => {
    await t.cached.list(M);
    t.clock.now += 3600_000;
    t.inner.failure = new ProxyError("upstream", "connection refused");
    await expect(t.cached.list(M)).resolves.toEqual(["v1.0.0", "v1.1.0"]);
    expect(t.inner.count("list")).toBe(2);
  });

  it("serves a stale answer from storage after a restart (no memory)", async () => {
    await t.cached.latest(M);
    await t.cached.drain(); // stored after the answer went out
    const restarted = new CachedSource(t.inner, t.storage, {
      ttlSeconds: 1,
      logger: silentLogger(),
      now: () => Date.now() + 10_000,
    });
    t.inner.failure = new ProxyError("upstream", "timed out");
    await expect(restarted.latest(M)).resolves.toMatchObject({ Version: "v1.1.0" });
  });

  it("does not hide a not-found answer behind a stale one", async () => {
    await t.cached.list(M);
    t.clock.now += 3600_000;
    t.inner.failure = new ProxyError("not-found", "gone");
    await expect(t.cached.list(M)).rejects.toMatchObject({ kind: "not-found" });
  });

  it("fails with the source's error when nothing is stored", async () => {
    t.inner.failure = new ProxyError("upstream", "down");
    await expect(t.cached.list(M)).rejects.toMatchObject({ kind: "upstream", message: "down" });
  });

  it("makes one source call for many concurrent requests of the same missing file", async () => {
    let open!: () => void;
    t.inner.gate = new Promise((resolve) => (open = resolve));
    const mods = Array.from({ length: 20 }, () => t.cached.mod(M, "v1.0.0"));
    const lists = Array.from({ length: 20 }, () => t.cached.list(M));
    const zips = Array.from({ length: 20 }, () => t.cached.zip(M, "v1.0.0").then((d) => readStream(d.body)));
    await new Promise((resolve) => setTimeout(resolve, 20));
    open();
    const zipBodies = await Promise.all(zips);
    await Promise.all([...mods, ...lists]);
    expect(t.inner.count("mod")).toBe(1);
    expect(t.inner.count("list")).toBe(1);
    expect(t.inner.count("zip")).toBe(1);
    const want = createHash("sha256").update(ZIP).digest("hex");
    for (const body of zipBodies) expect(createHash("sha256").update(body).digest("hex")).toBe(want);
  });

  it("streams a zip to the first client while storing it, and serves later ones from storage", async () => {
    const first = await t.cached.zip(M, "v1.0.0");
    expect(first.size).toBe(ZIP.length);
    expect((await readStream(first.body)).equals(ZIP)).toBe(true);
    await t.cached.drain();
    const second = await t.cached.zip(M, "v1.0.0");
    expect((await readStream(second.body)).equals(ZIP)).toBe(true);
    expect(t.inner.count("zip")).toBe(1);
    expect(await counter(t.metrics, "cacheHits", "zip")).toBe(1);
  });

  it("stores nothing when a zip download breaks off, and the client sees an error, not a short zip", async () => {
    t.inner.zip = async () => brokenDownload(ZIP.subarray(0, 1000), ZIP.length);
    const read = t.cached.zip(M, "v1.0.0").then((download) => readStream(download.body));
    await expect(read).rejects.toThrow(/upstream sent 1000/);
    await t.cached.drain();
    expect(await t.storage.stat(storageKeys.zip(M, "v1.0.0"))).toBeUndefined();
    const keys: string[] = [];
    for await (const key of t.storage.list("")) keys.push(key);
    expect(keys).toEqual([]);
  });

  it("survives a zip body that fails before the cache has started reading it", async () => {
    t.inner.zip = async () => {
      const body = new Readable({ read() {} });
      // Fails while the cache is still preparing (its spool), before it reads a byte.
      process.nextTick(() => body.destroy(new ProxyError("upstream", "connection reset")));
      return { body, size: ZIP.length };
    };
    const outcome = await t.cached
      .zip(M, "v1.0.0")
      .then((download) => readStream(download.body))
      .catch((err: unknown) => err);
    expect(outcome).toMatchObject({ kind: "upstream", message: "connection reset" });
    await t.cached.drain();
    expect(await t.storage.stat(storageKeys.zip(M, "v1.0.0"))).toBeUndefined();
  });

  it("refuses a zip that is not a module zip: not stored, the client told why", async () => {
    const wrongPrefix = await makeModuleZip("example.test/other", "v1.0.0");
    for (const bad of [Buffer.from("this is not a zip file at all"), wrongPrefix]) {
      t.inner.zip = async () => ({ body: Readable.from([bad]), size: bad.length });
      await expect(t.cached.zip(M, "v1.0.0")).rejects.toThrow(/not a valid zip file|does not have prefix/);
      await t.cached.drain();
      expect(await t.storage.stat(storageKeys.zip(M, "v1.0.0"))).toBeUndefined();
    }
  });

  it("does not let a first client that stops reading hold up the download for others", async () => {
    const stalled = await t.cached.zip(M, "v1.0.0"); // never read
    const other = await t.cached.zip(M, "v1.0.0");
    expect((await readStream(other.body)).equals(ZIP)).toBe(true);
    expect(t.inner.count("zip")).toBe(1);
    // The stalled client can still read the whole zip later.
    expect((await readStream(stalled.body)).equals(ZIP)).toBe(true);
  }, 10_000);

  it("still answers when the storage fails, fetching from the source instead", async () => {
    const broken = {
      get: async () => Promise.reject(new Error("EIO: storage unreachable")),
      stat: async () => Promise.reject(new Error("EIO: storage unreachable")),
      put: async () => Promise.reject(new Error("ENOSPC: no space left")),
      delete: async () => undefined,
      list: async function* () {},
    };
    const cached = new CachedSource(t.inner, broken, { ttlSeconds: 60, logger: silentLogger() });
    expect((await cached.mod(M, "v1.0.0")).toString()).toBe("module example.test/Upper/m\n");
    await expect(cached.list(M)).resolves.toEqual(["v1.0.0", "v1.1.0"]);
    await expect(cached.info(M, "v1.0.0")).resolves.toMatchObject({ Version: "v1.0.0" });
  });

  it("streams a public zip to its client as it comes, verified with one spool before the last byte", async () => {
    const gate = gatedZip(ZIP);
    t.inner.zip = async () => gate.download;
    const verified = new VerifyingSource(t.inner, { database: databaseWith(ZIP_HASH) });
    const spools = new SpoolDirectory({ root: t.dir });
    const cached = new CachedSource(verified, t.storage, {
      ttlSeconds: 60,
      logger: silentLogger(),
      spools,
      streamAfterBytes: 64 * 1024,
    });
    gate.half();
    const download = await Promise.race([cached.zip(M, "v1.0.0"), delay(2000).then(() => undefined)]);
    expect(download).toBeDefined(); // answered while the upstream has sent half
    const early = await readFor(download!.body, 200);
    expect(early).toBeGreaterThan(0);
    expect(early).toBeLessThanOrEqual(Math.floor(ZIP.length / 2));
    gate.rest();
    const rest = await readStream(download!.body);
    expect(Buffer.concat([ZIP.subarray(0, early), rest]).equals(ZIP)).toBe(true);
    await cached.drain();
    expect(await t.storage.stat(storageKeys.zip(M, "v1.0.0"))).toMatchObject({ size: ZIP.length });
  });

  it("refuses a tampered public zip with the reason, before its client has a byte, and stores nothing", async () => {
    const verified = new VerifyingSource(t.inner, { database: databaseWith("h1:somethingElse=") });
    const spools = new SpoolDirectory({ root: t.dir });
    const cached = new CachedSource(verified, t.storage, { ttlSeconds: 60, logger: silentLogger(), spools });
    await expect(cached.zip(M, "v1.0.0")).rejects.toMatchObject({
      kind: "security",
      message: expect.stringMatching(/checksum mismatch/),
    });
    await cached.drain();
    expect(await t.storage.stat(storageKeys.zip(M, "v1.0.0"))).toBeUndefined();
  });

  it("cuts a large tampered public zip short of its last byte, and stores nothing", async () => {
    const verified = new VerifyingSource(t.inner, { database: databaseWith("h1:somethingElse=") });
    const cached = new CachedSource(verified, t.storage, {
      ttlSeconds: 60,
      logger: silentLogger(),
      streamAfterBytes: 64 * 1024,
      spools: new SpoolDirectory({ root: t.dir }),
    });
    const download = await cached.zip(M, "v1.0.0");
    let got = 0;
    download.body.on("data", (chunk: Buffer) => (got += chunk.length));
    await expect(readStream(download.body)).rejects.toMatchObject({ kind: "security" });
    expect(got).toBeLessThan(ZIP.length);
    await cached.drain();
    expect(await t.storage.stat(storageKeys.zip(M, "v1.0.0"))).toBeUndefined();
  });

  it.each(["read-only", "full"] as const)(
    "does not cut off a slow client when the %s storage refuses the zip",
    async (fault) => {
      const storage = new FaultyStorage(t.storage);
      storage.fault = fault;
      const metrics = new ProxyMetrics();
      const spools = new SpoolDirectory({ root: t.dir });
      const cached = new CachedSource(t.inner, storage, {
        ttlSeconds: 60,
        logger: silentLogger(),
        metrics,
        spools,
      });
      const download = await cached.zip(M, "v1.0.0");
      // The client reads one chunk, stalls (far behind) while the store fails, then reads the rest.
      const early = await new Promise<number>((resolve) =>
        download.body.once("data", (chunk: Buffer) => {
          download.body.pause();
          resolve(chunk.length);
        }),
      );
      await cached.drain();
      expect(storage.failedPuts).toBe(1);
      const rest = await readStream(download.body);
      expect(early + rest.length).toBe(ZIP.length);
      expect(await t.storage.stat(storageKeys.zip(M, "v1.0.0"))).toBeUndefined();
      expect((await metrics.cacheWriteFailures.get()).values).toEqual([
        expect.objectContaining({ labels: { kind: "zip" }, value: 1 }),
      ]);
    },
  );

  it("refuses a new cold zip with 'unavailable' while downloads in progress fill the spool space", async () => {
    const other = await makeModuleZip(M, "v1.1.0", { fillerBytes: 300 * 1024 });
    const gate = gatedZip(ZIP);
    t.inner.zip = async (_p, version) =>
      version === "v1.0.0" ? gate.download : { body: Readable.from([other]), size: other.length };
    const spools = new SpoolDirectory({ root: t.dir, maxBytes: ZIP.length + 1000 });
    const cached = new CachedSource(t.inner, t.storage, {
      ttlSeconds: 60,
      logger: silentLogger(),
      spools,
      streamAfterBytes: 64 * 1024,
    });
    gate.half();
    const first = await cached.zip(M, "v1.0.0");
    await expect(cached.zip(M, "v1.1.0")).rejects.toMatchObject({ kind: "unavailable" });
    gate.rest();
    expect((await readStream(first.body)).equals(ZIP)).toBe(true);
    await cached.drain();
    expect((await readStream((await cached.zip(M, "v1.1.0")).body)).equals(other)).toBe(true);
    await cached.drain();
  });

  it("fails a cold zip with 'unavailable' before its first byte when the spool disk is full", async () => {
    const spools = new SpoolDirectory({
      root: t.dir,
      open: async () => ({
        read: async () => ({ bytesRead: 0 }),
        close: async () => undefined,
        write: async () => Promise.reject(Object.assign(new Error("ENOSPC: injected"), { code: "ENOSPC" })),
      }),
    });
    const cached = new CachedSource(t.inner, t.storage, {
      ttlSeconds: 60,
      logger: silentLogger(),
      spools,
      streamAfterBytes: 64 * 1024,
    });
    await expect(cached.zip(M, "v1.0.0")).rejects.toMatchObject({ kind: "unavailable" });
    expect(spools.bytesInUse).toBe(0);
  });

  it("fetches a zip no larger than streamAfterBytes into memory: no spool file, its size held in the budget until stored", async () => {
    let opened = 0;
    const spools = new SpoolDirectory({
      root: t.dir,
      open: async () => {
        opened++;
        throw new Error("a small zip must not be spooled");
      },
    });
    let release!: () => void;
    const storing = new Promise<void>((resolve) => (release = resolve));
    const slow: Storage = Object.create(t.storage) as Storage;
    slow.put = async (key, body, options) => {
      await storing;
      return t.storage.put(key, body, options);
    };
    const cached = new CachedSource(t.inner, slow, { ttlSeconds: 60, logger: silentLogger(), spools });
    const download = await cached.zip(M, "v1.0.0");
    expect(download.data?.equals(ZIP)).toBe(true);
    expect(spools.bytesInUse).toBe(ZIP.length);
    release();
    await cached.drain();
    expect(spools.bytesInUse).toBe(0);
    expect(opened).toBe(0);
    expect(await t.storage.stat(storageKeys.zip(M, "v1.0.0"))).toMatchObject({ size: ZIP.length });
  });

  it("refuses a small zip whose body is shorter than declared, and stores nothing", async () => {
    t.inner.zip = async () => ({ body: Readable.from([ZIP.subarray(0, 1000)]), size: ZIP.length });
    await expect(t.cached.zip(M, "v1.0.0")).rejects.toMatchObject({ kind: "upstream" });
    await t.cached.drain();
    expect(await t.storage.stat(storageKeys.zip(M, "v1.0.0"))).toBeUndefined();
  });

  it("keeps storing a zip when its first client goes away", async () => {
    const download = await t.cached.zip(M, "v1.0.0");
    download.body.destroy();
    await t.cached.drain();
    const stored = await t.storage.get(storageKeys.zip(M, "v1.0.0"));
    expect(stored && (await readStream(stored.body)).equals(ZIP)).toBe(true);
  });

  it("tells followers of a failed zip download the same error", async () => {
    let open!: () => void;
    t.inner.gate = new Promise((resolve) => (open = resolve));
    t.inner.failure = new ProxyError("upstream", "upstream answered 500");
    const all = Array.from({ length: 5 }, () => t.cached.zip(M, "v1.0.0"));
    await new Promise((resolve) => setTimeout(resolve, 20));
    open();
    for (const p of all) await expect(p).rejects.toMatchObject({ message: "upstream answered 500" });
    expect(t.inner.count("zip")).toBe(1);
  });
});

/** Counts what reaches storage, to tell memory hits from storage hits. */
class CountingStorage extends WrappedStorage {
  gets = 0;
  stats = 0;
  failStat = false;
  override get(key: string): Promise<StoredObject | undefined> {
    this.gets++;
    return this.inner.get(key);
  }
  override stat(key: string): Promise<ObjectInfo | undefined> {
    this.stats++;
    if (this.failStat) return Promise.reject(new Error("EIO: storage unreachable"));
    return this.inner.stat(key);
  }
}

/** A storage whose reads can be held (each answered as it was when asked) and whose writes can wait. */
class HeldStorage extends WrappedStorage {
  gets: Promise<void> | undefined;
  puts: Promise<void> | undefined;
  override get(key: string): Promise<StoredObject | undefined> {
    const answer = this.inner.get(key);
    return this.gets ? this.gets.then(() => answer) : answer;
  }
  override async put(key: string, body: Readable | Buffer, options?: PutOptions): Promise<PutResult> {
    if (this.puts) await this.puts;
    return this.inner.put(key, body, options);
  }
}

describe("CachedSource memory", () => {
  let t: ReturnType<typeof setup>;
  let storage: CountingStorage;
  beforeEach(() => {
    t = setup();
    storage = new CountingStorage(t.storage);
  });
  /** Caches made by a test: drained (their stores done) before the directory goes. */
  const caches: CachedSource[] = [];
  afterEach(async () => {
    await Promise.all(caches.splice(0).map((c) => c.drain()));
    t.cleanup();
  });

  function cachedWith(memoryBytes?: number, over: Storage = storage): CachedSource {
    const cached = new CachedSource(t.inner, over, {
      ttlSeconds: 60,
      logger: silentLogger(),
      memoryBytes,
      now: () => t.clock.now,
      spools: new SpoolDirectory({ root: t.dir }),
    });
    caches.push(cached);
    return cached;
  }

  async function storeZip(): Promise<void> {
    await t.storage.put(storageKeys.zip(M, "v1.0.0"), ZIP, { ifNoneMatch: true });
  }

  it.each([
    ["its answer in memory", undefined],
    ["its answer still being stored, no memory cache", 0],
  ])(
    "does not fetch again a file whose fetch ended while storage was asked: %s",
    async (_how, memoryBytes) => {
      const held = new HeldStorage(t.storage);
      const cached = cachedWith(memoryBytes, held);
      let openSource!: () => void;
      let openGets!: () => void;
      let openPuts!: () => void;
      t.inner.gate = new Promise((resolve) => (openSource = resolve));
      held.puts = new Promise((resolve) => (openPuts = resolve));
      const first = cached.mod(M, "v1.0.0");
      await delay(20);
      // The second request finds nothing in memory and asks storage, which has nothing yet ...
      held.gets = new Promise((resolve) => (openGets = resolve));
      const second = cached.mod(M, "v1.0.0");
      await delay(20);
      // ... and hears so only after the first request's fetch has ended.
      openSource();
      expect((await first).toString()).toBe("module example.test/Upper/m\n");
      openGets();
      await delay(20);
      openPuts();
      expect((await second).toString()).toBe("module example.test/Upper/m\n");
      expect(t.inner.count("mod")).toBe(1);
    },
  );

  it("keeps a small zip it fetched in memory once stored: the next request reads no storage", async () => {
    const cached = cachedWith();
    expect((await cached.zip(M, "v1.0.0")).data?.equals(ZIP)).toBe(true);
    await cached.drain();
    const gets = storage.gets;
    const hit = await cached.zip(M, "v1.0.0");
    expect(hit.data?.equals(ZIP)).toBe(true);
    expect(storage.gets).toBe(gets);
    expect(t.inner.count("zip")).toBe(1);
  });

  it("answers later hits of a small stored zip from memory, with no storage call", async () => {
    await storeZip();
    const cached = cachedWith();
    const first = await cached.zip(M, "v1.0.0");
    expect(first.data?.equals(ZIP)).toBe(true);
    expect(storage.gets).toBe(1);
    for (let i = 0; i < 5; i++) {
      const hit = await cached.zip(M, "v1.0.0");
      expect(hit.data?.equals(ZIP)).toBe(true);
      expect(hit.size).toBe(ZIP.length);
      // A consumer that wants a stream still gets one, with the same bytes.
      if (i === 0) expect((await readStream(hit.body)).equals(ZIP)).toBe(true);
    }
    expect(storage.gets).toBe(1);
    expect(t.inner.count("zip")).toBe(0);
  });

  it("streams a zip too large for memory from storage on every hit", async () => {
    await storeZip();
    // 1 MiB of memory keeps files up to 64 KiB; the zip is larger.
    const cached = cachedWith(1024 * 1024);
    for (let i = 0; i < 3; i++) {
      const hit = await cached.zip(M, "v1.0.0");
      expect(hit.data).toBeUndefined();
      expect((await readStream(hit.body)).equals(ZIP)).toBe(true);
    }
    expect(storage.gets).toBe(3);
  });

  it("keeps nothing in memory when its size is 0", async () => {
    await storeZip();
    const cached = cachedWith(0);
    await cached.mod(M, "v1.0.0");
    await cached.drain(); // stored after the answer went out
    await cached.mod(M, "v1.0.0");
    await readStream((await cached.zip(M, "v1.0.0")).body);
    await readStream((await cached.zip(M, "v1.0.0")).body);
    // Every call reached storage: the first .mod missed there and was fetched.
    expect(storage.gets).toBe(4);
    expect(t.inner.count("mod")).toBe(1);
  });

  it("stops serving a file deleted from storage within a few seconds, and fetches it again", async () => {
    await storeZip();
    const cached = cachedWith();
    await cached.zip(M, "v1.0.0");
    await cached.mod(M, "v1.0.0");
    await cached.drain(); // stored after the answer went out
    await t.storage.delete(storageKeys.zip(M, "v1.0.0"));
    await t.storage.delete(storageKeys.mod(M, "v1.0.0"));
    // Within the revalidation time, memory answers without asking storage.
    t.clock.now += 4000;
    expect((await cached.zip(M, "v1.0.0")).data?.equals(ZIP)).toBe(true);
    await cached.mod(M, "v1.0.0");
    expect(storage.stats).toBe(0);
    expect(t.inner.count("zip")).toBe(0);
    t.clock.now += 2000;
    // Past it, storage is asked, says the files are gone, and they are fetched again.
    expect((await readStream((await cached.zip(M, "v1.0.0")).body)).equals(ZIP)).toBe(true);
    expect((await cached.mod(M, "v1.0.0")).toString()).toBe("module example.test/Upper/m\n");
    expect(t.inner.count("zip")).toBe(1);
    expect(t.inner.count("mod")).toBe(2);
  });

  it("drops a remembered file that storage now holds with another size", async () => {
    await storeZip();
    const cached = cachedWith();
    await cached.zip(M, "v1.0.0");
    const other = Buffer.concat([ZIP, Buffer.from("x")]);
    await t.storage.put(storageKeys.zip(M, "v1.0.0"), other);
    t.clock.now += 6000;
    expect((await cached.zip(M, "v1.0.0")).data?.equals(other)).toBe(true);
  });

  it("asks storage once per revalidation and keeps serving when storage cannot answer", async () => {
    await storeZip();
    const cached = cachedWith();
    await cached.zip(M, "v1.0.0");
    t.clock.now += 6000;
    storage.failStat = true;
    const hits = await Promise.all(Array.from({ length: 10 }, () => cached.zip(M, "v1.0.0")));
    for (const hit of hits) expect(hit.data?.equals(ZIP)).toBe(true);
    expect(storage.stats).toBe(1);
    expect(storage.gets).toBe(1);
  });
});

describe("SingleFlight", () => {
  it("runs again after the first call settled", async () => {
    const flight = new SingleFlight<number>();
    let calls = 0;
    const fn = async () => ++calls;
    expect(await Promise.all([flight.do("k", fn), flight.do("k", fn)])).toEqual([1, 1]);
    expect(await flight.do("k", fn)).toBe(2);
    expect(flight.size).toBe(0);
  });
});
