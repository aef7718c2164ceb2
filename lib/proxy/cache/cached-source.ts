import { finished } from "node:stream/promises";
import type { Logger } from "pino";
import { ProxyError, isNotFound } from "../errors";
import { MAX_GO_MOD_BYTES, MAX_INFO_BYTES, MAX_LIST_BYTES } from "../limits";
import type { ProxyMetrics } from "../metrics";
import { checkInfo, parseInfo, parseList } from "../module/info";
import { checkGoMod } from "../module/modfile";
import { isExactVersion } from "../module/version";
import type { Download, ModuleInfo, ModuleSource } from "../sources/source";
import type { ObjectInfo, PutOptions, Storage, StoredObject } from "../storage/storage";
import { readLimited } from "../read-limited";
import { guarded } from "../streams";
import { storageKeys } from "./keys";
import { heldVersions } from "./version-list";
import { remembered } from "./memo";
import { MemoryCache } from "./memory";
import { Prefetcher, type PrefetchMode, type PrefetchOutcome } from "./prefetch";
import { SingleFlight } from "./single-flight";
import { SpoolDirectory } from "./spool-directory";
import { inMemory, ZipFills } from "./zip-fills";

export interface CachedSourceOptions {
  /** Seconds that `list`, `@latest` and query `.info` answers stay fresh. */
  readonly ttlSeconds: number;
  readonly logger: Logger;
  readonly metrics?: ProxyMetrics;
  /** Bytes of small immutable files (`.info`, `.mod`, zips up to 1 MiB) kept in memory; 0 keeps none. @default 64 MiB */
  readonly memoryBytes?: number;
  /**
   * Where a zip is spooled and checked before it is stored, and how much may be spooled at once.
   * @default the OS temp directory, GOMIRROR_SPOOL_MAX's default
   */
  readonly spools?: SpoolDirectory;
  /**
   * Without `spools`: the bound of the spool directory made here (removed again by drain()).
   * @default GOMIRROR_SPOOL_MAX's default
   */
  readonly spoolMaxBytes?: number;
  /**
   * Zips up to this size answer once they are checked, so that a refused one gets an error status
   * with its reason; larger ones start streaming to their clients after this many bytes.
   * @default 1 MiB
   */
  readonly streamAfterBytes?: number;
  /**
   * What a cold `.info` or `.mod` of an exact version also fetches in the background, so that
   * the client's next requests for that version find their files here or on their way
   * (GOMIRROR_PREFETCH). @default "off"
   */
  readonly prefetch?: PrefetchMode;
  /** Injectable clock (tests). */
  readonly now?: () => number;
}

/** isExactVersion of `path@version` (a module path holds no `@`), remembered for hot files. */
const exactVersion = remembered((pathAtVersion: string): boolean => {
  const at = pathAtVersion.indexOf("@");
  return isExactVersion(pathAtVersion.slice(0, at), pathAtVersion.slice(at + 1));
});

type Kind = "list" | "latest" | "query" | "info" | "mod" | "zip";

/** The largest file kept in memory (a larger zip is streamed from storage on every hit). */
const MEMORY_FILE_BYTES = 1024 * 1024;

/**
 * How long an immutable file held in memory is served before storage is asked again whether it
 * still holds that file. Immutable keys are created once and never rewritten, but a file can be
 * deleted (`gomirror verify --remove`, an operator, the disk limit, another replica on shared
 * storage): it stops being served from memory within this time.
 */
const REVALIDATE_MS = 5000;

interface Remembered {
  readonly value: unknown;
  /** When the answer was fetched or read (the TTL of list, @latest and queries runs from it). */
  readonly fetched: number;
  /** Immutable files: when storage last confirmed it holds the file, and the file it held. */
  checked: number;
  size?: number;
  modifiedMs?: number;
}

