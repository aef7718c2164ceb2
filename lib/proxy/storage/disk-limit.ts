import type { Readable } from "node:stream";
import type { Logger } from "pino";
import type { ProxyMetrics } from "../metrics";
import { readLimited } from "../read-limited";
import { formatServedIndex, isZipKey, parseServedIndex, SERVED_INDEX_KEY } from "./served-index";
import type { ObjectInfo, PutOptions, PutResult, Storage, StoredObject } from "./storage";

export interface DiskLimitOptions {
  /** GOMIRROR_DISK_MAX: the store's size past which zips are evicted. */
  readonly maxBytes: number;
  /** Eviction stops once the store is at or below this share of `maxBytes`. @default 0.9 */
  readonly lowWater?: number;
  readonly logger?: Logger;
  readonly metrics?: ProxyMetrics;
  /** Milliseconds since the epoch. @default Date.now */
  readonly now?: () => number;
  /** How often the last-served index is written when it changed. @default 60 s */
  readonly indexIntervalMs?: number;
  /**
   * Zips stored or served more recently than this are not evicted: the clients that waited for
   * a download read it from the store just after it was stored. @default 10 s
   */
  readonly minAgeMs?: number;
  /**
   * How often the whole store is counted again, so that what other processes sharing it (or an
   * operator) added and removed is seen. @default 15 minutes
   */
  readonly rescanIntervalMs?: number;
}

interface Entry {
  size: number;
  /** Zips only: when the zip was last read (or stored, or else its file's time). */
  served?: number;
}

/** Far above any realistic index: about two million zips. */
const MAX_INDEX_BYTES = 256 << 20;

/**
 * Keeps a disk store under GOMIRROR_DISK_MAX: once it holds more, the least recently served zips
 * are removed (through the inner storage's `delete`), down to the low-water mark; `.mod`, `.info`
 * and lists are small and stay. Eviction runs beside requests, never in their way: a `put`
 * resolves before it starts.
 *
 * A zip that is being read is never chosen, nor one stored or served within `minAgeMs` (the
 * clients that waited for its download read it from the store right after it is stored). One
 * opened just as it is removed is still read to its end: the reader holds an open descriptor,
 * which outlives the file's name.
 *
 * The store is counted once at startup and then kept up to date from this process's own puts
 * and deletes, and counted again every `rescanIntervalMs` (several worker processes can share a
 * disk store). Last-served times are written to the store itself (`SERVED_INDEX_KEY`) every
 * `indexIntervalMs` and on `close()`, merged with what other processes wrote there.
 */
export class DiskLimitStorage implements Storage {
  /** Settles once the first count of the store is done (eviction waits for it). */
  readonly ready: Promise<void>;
  private readonly entries = new Map<string, Entry>();
  private total = 0;
  private counted = false;
  /** Keys changed while a count runs: the count's older view of them must not win. */
  private changedDuringCount: Set<string> | undefined;
  private readonly readers = new Map<string, number>();
  private evicting: Promise<void> | undefined;
  private indexDirty = false;
  private indexWrite: Promise<void> = Promise.resolve();
  private warnedFull = false;
  private retry: NodeJS.Timeout | undefined;
  private readonly timers: NodeJS.Timeout[];
  private readonly now: () => number;

  constructor(
    private readonly inner: Storage,
    private readonly options: DiskLimitOptions,
  ) {
    this.now = options.now ?? Date.now;
    options.metrics?.storageLimitBytes.set(options.maxBytes);
    this.ready = this.count();
    this.timers = [
      setInterval(() => void this.flush(), options.indexIntervalMs ?? 60_000),
      setInterval(() => void this.count(), options.rescanIntervalMs ?? 15 * 60_000),
    ];
    for (const timer of this.timers) timer.unref();
  }

  /** Bytes held, as counted. */
  get storedBytes(): number {
    return this.total;
  }

