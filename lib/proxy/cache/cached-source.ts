import { finished } from "node:stream/promises";
import type { Logger } from "pino";
import { ProxyError, isNotFound } from "../errors";
import { MAX_GO_MOD_BYTES, MAX_INFO_BYTES, MAX_LIST_BYTES } from "../limits";
import type { ProxyMetrics } from "../metrics";
import { checkInfo, parseInfo, parseList } from "../module/info";
import { checkGoMod } from "../module/modfile";
import { isExactVersion } from "../module/version";
import type { Download, ModuleInfo, ModuleSource } from "../sources/source";
import type { PutOptions, Storage, StoredObject } from "../storage/storage";
import { readLimited } from "../read-limited";
import { guarded } from "../streams";
import { storageKeys } from "./keys";
import { remembered } from "./memo";
import { MemoryCache } from "./memory";
import { SingleFlight } from "./single-flight";
import { SpoolDirectory } from "./spool-directory";
import { ZipFills } from "./zip-fills";

export interface CachedSourceOptions {
  /** Seconds that `list`, `@latest` and query `.info` answers stay fresh. */
  readonly ttlSeconds: number;
  readonly logger: Logger;
  readonly metrics?: ProxyMetrics;
  /** Bytes of small immutable answers kept in memory. @default 64 MiB */
  readonly memoryBytes?: number;
  /**
   * Where a zip is spooled and checked before it is stored, and how much may be spooled at once.
   * @default the OS temp directory, GOMIRROR_SPOOL_MAX's default
   */
  readonly spools?: SpoolDirectory;
  /**
   * Zips up to this size answer once they are checked, so that a refused one gets an error status
   * with its reason; larger ones start streaming to their clients after this many bytes.
   * @default 1 MiB
   */
  readonly streamAfterBytes?: number;
  /** Injectable clock (tests). */
  readonly now?: () => number;
}

/** isExactVersion of `path@version` (a module path holds no `@`), remembered for hot files. */
const exactVersion = remembered((pathAtVersion: string): boolean => {
  const at = pathAtVersion.indexOf("@");
  return isExactVersion(pathAtVersion.slice(0, at), pathAtVersion.slice(at + 1));
});

type Kind = "list" | "latest" | "query" | "info" | "mod" | "zip";

/**
 * Wraps a source with storage: `.mod`, `.zip` and canonical `.info` are immutable once stored;
 * `list`, `@latest` and query `.info` are kept for a TTL and served stale when the source
 * fails. Concurrent misses for the same file make one fetch (single-flight). A zip is spooled
 * once and streamed to every client that asks meanwhile, checked, then stored (ZipFills).
 */
export class CachedSource implements ModuleSource {
  private readonly flights = new SingleFlight<unknown>();
  private readonly zipFills: ZipFills;
  private readonly memory: MemoryCache<{ value: unknown; fetched: number }>;
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(
    private readonly inner: ModuleSource,
    private readonly storage: Storage,
    private readonly options: CachedSourceOptions,
  ) {
    this.memory = new MemoryCache(options.memoryBytes ?? 64 * 1024 * 1024, 256 * 1024);
    this.ttlMs = options.ttlSeconds * 1000;
    this.now = options.now ?? Date.now;
    this.zipFills = new ZipFills({
      streamAfterBytes: options.streamAfterBytes ?? 1024 * 1024,
      inner,
      storage,
      spools: options.spools ?? new SpoolDirectory(),
      logger: options.logger,
      metrics: options.metrics,
    });
  }

  list(path: string): Promise<string[]> {
    return this.ttlCached(
      "list",
      storageKeys.list(path),
      () => this.inner.list(path),
      (versions) => Buffer.from(versions.map((v) => `${v}\n`).join("")),
      (data) => parseList(data),
      MAX_LIST_BYTES,
    );
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
    if (exactVersion(`${path}@${query}`)) {
      return this.immutable(
        "info",
        storageKeys.info(path, query),
        async () => {
          const info = await this.inner.info(path, query);
          checkInfo(path, query, info);
          return info;
        },
        encodeInfo,
        (data) => parseInfo(data, `stored ${path}@${query}`),
        MAX_INFO_BYTES,
      );
    }
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
    return this.immutable(
      "mod",
      storageKeys.mod(path, version),
      async () => {
        const data = await this.inner.mod(path, version);
        // What no checksum database covers (GONOSUMDB, GOSUMDB=off) is checked here at least.
        checkGoMod(path, version, data);
        return data;
      },
      (data) => data,
      (data) => data,
      MAX_GO_MOD_BYTES,
    );
  }

  async zip(path: string, version: string): Promise<Download> {
    const key = storageKeys.zip(path, version);
    const stored = await this.lookup(key);
    if (stored) {
      this.options.metrics?.cacheHits.inc({ kind: "zip" });
      return { body: stored.body, size: stored.size };
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

  /** Settles once every download and store running now has finished (graceful shutdown). */
  async drain(): Promise<void> {
    await Promise.all([this.flights.drain(), this.zipFills.drain()]);
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
  ): Promise<T> {
    const remembered = this.memory.get(key);
    if (remembered) {
      this.options.metrics?.cacheHits.inc({ kind });
      return remembered.value as T;
    }
    const stored = await this.lookup(key);
    if (stored) {
      const data = await readLimited(stored.body, limit, `stored ${key}`);
      const value = decode(data);
      this.memory.set(key, { value, fetched: this.now() }, data.length);
      this.options.metrics?.cacheHits.inc({ kind });
      return value;
    }
    this.options.metrics?.cacheMisses.inc({ kind });
    return this.fill(key, fetch, encode, { ifNoneMatch: true, maxBytes: limit });
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
      await this.storage.put(key, data, put).catch((err: unknown) => {
        // The answer is good; only caching it failed. Serve it, and say so loudly.
        this.options.logger.error({ event: "cache_write_failed", key, err: String(err) }, "could not store");
      });
      this.memory.set(key, { value, fetched: this.now() }, data.length);
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
      this.options.metrics?.cacheHits.inc({ kind });
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
          this.memory.set(key, stale, stored.size);
          this.options.metrics?.cacheHits.inc({ kind });
          return stale.value;
        }
      }
    }
    this.options.metrics?.cacheMisses.inc({ kind });
    try {
      return await this.fill(key, fetch, encode, { maxBytes: limit });
    } catch (err) {
      if (stale && !isNotFound(err) && !(err instanceof ProxyError && err.kind === "invalid")) {
        this.options.logger.warn(
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

function encodeInfo(info: ModuleInfo): Buffer {
  return Buffer.from(JSON.stringify(info));
}
