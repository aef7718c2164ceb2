import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { CachedSource } from "../../../lib/proxy/cache/cached-source";
import { storageKeys } from "../../../lib/proxy/cache/keys";
import { Prefetcher, type PrefetchMode, type PrefetchOutcome } from "../../../lib/proxy/cache/prefetch";
import { SpoolDirectory } from "../../../lib/proxy/cache/spool-directory";
import { notFound } from "../../../lib/proxy/errors";
import { createLogger, silentLogger } from "../../../lib/proxy/logger";
import { ProxyMetrics } from "../../../lib/proxy/metrics";
import { DiskStorage } from "../../../lib/proxy/storage/disk";
import { FakeSource, readStream } from "../../support/fake-source";
import { makeModuleZip } from "../../support/module-zip";

/** A promise with its resolve function, to hold a job until the test lets it go. */
function held(): { promise: Promise<void>; release(): void } {
  let release!: () => void;
  const promise = new Promise<void>((resolve) => (release = resolve));
  return { promise, release };
}

/** Counts what a Prefetcher reports, as "kind outcome". */
function tally() {
  const seen: string[] = [];
  return {
    seen,
    counter: { inc: (l: { kind: string; outcome: string }) => void seen.push(`${l.kind} ${l.outcome}`) },
  };
}

async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await check()) return;
    await delay(10);
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe("Prefetcher", () => {
  it("runs at most `concurrency` jobs at once, the rest in the order they came", async () => {
    const { seen, counter } = tally();
    const p = new Prefetcher({ logger: silentLogger(), concurrency: 2, counter });
    const gates = [held(), held(), held(), held()];
    const started: number[] = [];
    gates.forEach((g, i) =>
      p.schedule(`k${i}`, "zip", async () => {
        started.push(i);
        await g.promise;
        return "fetched";
      }),
    );
    await delay(5);
    expect(started).toEqual([0, 1]);
    expect(p.pending).toBe(4);
    gates[1]!.release();
    await until(() => started.length === 3, "the third job");
    expect(started).toEqual([0, 1, 2]);
    gates.forEach((g) => g.release());
    await until(() => p.pending === 0, "every job");
    expect(started).toEqual([0, 1, 2, 3]);
    expect(seen).toEqual(["zip fetched", "zip fetched", "zip fetched", "zip fetched"]);
  });

  it("runs one job per key: a key waiting or running is not queued again", async () => {
    const p = new Prefetcher({ logger: silentLogger(), concurrency: 1 });
    const gate = held();
    let runs = 0;
    const job = async (): Promise<PrefetchOutcome> => {
      runs++;
      await gate.promise;
      return "fetched";
    };
    p.schedule("a", "info", job); // running
    p.schedule("a", "info", job);
    p.schedule("b", "info", job); // waiting
    p.schedule("b", "info", job);
    expect(p.pending).toBe(2);
    gate.release();
    await until(() => p.pending === 0, "both jobs");
    expect(runs).toBe(2);
    // Once ended, the key may be prefetched again.
    p.schedule("a", "info", job);
    await until(() => p.pending === 0, "the job again");
    expect(runs).toBe(3);
  });

  it("drops and counts a job that finds the queue full", async () => {
    const { seen, counter } = tally();
    const p = new Prefetcher({ logger: silentLogger(), concurrency: 1, maxQueued: 1, counter });
    const gate = held();
    const job = async (): Promise<PrefetchOutcome> => {
      await gate.promise;
      return "present";
    };
    p.schedule("running", "mod", job);
    p.schedule("waiting", "mod", job);
    p.schedule("dropped", "mod", job);
    expect(seen).toEqual(["mod dropped"]);
    gate.release();
    await until(() => p.pending === 0, "the jobs");
    expect(seen.sort()).toEqual(["mod dropped", "mod present", "mod present"]);
  });

  it("counts a failed job by its kind of failure, and never lets it reject", async () => {
    const { seen, counter } = tally();
    const p = new Prefetcher({ logger: silentLogger(), counter });
    p.schedule("gone", "zip", () => Promise.reject(notFound("no such version")));
    p.schedule("broken", "zip", () => Promise.reject(new Error("connection reset")));
    p.schedule("throws", "zip", () => {
      throw new Error("synchronously");
    });
    await until(() => p.pending === 0, "the jobs");
    expect(seen.sort()).toEqual(["zip failed", "zip failed", "zip not_found"]);
  });

  it("stop() forgets waiting jobs, waits for running ones, and takes no more", async () => {
    const p = new Prefetcher({ logger: silentLogger(), concurrency: 1 });
    const gate = held();
    const ran: string[] = [];
    const job = (name: string) => async (): Promise<PrefetchOutcome> => {
      ran.push(name);
      await gate.promise;
      return "fetched";
    };
    p.schedule("a", "zip", job("a"));
    p.schedule("b", "zip", job("b"));
    let stopped = false;
    const stopping = p.stop().then(() => (stopped = true));
    await delay(5);
    expect(stopped).toBe(false); // "a" still runs
    gate.release();
    await stopping;
    p.schedule("c", "zip", job("c"));
    await delay(5);
    expect(ran).toEqual(["a"]);
    expect(p.pending).toBe(0);
  });
});