/**
 * Wraps a source with storage: `.mod`, `.zip` and canonical `.info` are immutable once stored;
 * `list`, `@latest` and query `.info` are kept for a TTL and served stale when the source
 * fails. Concurrent misses for the same file make one fetch (single-flight). A zip is spooled
 * once and streamed to every client that asks meanwhile, checked, then stored (ZipFills).
 */
export class CachedSource implements ModuleSource {
  private readonly flights = new SingleFlight<unknown>();
  private readonly zipFills: ZipFills;
  private readonly memory: MemoryCache<Remembered>;
  /** Stores of small files whose answers have already gone out, by key (drain() waits for them). */
  private readonly stores = new Map<string, Promise<void>>();
  /** Background fetches of the files a client asks for next (undefined: prefetching is off). */
  private readonly prefetcher: Prefetcher | undefined;
  /** The spool directory made here when the options name none (removed by drain()). */
  private readonly ownSpools: SpoolDirectory | undefined;
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(
    private readonly inner: ModuleSource,
    private readonly storage: Storage,
    private readonly options: CachedSourceOptions,
  ) {
    const memoryBytes = options.memoryBytes ?? 64 * 1024 * 1024;
    // One file may take at most a sixteenth of a small cache, so a few big ones cannot flush it.
    this.memory = new MemoryCache(memoryBytes, Math.min(MEMORY_FILE_BYTES, Math.floor(memoryBytes / 16)));
    this.ttlMs = options.ttlSeconds * 1000;
    this.now = options.now ?? Date.now;
    this.ownSpools =
      options.spools === undefined
        ? new SpoolDirectory({ maxBytes: options.spoolMaxBytes, gauge: options.metrics?.spoolBytes })
        : undefined;
    this.zipFills = new ZipFills({
      streamAfterBytes: options.streamAfterBytes ?? 1024 * 1024,
      inner,
      storage,
      spools: options.spools ?? this.ownSpools!,
      logger: options.logger,
      metrics: options.metrics,
      // The go command asks for a zip right after its .info: from memory, not a storage read.
      stored: (key, data) => {
        if (this.memory.fits(data.length)) this.remember(key, data, data.length);
      },
    });
    const prefetch = options.prefetch ?? "off";
    this.prefetcher =
      prefetch === "off"
        ? undefined
        : new Prefetcher({ logger: options.logger, counter: options.metrics?.prefetches });
  }

  /**
   * The source's list, with the versions of the stored list whose zip is held here added (what
   * `gomirror import` and `gomirror sync` brought, which the source may not know). When the
   * source has no such module, the held versions alone answer; when it fails, the stored list
   * is served stale.
   */
  list(path: string): Promise<string[]> {
    return this.ttlCached(
      "list",
      storageKeys.list(path),
      async () => {
        let fresh: string[];
        try {
          fresh = await this.inner.list(path);
        } catch (err) {
          const held = isNotFound(err) ? await this.heldVersions(path) : [];
          if (held.length === 0) throw err;
          return held;
        }
        return [...fresh, ...(await this.heldVersions(path, fresh))];
      },
      (versions) => Buffer.from(versions.map((v) => `${v}\n`).join("")),
      (data) => parseList(data),
      MAX_LIST_BYTES,
    );
  }

  /** heldVersions, or none when the storage fails: the source's answer is good without them. */
  private heldVersions(path: string, except?: readonly string[]): Promise<string[]> {
    return heldVersions(this.storage, path, except).catch((err: unknown) => {
      this.options.logger.warn(
        { event: "list_held_failed", path, err: String(err) },
        "could not read held versions",
      );
      return [];
    });
  }

  latest(path: string): Promise<ModuleInfo> {
    return this.ttlCached(
      "latest",
      storageKeys.latest(path),
      async () => this.rememberInfo(path, await this.inner.latest(path)),
      encodeInfo,
      (data) => parseInfo(data, `stored ${path}@latest`),
      MAX_INFO_BYTES,
    );
  }

