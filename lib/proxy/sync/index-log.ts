import { randomBytes } from "node:crypto";
import { invalid } from "../errors";
import { readLimited } from "../read-limited";
import type { Storage } from "../storage/storage";
import { parseModuleFileKey, type ModuleFileKey } from "../cache/keys";

/**
 * The record of when each module version was stored, kept in the storage itself so that every
 * backend and every replica shares it: what `/index` serves and `gomirror sync` follows.
 *
 * It is append-only and needs no coordination between replicas: entries are written in immutable
 * objects, each created once under a name no other writer can pick,
 * `index/<day>/<last>-<first>-<random>` (the microseconds since 1970 of its last and first
 * entries, 16 digits each), holding one `{"Path","Version","Timestamp"}` line per entry. Entries
 * appended while a writer's previous object is being written go into its next one (an object per
 * stored file would cost a file creation per file, as much as the file itself). Days
 * that hold entries are named by empty objects `index/days/<day>`, so a reader lists the days once
 * and then only the days it needs, in key order, which is time order. A writer's clock decides
 * its entries' place; a reader that follows the feed reads a little before where it stopped (see
 * sync), so a replica whose clock lags or whose write is slow is not missed.
 */

/** One line of the feed, index.golang.org's format. */
export interface IndexEntry {
  readonly Path: string;
  readonly Version: string;
  /** RFC 3339 in UTC, microsecond precision. */
  readonly Timestamp: string;
}

const PREFIX = "index/";
const DAYS = `${PREFIX}days/`;
const MAX_ENTRY_BYTES = 4096;
/** Entries written in one object at most (what a reader reads of one is bounded by it). */
const MAX_BATCH = 256;
const MAX_OBJECT_BYTES = MAX_BATCH * MAX_ENTRY_BYTES;
/** The feed's page size, as index.golang.org's. */
export const MAX_INDEX_LIMIT = 2000;

/** Microseconds since 1970 from an RFC 3339 time (finer digits are dropped: `since` is inclusive). */
export function parseTimestamp(text: string): number {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(text);
  const ms = m ? Date.parse(`${m[1]}${m[3]}`) : NaN;
  if (!m || Number.isNaN(ms)) {
    throw invalid(
      `invalid time ${JSON.stringify(text.slice(0, 100))}: want RFC 3339, e.g. 2024-05-01T00:00:00Z`,
    );
  }
  return ms * 1000 + Number((m[2] ?? "").padEnd(6, "0").slice(0, 6));
}

export function formatTimestamp(micros: number): string {
  const iso = new Date(Math.floor(micros / 1000)).toISOString(); // ...T12:34:56.789Z
  return `${iso.slice(0, -1)}${String(micros % 1000).padStart(3, "0")}Z`;
}

const dayOf = (micros: number): string => new Date(Math.floor(micros / 1000)).toISOString().slice(0, 10);
/**
 * The times of the first and last entries of an object, from its name:
 * `<last>-<first>-<random>` (several entries) or `<micros>-<random>` (one).
 */
function spanOfKey(key: string): { first: number; last: number } {
  const parts = key.slice(key.lastIndexOf("/") + 1).split("-");
  const last = Number(parts[0]);
  return { first: parts.length === 3 ? Number(parts[1]) : last, last };
}

/** What a rebuild of the index found and did. */
export interface RebuildSummary {
  /** Module files (`.mod`, `.zip`) in the storage. */
  readonly files: number;
  /** Entries added now. */
  readonly added: number;
}

interface Pending {
  readonly entry: IndexEntry;
  readonly micros: number;
  readonly written: { resolve(): void; reject(err: unknown): void };
}

export class IndexLog {
  private last = 0;
  private readonly daysMarked = new Set<string>();
  private backfill: Promise<unknown> | undefined;
  /** Entries waiting for the object being written now to be done. */
  private queue: Pending[] = [];
  private writing = false;

  constructor(
    private readonly storage: Storage,
    /**
     * Microseconds since 1970 (tests move it). The wall clock, as `--since` and a follower's
     * times are: a monotonic clock drifts from it over a long-running process. Entries within one
     * millisecond are told apart by `append`'s strict increase.
     */
    private readonly clock: () => number = () => Date.now() * 1000,
    /** Rebuild an index that has no entries at all from the storage on the first read. @default true */
    private readonly autoRebuild = true,
  ) {}

  /** Records that a file of `path@version` was stored now; settles once the record is stored. */
  async append(path: string, version: string): Promise<IndexEntry> {
    // Strictly increasing within this writer, so its own entries never tie.
    const micros = Math.max(this.clock(), this.last + 1);
    this.last = micros;
    const entry: IndexEntry = { Path: path, Version: version, Timestamp: formatTimestamp(micros) };
    await new Promise<void>((resolve, reject) => {
      this.queue.push({ entry, micros, written: { resolve, reject } });
      if (!this.writing) void this.writeQueued();
    });
    return entry;
  }

  /** Writes what is queued, one object per day and MAX_BATCH entries, until nothing is. */
  private async writeQueued(): Promise<void> {
    this.writing = true;
    try {
      while (this.queue.length > 0) {
        const day = dayOf(this.queue[0]!.micros);
        let n = 0;
        while (n < this.queue.length && n < MAX_BATCH && dayOf(this.queue[n]!.micros) === day) n++;
        const batch = this.queue.slice(0, n);
        this.queue = this.queue.slice(n);
        try {
          await this.writeBatch(day, batch);
          for (const p of batch) p.written.resolve();
        } catch (err) {
          for (const p of batch) p.written.reject(err);
        }
      }
    } finally {
      this.writing = false;
    }
  }

