import { Readable } from "node:stream";
import type { Logger } from "pino";
import { ProxyError, isNotFound } from "../errors";
import { MAX_ZIP_BYTES } from "../limits";
import type { ProxyMetrics } from "../metrics";
import { checkModuleZip } from "../module/zipcheck";
import type { Download, ModuleSource } from "../sources/source";
import type { Storage } from "../storage/storage";
import { readLimited } from "../read-limited";
import { guarded } from "../streams";
import type { PrefetchOutcome } from "./prefetch";
import type { Spool } from "./spool";
import type { SpoolDirectory } from "./spool-directory";

export interface ZipFillsOptions {
  /** Zips up to this size answer once checked; larger ones start streaming after this many bytes. */
  readonly streamAfterBytes: number;
  readonly inner: ModuleSource;
  readonly storage: Storage;
  readonly spools: SpoolDirectory;
  readonly logger: Logger;
  readonly metrics?: ProxyMetrics;
  /** Told of each zip fetched into memory once it is stored (the cache keeps it for the next hit). */
  readonly stored?: (key: string, data: Buffer) => void;
}

/** One cold zip being fetched. */
interface Fill {
  /**
   * Its spool once clients may read it, or the whole checked zip when it is small enough to be
   * held in memory (undefined: the zip turned out to be stored already).
   */
  readonly spooled: Promise<Spool | Buffer | undefined>;
  /** Settles (never rejects) once the zip is stored, or known not to be. */
  done: Promise<void>;
  /** The size the source declared. */
  size?: number;
  /** Once done: stored by this fill, or found stored already (undefined: not stored). */
  result?: "stored" | "present";
  /** Started by a prefetch: it gives way when its zip would take the spool past half its bound. */
  readonly prefetch: boolean;
}

/** Ends a prefetch's fill that found no spool room for its zip; a client that joined it fetches anew. */
class PrefetchYielded extends Error {}

interface Settle<T> {
  resolve(value: T): void;
  reject(err: unknown): void;
}

/** A download of a zip held in memory; its stream is made only if a consumer asks for it. */
export function inMemory(data: Buffer): Download {
  let body: Readable | undefined;
  return {
    data,
    size: data.length,
    get body() {
      return (body ??= Readable.from([data], { objectMode: false }));
    },
  };
}

/**
 * The cold path of zips. A zip that says it is at most `streamAfterBytes` long is read into
 * memory, checked there, answered and stored: no spool file to write, read back and remove.
 * Every other zip is fetched once at a time and spooled once; every client
 * asking for it meanwhile reads the spool as it grows. On the finished spool run the zip rules
 * (x/mod's CheckZip) and the source's own check (the checksum database's hash), while the last
 * byte is held back from every reader; only a zip that passed both is completed for the clients,
 * then stored. The clients' answer waits until the zip is checked, or for a large zip until its
 * first `streamAfterBytes` are in: a failure before that is an error status that says why (the go
 * command shows it, a checksum mismatch included); after it, a client's download is cut short. A
 * failed store only costs the cache: the readers finish.
 */
export class ZipFills {
  private readonly running = new Map<string, Fill>();

  constructor(private readonly options: ZipFillsOptions) {}

  /** The zip stored under `key`: joins the fill running for it, or starts one. */
  async download(key: string, path: string, version: string): Promise<Download> {
    const fill = this.running.get(key) ?? this.start(key, path, version, false);
    let spool: Spool | Buffer | undefined;
    try {
      spool = await fill.spooled;
    } catch (err) {
      if (err instanceof PrefetchYielded) return this.download(key, path, version);
      throw err;
    }
    if (Buffer.isBuffer(spool)) return inMemory(spool);
    if (spool?.failure) throw spool.failure;
    if (spool?.open) {
      const body = spool.reader();
      return fill.size === undefined ? { body } : { body, size: fill.size };
    }
    // Stored before this fill began, or since (and nobody reads its spool any more).
    const stored = await this.options.storage.get(key);
    if (!stored) throw new ProxyError("internal", `${path}@${version}: zip vanished from storage`);
    return { body: guarded(stored.body), size: stored.size };
  }

