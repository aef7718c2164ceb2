import { createHash } from "node:crypto";
import type { Logger } from "pino";
import type { Dispatcher } from "undici";
import { CachedSource } from "../cache/cached-source";
import { storageKeys } from "../cache/keys";
import { listHeldVersions } from "../cache/version-list";
import { isNotFound } from "../errors";
import { checkCanonicalVersion } from "../module/version";
import { checkPath } from "../module/path";
import { UpstreamProxySource } from "../sources/upstream";
import type { Storage } from "../storage/storage";
import { SumdbClient } from "../sumdb/client";
import type { SumdbConfig } from "../sumdb/config";
import { VerifyingSource } from "../sumdb/verify";
import type { ProxyListEntry } from "../sources/proxy-list";
import { formatTimestamp, MAX_INDEX_LIMIT, parseTimestamp, type IndexEntry } from "./index-log";
import { fetchIndexPage } from "./peer-index";

/**
 * `gomirror sync --from URL`: copies into this mirror's storage what a peer gomirror stored and
 * this one lacks, following the peer's `/index`. Each version's `.info`, `.mod` and `.zip` come
 * from the peer's GOPROXY endpoints through the same cache and verifier the proxy uses: public
 * modules are checked against the checksum database (reached as configured, or through the
 * peer's `/sumdb/` when it cannot be), zips are checked as module zips, and each file is stored
 * whole or not at all. Where it stopped is kept in the storage (`sync/<peer>/state`), so a sync
 * that was stopped goes on from there; it reads the feed again from a little before that point,
 * because a peer's replicas may record a version a moment after a later one.
 */

export interface SyncOptions {
  /** The peer's base URL (what its clients put in GOPROXY). */
  readonly from: string;
  /** Sends the token to the peer only (peer.ts). */
  readonly dispatcher: Dispatcher;
  /** This mirror's storage (an IndexedStorage, so its own /index lists what arrives). */
  readonly storage: Storage;
  /** The checksum database, or undefined with GOSUMDB=off (nothing verified). */
  readonly sumdb?: SumdbConfig;
  readonly noSumdb: string;
  readonly proxyList: readonly ProxyListEntry[];
  readonly timeoutMs: number;
  /** Start here (microseconds since 1970) instead of where the last sync stopped. */
  readonly since?: number;
  /** A line now and then: the progress. */
  readonly report: (line: string) => void;
  readonly logger: Logger;
  /** Versions copied at once. @default 4 */
  readonly concurrency?: number;
  /** Feed entries asked for at once. @default 2000 (the most `/index` gives) */
  readonly pageSize?: number;
}

export interface SyncSummary {
  /** Feed entries looked at. */
  readonly checked: number;
  /** Versions that had files copied, and that were complete here already. */
  readonly copied: number;
  readonly present: number;
  readonly failures: readonly string[];
  /** Where the next sync starts, RFC 3339 (empty when nothing was read). */
  readonly mark: string;
}

/** How far before its mark a sync reads the feed again. */
export const REREAD_MICROS = 10 * 60 * 1_000_000;

function stateKey(from: string): string {
  const u = new URL(from);
  const id = createHash("sha256")
    .update(`${u.origin}${u.pathname.replace(/\/+$/, "")}`)
    .digest("hex")
    .slice(0, 24);
  return `sync/${id}/state`;
}

async function readMark(storage: Storage, key: string): Promise<number | undefined> {
  const obj = await storage.get(key);
  if (!obj) return undefined;
  const chunks: Buffer[] = [];
  for await (const c of obj.body) chunks.push(c as Buffer);
  const state = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { since?: string };
  return state.since ? parseTimestamp(state.since) : undefined;
}

export async function runSync(options: SyncOptions): Promise<SyncSummary> {
  const { storage, logger } = options;
  const from = options.from.replace(/\/+$/, "");
  const peer = new UpstreamProxySource(from, {
    timeoutMs: options.timeoutMs,
    dispatcher: options.dispatcher,
    logger,
  });
  const verified = options.sumdb
    ? new VerifyingSource(peer, {
        database: new SumdbClient({
          config: options.sumdb,
          storage,
          proxyList: options.proxyList,
          timeoutMs: options.timeoutMs,
          dispatcher: options.dispatcher,
          alsoVia: [`${from}/sumdb/${options.sumdb.name}`],
          logger,
        }),
        noSumdb: options.noSumdb,
        logger,
      })
    : peer;
  const cache = new CachedSource(verified, storage, { ttlSeconds: 60, logger });

  const key = stateKey(from);
  const saved = await readMark(storage, key);
  let mark = options.since ?? saved ?? 0;
  let readFrom = options.since ?? Math.max(0, mark - REREAD_MICROS);
  let checked = 0;
  let copied = 0;
  let present = 0;
  const failures: string[] = [];
  const pageSize = options.pageSize ?? MAX_INDEX_LIMIT;

  const copy = async (e: IndexEntry): Promise<"copied" | "present"> => {
    checkPath(e.Path);
    checkCanonicalVersion(e.Path, e.Version);
    const [mod, zip] = await Promise.all([
      storage.stat(storageKeys.mod(e.Path, e.Version)),
      storage.stat(storageKeys.zip(e.Path, e.Version)),
    ]);
    if (mod && zip) return "present";
    await cache.info(e.Path, e.Version).catch((err: unknown) => {
      if (!isNotFound(err)) throw err;
    });
    await cache.mod(e.Path, e.Version);
    // A version the peer holds only the go.mod of (one in a requirement graph, never built).
    await cache.storedZip(e.Path, e.Version).catch((err: unknown) => {
      if (!isNotFound(err)) throw err;
    });
    return "copied";
  };

  for (;;) {
    const page = await fetchIndexPage(from, options.dispatcher, readFrom, pageSize);
    const outcomes: (string | undefined)[] = new Array<string | undefined>(page.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < page.length) {
        const i = next++;
        const e = page[i];
        try {
          if ((await copy(e)) === "copied") copied++;
          else present++;
        } catch (err) {
          outcomes[i] = `${e.Path}@${e.Version}: ${(err as Error).message}`;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 4) }, worker));
    checked += page.length;
    const failedBefore = failures.length > 0;
    const firstFailure = outcomes.findIndex((o) => o !== undefined);
    failures.push(...outcomes.filter((o): o is string => o !== undefined));
    // The mark moves up to the first failure only: a failed version is tried again next time.
    const upTo = firstFailure < 0 ? page.length : firstFailure;
    // Listed before the mark moves past them, so a sync stopped here lists them next time.
    await listHeldVersions(
      storage,
      page.filter((_, i) => outcomes[i] === undefined).map((e) => ({ path: e.Path, version: e.Version })),
    );
    if (upTo > 0 && !failedBefore) {
      mark = Math.max(mark, parseTimestamp(page[upTo - 1].Timestamp));
      await storage.put(key, Buffer.from(JSON.stringify({ from, since: formatTimestamp(mark) })));
    }
    options.report(
      `sync: ${checked} versions looked at, ${copied} copied, ${present} already here, ${failures.length} failed` +
        (page.length > 0 ? `, up to ${page[page.length - 1].Timestamp}` : ""),
    );
    if (page.length < pageSize) break;
    const last = parseTimestamp(page[page.length - 1].Timestamp);
    readFrom = last > readFrom ? last : readFrom + 1;
  }
  await cache.drain();
  return { checked, copied, present, failures, mark: mark > 0 ? formatTimestamp(mark) : "" };
}