  info(path: string, query: string): Promise<ModuleInfo> {
    if (exactVersion(`${path}@${query}`)) return this.versionInfo(path, query, true);
    return this.ttlCached(
      "query",
      storageKeys.query(path, query),
      async () => this.rememberInfo(path, await this.inner.info(path, query)),
      encodeInfo,
      (data) => parseInfo(data, `stored ${path}@${query}`),
      MAX_INFO_BYTES,
    );
  }

  mod(path: string, version: string): Promise<Buffer> {
    return this.versionMod(path, version, true);
  }

  /** The `.info` of an exact version; `prefetch`: a miss also starts fetching its other files. */
  private versionInfo(path: string, version: string, prefetch: boolean, fetched?: Fetched) {
    return this.immutable(
      "info",
      storageKeys.info(path, version),
      async () => {
        const info = await this.inner.info(path, version);
        checkInfo(path, version, info);
        if (prefetch) this.prefetchOthers("info", path, version);
        return info;
      },
      encodeInfo,
      (data) => parseInfo(data, `stored ${path}@${version}`),
      MAX_INFO_BYTES,
      fetched,
    );
  }

  /** The `.mod` of a version; `prefetch`: a miss also starts fetching its other files. */
  private versionMod(path: string, version: string, prefetch: boolean, fetched?: Fetched) {
    return this.immutable(
      "mod",
      storageKeys.mod(path, version),
      async () => {
        const data = await this.inner.mod(path, version);
        // What no checksum database covers (GONOSUMDB, GOSUMDB=off) is checked here at least.
        checkGoMod(path, version, data);
        if (prefetch) this.prefetchOthers("mod", path, version);
        return data;
      },
      (data) => data,
      (data) => data,
      MAX_GO_MOD_BYTES,
      fetched,
    );
  }

  /**
   * After a fetch of one file of path@version, queues fetches of the others the go command asks
   * for next: `go mod download` and builds ask for the `.mod`, `.info` and zip of each version in
   * turn, and each of those would otherwise wait for its own round trip upstream.
   */
  private prefetchOthers(fetched: "info" | "mod", path: string, version: string): void {
    const prefetcher = this.prefetcher;
    if (!prefetcher) return;
    const at = `${path}@${version}`;
    const small = (get: (fetched: Fetched) => Promise<unknown>) => async (): Promise<PrefetchOutcome> => {
      const note: Fetched = { fetched: false };
      await get(note);
      return note.fetched ? "fetched" : "present";
    };
    if (fetched !== "info") {
      prefetcher.schedule(
        `${at}.info`,
        "info",
        small((note) => this.versionInfo(path, version, false, note)),
      );
    }
    if (fetched !== "mod") {
      prefetcher.schedule(
        `${at}.mod`,
        "mod",
        small((note) => this.versionMod(path, version, false, note)),
      );
    }
    if (this.options.prefetch === "zip") {
      prefetcher.schedule(`${at}.zip`, "zip", async () => {
        const key = storageKeys.zip(path, version);
        if (this.memory.get(key)) return "present";
        return this.zipFills.prefetch(key, path, version);
      });
    }
  }

  async zip(path: string, version: string): Promise<Download> {
    const key = storageKeys.zip(path, version);
    const remembered = this.freshFile(key) ?? (await this.rememberedFile(key));
    if (remembered) {
      this.options.metrics?.recordHit("zip");
      return inMemory(remembered.value as Buffer);
    }
    const stored = await this.lookup(key);
    if (stored) {
      this.options.metrics?.recordHit("zip");
      if (!this.memory.fits(stored.size)) return { body: stored.body, size: stored.size };
      // Small enough to keep: later hits are answered from memory, with no file-system call.
      const data = await readLimited(stored.body, stored.size, `stored ${key}`);
      this.remember(key, data, data.length, stored);
      return inMemory(data);
    }
    this.options.metrics?.cacheMisses.inc({ kind: "zip" });
    return this.zipFills.download(key, path, version);
  }