  private async writeBatch(day: string, batch: readonly Pending[]): Promise<void> {
    if (!this.daysMarked.has(day)) {
      await this.storage.put(`${DAYS}${day}`, Buffer.alloc(0), { ifNoneMatch: true });
      this.daysMarked.add(day);
    }
    const time = (p: Pending): string => String(p.micros).padStart(16, "0");
    const key = `${PREFIX}${day}/${time(batch[batch.length - 1]!)}-${time(batch[0]!)}-${randomBytes(6).toString("hex")}`;
    const lines = batch.map((p) => `${JSON.stringify(p.entry)}\n`).join("");
    await this.storage.put(key, Buffer.from(lines), { ifNoneMatch: true });
  }

  /**
   * Entries stored at or after `sinceMicros`, oldest first, at most `limit` of those `keep`
   * accepts (the caller's access rules).
   */
  async read(
    sinceMicros: number,
    limit: number,
    keep: (e: IndexEntry) => boolean = () => true,
  ): Promise<IndexEntry[]> {
    let days = await this.days();
    if (days.length === 0 && this.autoRebuild) {
      // An index that was never written, over a storage that may hold modules (stored before
      // the feed existed): rebuilt once per process, on the first read.
      await (this.backfill ??= this.rebuild().catch(() => undefined));
      days = await this.days();
    }
    return this.readDays(days, sinceMicros, limit, keep);
  }

  /**
   * Adds an entry, stamped now, for each `.mod` and `.zip` in the storage that the index does
   * not account for (a version is listed once per file, as when it is stored), in module path
   * and version order, go.mod first. Stamped now rather than with the files' own times, so a
   * peer following the feed from where it stopped reads them on its next sync. Running it again
   * adds nothing.
   */
  async rebuild(): Promise<RebuildSummary> {
    const recorded = new Map<string, number>();
    for (const e of await this.readDays(await this.days(), 0, Number.MAX_SAFE_INTEGER, () => true)) {
      const key = `${e.Path}@${e.Version}`;
      recorded.set(key, (recorded.get(key) ?? 0) + 1);
    }
    const files: ModuleFileKey[] = [];
    for await (const key of this.storage.list("")) {
      const file = key.startsWith(PREFIX) ? undefined : parseModuleFileKey(key);
      if (file) files.push(file);
    }
    const order = (f: ModuleFileKey): string => `${f.path}@${f.version}#${f.ext === "mod" ? 0 : 1}`;
    files.sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0));
    let added = 0;
    for (const f of files) {
      const key = `${f.path}@${f.version}`;
      const left = recorded.get(key) ?? 0;
      if (left > 0) {
        recorded.set(key, left - 1);
        continue;
      }
      await this.append(f.path, f.version);
      added++;
    }
    return { files: files.length, added };
  }

  private async days(): Promise<string[]> {
    const days: string[] = [];
    for await (const key of this.storage.list(DAYS)) days.push(key.slice(DAYS.length));
    return days.sort();
  }

  private async readDays(
    days: readonly string[],
    sinceMicros: number,
    limit: number,
    keep: (e: IndexEntry) => boolean,
  ): Promise<IndexEntry[]> {
    const first = dayOf(sinceMicros);
    const out: IndexEntry[] = [];
    for (const day of days.filter((d) => d >= first)) {
      const objects: { key: string; first: number; last: number }[] = [];
      for await (const key of this.storage.list(`${PREFIX}${day}/`)) {
        const span = spanOfKey(key);
        if (span.last >= sinceMicros) objects.push({ key, ...span });
      }
      objects.sort((a, b) => a.last - b.last || (a.key < b.key ? -1 : 1));
      // Objects are read in the order of their last entries; another writer's object may still
      // hold entries from before those read. An entry is given out only once it precedes the
      // first entry of every object not read yet, so a page never skips one that a follower,
      // asking from the page's last time, would then never see.
      const unreadFirst: number[] = Array<number>(objects.length + 1).fill(Number.POSITIVE_INFINITY);
      for (let i = objects.length - 1; i >= 0; i--) {
        unreadFirst[i] = Math.min(objects[i]!.first, unreadFirst[i + 1]!);
      }
      let pending: { e: IndexEntry; micros: number }[] = [];
      for (let i = 0; i < objects.length && out.length < limit;) {
        const chunk = objects.slice(i, i + 16);
        i += chunk.length;
        for (const e of (await Promise.all(chunk.map((o) => this.entries(o.key)))).flat()) {
          const micros = parseTimestamp(e.Timestamp);
          if (micros >= sinceMicros && keep(e)) pending.push({ e, micros });
        }
        pending.sort((a, b) => a.micros - b.micros);
        const ready = pending.filter((p) => p.micros < unreadFirst[i]!).slice(0, limit - out.length);
        for (const p of ready) out.push(p.e);
        pending = pending.slice(ready.length);
      }
      if (out.length >= limit) break;
    }
    return out;
  }

  /** The entries of one object (one JSON line each). */
  private async entries(key: string): Promise<IndexEntry[]> {
    const obj = await this.storage.get(key);
    if (!obj) return [];
    const text = (await readLimited(obj.body, MAX_OBJECT_BYTES, key)).toString("utf8");
    return text
      .split("\n")
      .filter((line) => line.trim() !== "")
      .map((line) => {
        const e = JSON.parse(line) as IndexEntry;
        return { Path: e.Path, Version: e.Version, Timestamp: e.Timestamp };
      });
  }
}