const M = "example.test/prefetch/m";

describe("CachedSource prefetching", () => {
  let dir: string;
  let zip: Buffer;
  beforeAll(async () => {
    zip = await makeModuleZip(M, "v1.0.0", { fillerBytes: 2 * 1024 * 1024 });
  });
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "gomirror-prefetch-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function setup(
    prefetch: PrefetchMode | undefined,
    options: { zip?: boolean; spoolMaxBytes?: number } = {},
  ) {
    const logged: string[] = [];
    const logger = createLogger("debug", { write: (line: string) => void logged.push(line) });
    const storage = new DiskStorage(path.join(dir, "store"));
    const inner = new FakeSource({
      [M]: {
        versions: ["v1.0.0"],
        mods: { "v1.0.0": `module ${M}\n` },
        zips: options.zip === false ? {} : { "v1.0.0": zip },
      },
    });
    const metrics = new ProxyMetrics();
    const spools = new SpoolDirectory({ root: dir, maxBytes: options.spoolMaxBytes });
    const cached = new CachedSource(inner, storage, {
      ttlSeconds: 60,
      logger,
      metrics,
      spools,
      ...(prefetch ? { prefetch } : {}),
    });
    const prefetches = async (): Promise<string[]> =>
      (await metrics.prefetches.get()).values
        .flatMap((v) => Array<string>(v.value).fill(`${String(v.labels.kind)} ${String(v.labels.outcome)}`))
        .sort();
    /** The log lines at warn level or above. */
    const warnings = (): string[] =>
      logged.filter((line) => (JSON.parse(line) as { level: number }).level >= 40);
    return { storage, inner, cached, spools, metrics, prefetches, warnings };
  }

  it("zip: a cold .mod fetches the version's .info and zip in the background, once each", async () => {
    const t = setup("zip");
    expect((await t.cached.mod(M, "v1.0.0")).toString()).toBe(`module ${M}\n`);
    await until(() => t.inner.count("zip ") === 1 && t.inner.count("info ") === 1, "the prefetches");
    await t.cached.drain();
    expect(await t.storage.stat(storageKeys.zip(M, "v1.0.0"))).toMatchObject({ size: zip.length });
    expect(await t.storage.stat(storageKeys.info(M, "v1.0.0"))).toBeDefined();
    expect(await t.prefetches()).toEqual(["info fetched", "zip fetched"]);
    // The client's own requests are hits: nothing more is fetched.
    expect((await t.cached.info(M, "v1.0.0")).Version).toBe("v1.0.0");
    expect((await readStream((await t.cached.zip(M, "v1.0.0")).body)).equals(zip)).toBe(true);
    expect(t.inner.calls.sort()).toEqual([`info ${M}@v1.0.0`, `mod ${M}@v1.0.0`, `zip ${M}@v1.0.0`]);
  });

  it("zip: a client asking while the prefetch runs joins it instead of fetching again", async () => {
    const t = setup("zip");
    await t.cached.info(M, "v1.0.0");
    await until(() => t.inner.count("zip ") === 1, "the zip prefetch to start");
    const [mod, download] = await Promise.all([t.cached.mod(M, "v1.0.0"), t.cached.zip(M, "v1.0.0")]);
    expect(mod.toString()).toBe(`module ${M}\n`);
    expect((await readStream(download.body)).equals(zip)).toBe(true);
    await t.cached.drain();
    expect(t.inner.count("zip ")).toBe(1);
    expect(t.inner.count("mod ")).toBe(1);
  });

  it("mod: the other small file is fetched, the zip is not", async () => {
    const t = setup("mod");
    await t.cached.mod(M, "v1.0.0");
    await until(() => t.inner.count("info ") === 1, "the .info prefetch");
    await t.cached.drain();
    expect(t.inner.count("zip ")).toBe(0);
    expect(await t.prefetches()).toEqual(["info fetched"]);
  });

  it("off (the class's default): nothing but what was asked for", async () => {
    const t = setup(undefined);
    await t.cached.mod(M, "v1.0.0");
    await delay(20);
    await t.cached.drain();
    expect(t.inner.calls).toEqual([`mod ${M}@v1.0.0`]);
  });

  it("a hit prefetches nothing, and neither does a failed fetch", async () => {
    const first = setup("zip");
    await first.cached.mod(M, "v1.0.0");
    await first.cached.drain();
    const again = setup("zip"); // the same storage, a fresh process
    await again.cached.mod(M, "v1.0.0");
    await expect(again.cached.mod(M, "v9.9.9")).rejects.toMatchObject({ kind: "not-found" });
    await delay(20);
    await again.cached.drain();
    expect(again.inner.calls).toEqual([`mod ${M}@v9.9.9`]);
  });

  it("a version without a zip upstream counts as not_found and leaves the answers alone", async () => {
    const t = setup("zip", { zip: false });
    await t.cached.mod(M, "v1.0.0");
    await until(() => t.inner.count("zip ") === 1, "the zip prefetch");
    await t.cached.drain();
    expect(await t.prefetches()).toEqual(["info fetched", "zip not_found"]);
    expect(await t.storage.stat(storageKeys.mod(M, "v1.0.0"))).toBeDefined();
    // Not a fault: nothing at warn level.
    expect(t.warnings()).toEqual([]);
  });

  it("skips the zip while the spool is more than half full: its space is for clients", async () => {
    const t = setup("zip", { spoolMaxBytes: 4 * 1024 * 1024 });
    expect(t.spools.reserve(2 * 1024 * 1024 + 1)).toBe(true); // a client's download in progress
    await t.cached.mod(M, "v1.0.0");
    await until(() => t.inner.count("info ") === 1, "the .info prefetch");
    await until(async () => (await t.prefetches()).length === 2, "both prefetches");
    t.spools.free(2 * 1024 * 1024 + 1);
    await t.cached.drain();
    expect(await t.prefetches()).toEqual(["info fetched", "zip skipped"]);
    expect(t.inner.count("zip ")).toBe(0);
  });

  it("skips a zip whose declared size would take the spool past half its bound", async () => {
    const t = setup("zip", { spoolMaxBytes: 3 * 1024 * 1024 }); // the zip is over 2 MiB
    await t.cached.mod(M, "v1.0.0");
    await until(async () => (await t.prefetches()).length === 2, "both prefetches");
    await t.cached.drain();
    expect(await t.prefetches()).toEqual(["info fetched", "zip skipped"]);
    expect(await t.storage.stat(storageKeys.zip(M, "v1.0.0"))).toBeUndefined();
    expect(t.spools.bytesInUse).toBe(0);
    expect(t.warnings()).toEqual([]);
  });

  it("a client that joined a prefetch which then yielded its spool room fetches the zip itself", async () => {
    const t = setup("zip", { spoolMaxBytes: 3 * 1024 * 1024 });
    const gate = held();
    const sourceZip = t.inner.zip.bind(t.inner);
    let asked = 0;
    t.inner.zip = async (p, v) => {
      if (++asked === 1) await gate.promise; // the prefetch's request waits
      return sourceZip(p, v);
    };
    await t.cached.mod(M, "v1.0.0");
    await until(() => asked === 1, "the zip prefetch to ask the source");
    const client = t.cached.zip(M, "v1.0.0");
    await delay(20);
    expect(asked).toBe(1); // the client joined the prefetch's fill instead of starting one
    gate.release();
    expect((await readStream((await client).body)).equals(zip)).toBe(true);
    await t.cached.drain();
    expect(asked).toBe(2);
    expect(await t.prefetches()).toEqual(["info fetched", "zip skipped"]);
    expect(await t.storage.stat(storageKeys.zip(M, "v1.0.0"))).toMatchObject({ size: zip.length });
  });

  it("drain() stops prefetching: nothing is fetched after it", async () => {
    const t = setup("zip");
    const gate = held();
    t.inner.gate = gate.promise;
    const mod = t.cached.mod(M, "v1.0.0");
    gate.release();
    await mod;
    await t.cached.drain();
    const calls = t.inner.calls.length;
    await delay(20);
    expect(t.inner.calls.length).toBe(calls);
  });
});