  /**
   * The storage key of a zip once it is completely stored, fetching it first when needed (the
   * redirect mode hands clients a URL of the stored object instead of the bytes).
   */
  async storedZip(path: string, version: string): Promise<string> {
    const key = storageKeys.zip(path, version);
    if (await this.storage.stat(key)) return key;
    const download = await this.zip(path, version);
    download.body.resume();
    await finished(download.body);
    await this.zipFills.settled(key);
    if (!(await this.storage.stat(key))) {
      throw new ProxyError("internal", `${path}@${version}: zip was not stored after download`);
    }
    return key;
  }

  /**
   * Settles once every download and store running now has finished (graceful shutdown, the end
   * of a command; small files are stored after their answer went out); a spool directory this
   * source made itself is removed then too. Prefetches still waiting are dropped, and none is
   * started after.
   */
  async drain(): Promise<void> {
    await this.prefetcher?.stop();
    await Promise.all([this.flights.drain(), this.zipFills.drain()]);
    while (this.stores.size > 0) await Promise.all(this.stores.values());
    await this.ownSpools?.remove();
  }

  /** A query's answer, once checked, also fills the canonical `.info`, which never changes. */
  private async rememberInfo(path: string, info: ModuleInfo): Promise<ModuleInfo> {
    checkInfo(path, undefined, info);
    await this.storage
      .put(storageKeys.info(path, info.Version), encodeInfo(info), {
        ifNoneMatch: true,
        maxBytes: MAX_INFO_BYTES,
      })
      .catch((err) =>
        this.options.logger.warn({ err: String(err), path }, "could not store canonical .info"),
      );
    return info;
  }

  private async immutable<T>(
    kind: Kind,
    key: string,
    fetch: () => Promise<T>,
    encode: (value: T) => Buffer,
    decode: (data: Buffer) => T,
    limit: number,
    fetched?: Fetched,
  ): Promise<T> {
    for (;;) {
      const remembered = this.freshFile(key) ?? (await this.rememberedFile(key));
      if (remembered) {
        this.options.metrics?.recordHit(kind);
        return remembered.value as T;
      }
      const stored = await this.lookup(key);
      if (stored) {
        const data = await readLimited(stored.body, limit, `stored ${key}`);
        const value = decode(data);
        this.remember(key, value, data.length, stored);
        this.options.metrics?.recordHit(kind);
        return value;
      }
      // A fetch of this file may have ended while storage was asked (a prefetch, another client):
      // its answer is in memory, or still being stored. Look again rather than ask the source twice.
      if (!this.freshFile(key) && !this.stores.has(key)) break;
      await this.stores.get(key);
    }
    this.options.metrics?.cacheMisses.inc({ kind });
    if (fetched) fetched.fetched = true;
    return this.fill(key, fetch, encode, { ifNoneMatch: true, maxBytes: limit });
  }

  /** An immutable file held in memory that storage confirmed recently: the hot path, no await. */
  private freshFile(key: string): Remembered | undefined {
    const entry = this.memory.get(key);
    return entry && this.now() - entry.checked < REVALIDATE_MS ? entry : undefined;
  }

  /**
   * An immutable file held in memory, if storage still holds it: asked again at most every
   * REVALIDATE_MS (one request asks; the others keep being served from memory meanwhile).
   */
  private async rememberedFile(key: string): Promise<Remembered | undefined> {
    const entry = this.memory.get(key);
    if (!entry) return undefined;
    const now = this.now();
    // Being stored right now: storage cannot hold it yet, and has not lost it.
    if (now - entry.checked < REVALIDATE_MS || this.stores.has(key)) return entry;
    entry.checked = now;
    let info: ObjectInfo | undefined;
    try {
      info = await this.storage.stat(key);
    } catch (err) {
      // Storage cannot say: the file was checked when it was kept, so keep serving it.
      this.options.logger.warn(
        { event: "cache_revalidate_failed", key, err: String(err) },
        "storage stat failed",
      );
      return entry;
    }
    const modifiedMs = info?.modified.getTime();
    if (
      !info ||
      info.size !== entry.size ||
      (entry.modifiedMs !== undefined && modifiedMs !== entry.modifiedMs)
    ) {
      this.memory.delete(key);
      return undefined;
    }
    entry.modifiedMs = modifiedMs;
    return entry;
  }