  async get(key: string): Promise<StoredObject | undefined> {
    const found = await this.inner.get(key);
    if (found && isZipKey(key)) {
      this.served(key, found.size);
      this.hold(key, found.body);
    }
    return found;
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    const found = await this.inner.stat(key);
    if (found && isZipKey(key)) this.served(key, found.size);
    return found;
  }

  async put(key: string, body: Readable | Buffer, options?: PutOptions): Promise<PutResult> {
    const result = await this.inner.put(key, body, options);
    if (result.created) {
      this.record(key, result.size, isZipKey(key) ? this.now() : undefined);
      this.evictIfFull();
    }
    return result;
  }

  async delete(key: string): Promise<void> {
    await this.inner.delete(key);
    this.forget(key);
  }

  list(prefix: string): AsyncIterable<string> {
    return this.inner.list(prefix);
  }

  /** Writes the last-served index now, if it changed. */
  flush(): Promise<void> {
    this.indexWrite = this.indexWrite.then(() => this.writeIndex());
    return this.indexWrite;
  }

  /** Stops the timers, lets a running eviction finish, and writes the index. */
  async close(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    clearTimeout(this.retry);
    await this.ready;
    await this.evicting;
    await this.flush();
  }

  private served(key: string, size: number): void {
    const entry = this.entries.get(key);
    if (entry) entry.served = this.now();
    else this.record(key, size, this.now());
    this.indexDirty = true;
  }

  /** Counts a reader of `key` until its body closes. */
  private hold(key: string, body: Readable): void {
    this.readers.set(key, (this.readers.get(key) ?? 0) + 1);
    body.once("close", () => {
      const left = (this.readers.get(key) ?? 1) - 1;
      if (left > 0) this.readers.set(key, left);
      else this.readers.delete(key);
    });
  }

  private record(key: string, size: number, served: number | undefined): void {
    const previous = this.entries.get(key);
    this.total += size - (previous?.size ?? 0);
    this.entries.set(key, { size, served: served ?? previous?.served });
    this.changedDuringCount?.add(key);
    if (served !== undefined) this.indexDirty = true;
    this.options.metrics?.storageBytes.set(this.total);
  }

  private forget(key: string): void {
    const previous = this.entries.get(key);
    if (previous) {
      this.total -= previous.size;
      this.entries.delete(key);
      if (previous.served !== undefined) this.indexDirty = true;
    }
    this.changedDuringCount?.add(key);
    this.options.metrics?.storageBytes.set(this.total);
  }

  /** Counts every object of the store, keeping what changed meanwhile as it is. */
  private async count(): Promise<void> {
    if (this.changedDuringCount) return;
    const changed = new Set<string>();
    this.changedDuringCount = changed;
    try {
      const found = new Map<string, ObjectInfo>();
      for await (const key of this.inner.list("")) {
        const info = await this.inner.stat(key);
        if (info) found.set(key, info);
      }
      const stored = await this.readIndex();
      for (const key of [...this.entries.keys()]) {
        if (!found.has(key) && !changed.has(key)) this.entries.delete(key);
      }
      for (const [key, info] of found) {
        if (changed.has(key)) continue;
        const served = isZipKey(key)
          ? Math.max(this.entries.get(key)?.served ?? 0, stored.get(key) ?? 0) || info.modified.getTime()
          : undefined;
        this.entries.set(key, { size: info.size, served });
      }
      this.total = 0;
      for (const entry of this.entries.values()) this.total += entry.size;
      this.options.metrics?.storageBytes.set(this.total);
      this.counted = true;
    } catch (err) {
      this.options.logger?.error(
        { event: "storage_count_failed", err: String(err) },
        "could not count the disk store; GOMIRROR_DISK_MAX waits for the next count",
      );
    } finally {
      this.changedDuringCount = undefined;
    }
    this.evictIfFull();
  }