  /**
   * Fetches, checks and stores a zip no client asked for yet (joining the fill running for it,
   * if any). Skipped when its declared size would take the spool past half its bound (its space
   * is for clients first), or when the source does not declare one.
   */
  async prefetch(key: string, path: string, version: string): Promise<PrefetchOutcome> {
    let fill = this.running.get(key);
    if (!fill) {
      if (!this.roomForPrefetch(0)) return "skipped";
      fill = this.start(key, path, version, true);
    }
    try {
      await fill.spooled; // rejects with the reason a fill failed before its spool was open
    } catch (err) {
      if (err instanceof PrefetchYielded) return "skipped";
      throw err;
    }
    await fill.done;
    return fill.result === "stored" ? "fetched" : (fill.result ?? "failed");
  }

  /** Settles once the fill of `key` running now (if any) is over. */
  async settled(key: string): Promise<void> {
    await this.running.get(key)?.done;
  }

  /** Settles once every fill running now is over, and the spool files it let go of are removed. */
  async drain(): Promise<void> {
    await Promise.all([...this.running.values()].map((f) => f.done));
    await this.options.spools.settled();
  }

  /** Whether a prefetch of `size` more bytes leaves the spool at most half full. */
  private roomForPrefetch(size: number | undefined): boolean {
    const { spools } = this.options;
    return size !== undefined && !spools.full && (spools.bytesInUse + size) * 2 <= spools.maxBytes;
  }

  private start(key: string, path: string, version: string, prefetch: boolean): Fill {
    let spooled!: Settle<Spool | undefined>;
    const fill: Fill = {
      spooled: new Promise((resolve, reject) => (spooled = { resolve, reject })),
      done: Promise.resolve(),
      prefetch,
    };
    fill.spooled.catch(() => undefined); // the clients observe it; never an unhandled rejection
    this.running.set(key, fill);
    fill.done = this.run(key, path, version, fill, spooled).catch((err: unknown) => {
      this.options.logger.error({ event: "zip_fill_failed", key, err: String(err) }, "zip fill failed");
    });
    return fill;
  }

  private async run(
    key: string,
    path: string,
    version: string,
    fill: Fill,
    spooled: Settle<Spool | Buffer | undefined>,
  ): Promise<void> {
    const { storage, spools } = this.options;
    const what = `${path}@${version} zip`;
    let download: Download | undefined;
    let spool: Spool;
    try {
      if (spools.full) throw spools.refusal(what, 0);
      // Another request may have stored it since this one looked.
      if (await storage.stat(key).catch(() => undefined)) {
        this.running.delete(key);
        fill.result = "present";
        spooled.resolve(undefined);
        return;
      }
      download = await this.options.inner.zip(path, version);
      guarded(download.body);
      // Checked and reserved with no await between (spools.create and runInMemory reserve at once).
      if (fill.prefetch && !this.roomForPrefetch(download.size)) {
        download.body.destroy();
        this.running.delete(key);
        spooled.reject(new PrefetchYielded(`${what}: no spool room for a prefetch`));
        return;
      }
      if (download.size !== undefined && download.size <= this.options.streamAfterBytes) {
        await this.runInMemory(key, path, version, fill, spooled, download, download.size);
        return;
      }
      spool = await spools.create(what, download.size);
      fill.size = download.size;
    } catch (err) {
      download?.body.destroy();
      this.fail(key, err);
      spooled.reject(err);
      return;
    }
    const sourceCheck = download.check;
    const verdict = (async () => {
      await spool.fill(download.body, MAX_ZIP_BYTES, what);
      await this.check(spool.file, path, version, sourceCheck);
    })();
    verdict.catch(() => undefined); // awaited below
    try {
      await Promise.race([verdict, spool.reached(this.options.streamAfterBytes)]);
      spooled.resolve(spool);
      await verdict;
      spool.release();
    } catch (err) {
      const fault = err instanceof ProxyError ? err : new ProxyError("internal", `${what}: ${String(err)}`);
      spool.fail(fault);
      spooled.reject(fault);
      this.fail(key, fault);
      spool.close();
      return;
    }
    const body = spool.reader();
    try {
      await this.store(key, body, fill);
    } finally {
      body.destroy();
      // Later requests go to storage (or fetch again); the readers keep the spool alive.
      this.running.delete(key);
      spool.close();
    }
  }