  /** Keeps an immutable file in memory; `stored` is what storage said about it, when it was read from there. */
  private remember(key: string, value: unknown, size: number, stored?: ObjectInfo): void {
    const now = this.now();
    this.memory.set(
      key,
      { value, fetched: now, checked: now, size, modifiedMs: stored?.modified.getTime() },
      size,
    );
  }

  /** A stored object, or undefined; a storage that fails to answer counts as a miss. */
  private async lookup(key: string): Promise<StoredObject | undefined> {
    try {
      const stored = await this.storage.get(key);
      if (stored) guarded(stored.body);
      return stored;
    } catch (err) {
      this.options.logger.error({ event: "cache_read_failed", key, err: String(err) }, "storage read failed");
      return undefined;
    }
  }

  /** Fetches once for all concurrent callers, stores, and remembers the answer in memory. */
  private fill<T>(
    key: string,
    fetch: () => Promise<T>,
    encode: (value: T) => Buffer,
    put: PutOptions,
  ): Promise<T> {
    return this.flights.do(key, async () => {
      const value = await fetch();
      const data = encode(value);
      this.remember(key, value, data.length);
      // The client has its answer while it is stored: a store costs a disk its fsyncs (and an index
      // entry), which a cold `go mod download` otherwise waits for on every file. drain() waits.
      const store: Promise<void> = this.storage.put(key, data, put).then(
        () => undefined,
        (err: unknown) => {
          // The answer is good; only caching it failed. Serve it, and say so loudly.
          this.options.logger.error(
            { event: "cache_write_failed", key, err: String(err) },
            "could not store",
          );
        },
      );
      this.stores.set(key, store);
      void store.finally(() => {
        if (this.stores.get(key) === store) this.stores.delete(key);
      });
      return value;
    }) as Promise<T>;
  }

  private async ttlCached<T>(
    kind: Kind,
    key: string,
    fetch: () => Promise<T>,
    encode: (value: T) => Buffer,
    decode: (data: Buffer) => T,
    limit: number,
  ): Promise<T> {
    const now = this.now();
    const remembered = this.memory.get(key);
    if (remembered && now - remembered.fetched < this.ttlMs) {
      this.options.metrics?.recordHit(kind);
      return remembered.value as T;
    }
    let stale: { value: T; fetched: number } | undefined;
    if (remembered) stale = { value: remembered.value as T, fetched: remembered.fetched };
    else {
      const stored = await this.lookup(key);
      if (stored) {
        const fetched = stored.modified.getTime();
        stale = { value: decode(await readLimited(stored.body, limit, `stored ${key}`)), fetched };
        if (now - fetched < this.ttlMs) {
          this.memory.set(key, { ...stale, checked: now }, stored.size);
          this.options.metrics?.recordHit(kind);
          return stale.value;
        }
      }
    }
    this.options.metrics?.cacheMisses.inc({ kind });
    try {
      return await this.fill(key, fetch, encode, { maxBytes: limit });
    } catch (err) {
      if (stale && !isNotFound(err) && !(err instanceof ProxyError && err.kind === "invalid")) {
        // With GOPROXY=off (an air-gapped mirror) stored answers are how it works, not a fault.
        const refused = err instanceof ProxyError && err.kind === "forbidden";
        this.options.logger[refused ? "debug" : "warn"](
          {
            event: "serving_stale",
            key,
            ageSeconds: Math.round((now - stale.fetched) / 1000),
            err: String(err),
          },
          "every source failed; serving a stale answer",
        );
        return stale.value;
      }
      throw err;
    }
  }
}

/** Set when a call had to fetch its file from the source (a prefetch says whether it did). */
interface Fetched {
  fetched: boolean;
}

function encodeInfo(info: ModuleInfo): Buffer {
  return Buffer.from(JSON.stringify(info));
}