  private evictIfFull(): void {
    if (!this.counted || this.evicting || this.total <= this.options.maxBytes) {
      if (this.total <= this.options.maxBytes) this.warnedFull = false;
      return;
    }
    this.evicting = this.evict().then(
      (removed) => {
        this.evicting = undefined;
        // Puts during the round may have filled the store again; a round that removed nothing
        // would remove nothing now either.
        if (removed > 0) this.evictIfFull();
      },
      (err: unknown) => {
        this.evicting = undefined;
        this.options.logger?.error({ event: "storage_evict_failed", err: String(err) }, "eviction failed");
      },
    );
  }

  /** Removes the least recently served zips until the store is at the low-water mark; how many. */
  private async evict(): Promise<number> {
    const { maxBytes, metrics, logger } = this.options;
    const target = Math.floor(maxBytes * (this.options.lowWater ?? 0.9));
    const youngest = this.now() - (this.options.minAgeMs ?? 10_000);
    const candidates = [...this.entries]
      .filter(([key, entry]) => entry.served !== undefined && isZipKey(key))
      .sort(([, a], [, b]) => a.served! - b.served!);
    let zips = 0;
    let bytes = 0;
    let waiting = false;
    for (const [key, entry] of candidates) {
      if (this.total <= target) break;
      if (entry.served! > youngest) {
        // Too recent to go yet (the rest are younger still): try again once it has aged.
        waiting = true;
        clearTimeout(this.retry);
        this.retry = setTimeout(() => this.evictIfFull(), entry.served! - youngest + 100);
        this.retry.unref();
        break;
      }
      // Looked at again here: a reader may have come since the candidates were sorted.
      if (this.readers.has(key) || this.entries.get(key) !== entry) continue;
      await this.inner.delete(key);
      this.forget(key);
      zips++;
      bytes += entry.size;
      metrics?.storageEvictions.inc();
      metrics?.storageEvictedBytes.inc(entry.size);
    }
    if (zips > 0) {
      logger?.info(
        { event: "storage_evicted", zips, bytes, storedBytes: this.total, maxBytes },
        `removed ${zips} least recently served zips to stay under GOMIRROR_DISK_MAX`,
      );
    }
    if (this.total > maxBytes && !waiting && !this.warnedFull) {
      this.warnedFull = true;
      logger?.warn(
        { event: "storage_full", storedBytes: this.total, maxBytes },
        "the disk store stays above GOMIRROR_DISK_MAX: what is left is go.mod, .info and zips being read; raise the limit",
      );
    }
    return zips;
  }

  private async readIndex(): Promise<Map<string, number>> {
    const found = await this.inner.get(SERVED_INDEX_KEY);
    return found
      ? parseServedIndex(await readLimited(found.body, MAX_INDEX_BYTES, SERVED_INDEX_KEY))
      : new Map();
  }

  private async writeIndex(): Promise<void> {
    if (!this.indexDirty) return;
    this.indexDirty = false;
    try {
      const served = new Map<string, number>();
      for (const [key, entry] of this.entries) if (entry.served !== undefined) served.set(key, entry.served);
      // Another process sharing the store may have served a zip since: the later time wins.
      for (const [key, time] of await this.readIndex()) {
        const ours = served.get(key);
        if (ours !== undefined && time > ours) served.set(key, time);
      }
      const data = formatServedIndex(served);
      await this.inner.put(SERVED_INDEX_KEY, data);
      this.record(SERVED_INDEX_KEY, data.length, undefined);
    } catch (err) {
      this.indexDirty = true;
      this.options.logger?.warn(
        { event: "storage_index_failed", err: String(err) },
        "could not write the last-served index; trying again later",
      );
    }
  }
}

/** The storage the server uses: `storage` itself, or kept under GOMIRROR_DISK_MAX when it is set. */
export function limitDiskStorage(
  storage: Storage,
  maxBytes: number,
  parts: { readonly logger?: Logger; readonly metrics?: ProxyMetrics },
): Storage | DiskLimitStorage {
  return maxBytes > 0 ? new DiskLimitStorage(storage, { maxBytes, ...parts }) : storage;
}