  /**
   * A zip whose declared size is small: read into memory (the size held in the spool's budget
   * meanwhile), checked, handed to the clients, then stored.
   */
  private async runInMemory(
    key: string,
    path: string,
    version: string,
    fill: Fill,
    spooled: Settle<Spool | Buffer | undefined>,
    download: Download,
    size: number,
  ): Promise<void> {
    const { spools } = this.options;
    const what = `${path}@${version} zip`;
    if (spools.full || !spools.reserve(size)) {
      download.body.destroy();
      throw spools.refusal(`${what} (${size} bytes)`, size);
    }
    try {
      let data: Buffer;
      try {
        data = download.data ?? (await readLimited(download.body, size, what));
        if (data.length !== size) {
          throw new ProxyError("upstream", `${what}: got ${data.length} of the ${size} bytes declared`);
        }
        await this.check(data, path, version, download.check);
      } catch (err) {
        download.body.destroy();
        const fault = err instanceof ProxyError ? err : new ProxyError("internal", `${what}: ${String(err)}`);
        spooled.reject(fault);
        this.fail(key, fault);
        return;
      }
      fill.size = data.length;
      spooled.resolve(data);
      try {
        if (await this.store(key, data, fill)) this.options.stored?.(key, data);
      } finally {
        this.running.delete(key);
      }
    } finally {
      spools.free(size);
    }
  }

  /**
   * Stores a checked zip and records in `fill` whether this stored it; false when the storage
   * refused it. The zip is complete and checked and its clients have it: only caching failed.
   */
  private async store(key: string, zip: Readable | Buffer, fill: Fill): Promise<boolean> {
    try {
      const put = await this.options.storage.put(key, zip, { ifNoneMatch: true, maxBytes: MAX_ZIP_BYTES });
      fill.result = put.created ? "stored" : "present";
      return true;
    } catch (err) {
      this.options.metrics?.cacheWriteFailures.inc({ kind: "zip" });
      this.options.logger.error({ event: "cache_write_failed", key, err: String(err) }, "could not store");
      return false;
    }
  }

  /** x/mod's zip rules and the source's own check, on the whole zip; a security failure wins. */
  private async check(
    zip: string | Buffer,
    path: string,
    version: string,
    sourceCheck: ((zip: string | Buffer) => Promise<void>) | undefined,
  ): Promise<void> {
    const results = await Promise.allSettled([checkModuleZip(zip, path, version), sourceCheck?.(zip)]);
    const failures = results.flatMap((r) => (r.status === "rejected" ? [r.reason as unknown] : []));
    if (failures.length === 0) return;
    throw failures.find((f) => f instanceof ProxyError && f.kind === "security") ?? failures[0];
  }

  private fail(key: string, err: unknown): void {
    this.running.delete(key);
    // "unavailable" is only ever the spool's: its space held by downloads in progress, or its disk
    // full. Logged as its own event, which the AWS construct's SpoolFull alarm counts.
    if (err instanceof ProxyError && err.kind === "unavailable") {
      this.options.logger.warn({ event: "spool_full", key, err: err.message }, "zip refused: spool full");
      return;
    }
    // A zip the sources do not have is an answer (404), not a fault: a prefetch meets one for every
    // version whose go.mod an upstream serves without its zip.
    const level = isNotFound(err) ? "debug" : "warn";
    this.options.logger[level]({ event: "zip_not_cached", key, err: String(err) }, "zip not cached");
  }
}
