import type { Logger } from "pino";
import type { Dispatcher } from "undici";
import { readLimited } from "../read-limited";
import { ProxyError } from "../errors";
import { SUMDB_HINT, unreachableCode } from "../net/unreachable";
import { undici } from "../net/undici";
import { HOP_HEADER } from "../http/hop";
import { escapePath, escapeVersion } from "../module/escape";
import type { ProxyListEntry } from "../sources/proxy-list";
import type { Storage } from "../storage/storage";
import type { SumdbConfig } from "./config";
import { openNote, parseVerifierKey, type NoteVerifier } from "./note";
import { isFullTile, StorageSumdbStore, type SumdbStore } from "./store";
import {
  EMPTY_TREE_HASH,
  HASH_SIZE,
  parseRecord,
  parseTree,
  recordHash,
  storedHashIndex,
  tileHashReader,
  tileRoot,
  tilePath,
  treeHash,
  type Tile,
  type TileReader,
  type Tree,
} from "./tlog";

/**
 * A client of one checksum database (what golang.org/x/mod/sumdb.Client does for the go command):
 * every answer is authenticated before it is believed. Tree heads must carry a valid signature by
 * the configured key; records must be included in the signed tree (checked through tiles, each
 * tile checked against the tree); every tree must be consistent with the largest tree verified so
 * far, which is kept in the storage (`sumdb/<name>/latest`) so a restart or another replica cannot
 * be shown a forked log. A database caught presenting an inconsistent log is refused with a
 * "security" error.
 *
 * What it authenticated is kept in the storage (see store.ts): the tree head, lookups, full tiles
 * and the widest partial tiles. When the database cannot be reached, `latest` and tiles are
 * answered from there, saying when they were kept; nothing is ever made up or signed here.
 */

export interface SumdbClientOptions {
  readonly config: SumdbConfig;
  readonly storage: Storage;
  /**
   * The upstream GOPROXY list: without a URL in GOSUMDB, the database is reached through the first
   * proxy whose `/sumdb/<name>/supported` answers 200 (404/410 moves on, as the go command does),
   * else directly at `https://<name>`.
   * @default [] (direct)
   */
  readonly proxyList?: readonly ProxyListEntry[];
  /** Milliseconds a request to the database may take. @default 30000 */
  readonly timeoutMs?: number;
  /** @default undici's global dispatcher */
  readonly dispatcher?: Dispatcher;
  /** This proxy's hop id, sent in `Gomirror-Hop` (the database may be reached through a proxy). */
  readonly hop?: string;
  readonly logger?: Logger;
  /** Milliseconds partial tiles and the `latest` answer are reused. @default 60000 */
  readonly shortTtlMs?: number;
  /** Tile height the database serves. @default 8 (every Go checksum database) */
  readonly tileHeight?: number;
  /**
   * More places to reach the database at, tried in turn when the first cannot be reached: a peer
   * mirror's `/sumdb/<name>` (every answer is verified here all the same).
   * @default none
   */
  readonly alsoVia?: readonly string[];
  /** Wraps the store of kept answers (bundles read proofs through it, or record them). */
  readonly wrapStore?: (store: SumdbStore) => SumdbStore;
}

/** The go.sum lines a database holds for one module version. */
export interface SumdbLookup {
  /** Record number in the log. */
  readonly id: number;
  /** `h1:` hash of the module zip, if the record has it. */
  readonly zipHash: string | undefined;
  /** `h1:` hash of the go.mod file, if the record has it. */
  readonly modHash: string | undefined;
  /** The verified answer, byte for byte, as `/lookup/` serves it. */
  readonly raw: Buffer;
}

/** A raw answer of the database, with how long it may be cached. */
export interface SumdbAnswer {
  readonly body: Buffer;
  /** True when the data can never change (full tiles, lookups). */
  readonly immutable: boolean;
  /** When the answer was kept, if it comes from the storage because the database was unreachable. */
  readonly savedAt?: Date;
}

const MAX_ANSWER_BYTES = 1024 * 1024;
const PROBE_TTL_MS = 10 * 60_000;

function upstreamError(message: string, cause?: unknown): ProxyError {
  const hint = unreachableCode(cause) !== undefined ? `; ${SUMDB_HINT}` : "";
  return new ProxyError("upstream", `${message}${hint}`, { cause });
}

/** An HTTP status from the database other than 200: 404/410 mean "no such record/tile". */
class StatusError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function isUnreachable(err: unknown): boolean {
  return err instanceof ProxyError && err.kind === "upstream";
}

export class SumdbClient {
  readonly name: string;
  private readonly verifier: NoteVerifier;
  private readonly store: SumdbStore;
  private readonly timeoutMs: number;
  private readonly shortTtlMs: number;
  private readonly height: number;

  private latest: Tree = { n: 0, hash: EMPTY_TREE_HASH };
  private latestMsg: Buffer = Buffer.alloc(0);
  /** When the latest tree head was kept in the storage (what an offline answer reports). */
  private latestSavedAt: Date | undefined;
  /** Until then, `latest` and partial tiles come from the storage without asking the database. */
  private offlineUntil = 0;
  private loaded: Promise<void> | undefined;
  /** Serialises tree merges so two answers never race to install a latest tree. */
  private mergeChain: Promise<unknown> = Promise.resolve();
  private base: { url: string; until: number } | undefined;
  private readonly inflight = new Map<string, Promise<Buffer>>();
  private readonly shortCache = new Map<string, { body: Buffer; until: number }>();

  constructor(private readonly options: SumdbClientOptions) {
    this.verifier = parseVerifierKey(options.config.key);
    this.name = this.verifier.name;
    const store = new StorageSumdbStore(options.storage, this.name);
    this.store = options.wrapStore ? options.wrapStore(store) : store;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.shortTtlMs = options.shortTtlMs ?? 60_000;
    this.height = options.tileHeight ?? 8;
  }

  /** The largest tree verified so far (after loading the stored one). */
  async verifiedTree(): Promise<Tree> {
    await this.load();
    return this.latest;
  }

  /** The largest verified tree and its signed note (empty before any tree was verified). */
  async verifiedNote(): Promise<{ readonly tree: Tree; readonly note: Buffer }> {
    await this.load();
    return { tree: this.latest, note: this.latestMsg };
  }

  /**
   * Verifies a signed tree head (signature by the configured key, consistency with the largest
   * tree verified so far, in either direction) and keeps it when it is the largest.
   */
  async trust(note: Buffer): Promise<Tree> {
    await this.load();
    await this.mergeLatest(note);
    return parseTree(openNote(note, [this.verifier]).text);
  }

  /**
   * Looks up a module version and returns its verified hashes. Throws ProxyError "not-found"
   * when the database has no record of it, "security" when the database misbehaves, "upstream"
   * when it cannot be reached or answers garbage.
   */
  async lookup(path: string, version: string): Promise<SumdbLookup> {
    const epath = escapePath(path);
    const evers = escapeVersion(version);
    const raw = await this.lookupRaw(`${epath}@${evers}`);
    const { id, text } = parseRecord(raw);
    let zipHash: string | undefined;
    let modHash: string | undefined;
    for (const line of text.toString("utf8").split("\n")) {
      const f = line.split(" ");
      if (f.length !== 3 || f[0] !== path) continue;
      if (f[1] === version && f[2].startsWith("h1:")) zipHash ??= f[2];
      if (f[1] === `${version}/go.mod` && f[2].startsWith("h1:")) modHash ??= f[2];
    }
    return { id, zipHash, modHash, raw };
  }

  /**
   * The verified `/lookup/<escaped path>@<escaped version>` answer, from the storage or fetched,
   * verified (signed tree, record inclusion, consistency) and stored.
   */
  async lookupRaw(escapedModVer: string): Promise<Buffer> {
    await this.load();
    return this.once(`lookup/${escapedModVer}`, async () => {
      const stored = await this.store.lookup(escapedModVer);
      const data = stored ?? (await this.readRemote(`/lookup/${escapedModVer}`, `lookup ${escapedModVer}`));
      await this.verifyLookup(data, escapedModVer);
      if (!stored) await this.store.saveLookup(escapedModVer, data);
      return data;
    });
  }

  private async verifyLookup(data: Buffer, what: string): Promise<void> {
    let parsed: ReturnType<typeof parseRecord>;
    try {
      parsed = parseRecord(data);
    } catch (err) {
      throw upstreamError(`${this.name} lookup ${what}: ${(err as Error).message}`, err);
    }
    await this.mergeLatest(parsed.rest);
    const tree = this.latest;
    if (parsed.id < 0 || parsed.id >= tree.n) {
      throw upstreamError(
        `${this.name} lookup ${what}: cannot validate record ${parsed.id} in tree of size ${tree.n}`,
      );
    }
    const [h] = await this.hashReader(tree)([storedHashIndex(0, parsed.id)]).catch((err: unknown) => {
      throw this.tileFailure(`lookup ${what}`, err);
    });
    if (!h.equals(recordHash(parsed.text))) {
      throw new ProxyError(
        "security",
        `${this.name} lookup ${what}: cannot authenticate record data in server response (record ${parsed.id})`,
      );
    }
  }

  /**
   * The database's current signed tree head, verified against the key and checked for
   * consistency with the largest verified tree. Reused for `shortTtlMs`. When the database
   * cannot be reached, the largest verified tree head kept, with the time it was kept.
   */
  async fetchLatest(): Promise<SumdbAnswer> {
    await this.load();
    const cached = this.shortCache.get("latest");
    if (cached && cached.until > Date.now()) return { body: cached.body, immutable: false };
    if (this.offlineUntil > Date.now() && this.latestMsg.length > 0) return this.keptLatest();
    try {
      const body = await this.once("latest", async () => {
        const msg = await this.readRemote("/latest", "latest");
        await this.mergeLatest(msg);
        this.shortCache.set("latest", { body: msg, until: Date.now() + this.shortTtlMs });
        return msg;
      });
      return { body, immutable: false };
    } catch (err) {
      if (!isUnreachable(err) || this.latestMsg.length === 0) throw err;
      this.wentOffline(err);
      return this.keptLatest();
    }
  }

  private keptLatest(): SumdbAnswer {
    return { body: this.latestMsg, immutable: false, savedAt: this.latestSavedAt };
  }

  /** Answers that may come from the storage do so for a while without trying the database. */
  private wentOffline(err: unknown): void {
    if (this.offlineUntil <= Date.now()) {
      this.options.logger?.warn(
        { event: "sumdb_offline", sumdb: this.name, err: String(err) },
        "checksum database unreachable: answering from what the storage keeps",
      );
    }
    this.offlineUntil = Date.now() + this.shortTtlMs;
  }

  /**
   * A tile for the /sumdb proxy. Full tiles are authenticated against the verified tree when it
   * covers them and then kept for good; partial tiles and data tiles are relayed and kept briefly
   * (the go command behind us authenticates them itself).
   */
  async fetchTile(tile: Tile): Promise<SumdbAnswer> {
    await this.load();
    const full = isFullTile(tile);
    const kept = tile.h === this.height ? this.store.tile.bind(this.store) : async () => undefined;
    if (full) {
      const stored = await kept(tile);
      if (stored) return { body: stored.data, immutable: true };
    }
    const short = this.shortCache.get(tilePath(tile));
    if (short && short.until > Date.now()) return { body: short.body, immutable: false };

    let data: Buffer;
    try {
      if (this.offlineUntil > Date.now()) throw upstreamError(`${this.name}: unreachable a moment ago`);
      data = await this.readTileRemote(tile);
    } catch (err) {
      const stored = isUnreachable(err) ? await kept(tile) : undefined;
      if (!stored) throw err;
      this.wentOffline(err);
      // A partial tile kept is a prefix of the tile at its position: the database's own bytes.
      return { body: stored.data, immutable: false, savedAt: stored.modified };
    }
    if (full && tile.l >= 0 && tile.h === this.height) {
      let verdict = await this.authenticateFullTile(tile, data);
      if (verdict === "unknown") {
        // Our verified tree may be older than the client's: catch up once, then judge.
        await this.fetchLatest().catch(() => undefined);
        verdict = await this.authenticateFullTile(tile, data);
      }
      if (verdict === "bad") {
        throw new ProxyError(
          "security",
          `${this.name}: ${tilePath(tile)} from the database does not match its verified tree`,
        );
      }
      if (verdict === "ok") {
        await this.store.saveTile(tile, data);
        return { body: data, immutable: true };
      }
    }
    // Partial and data tiles, and full tiles beyond the verified tree: relayed, kept briefly.
    this.rememberShort(tilePath(tile), data);
    return { body: data, immutable: false };
  }

  /** Whether a full tile's content hashes to its root as recorded in the verified tree. */
  private async authenticateFullTile(tile: Tile, data: Buffer): Promise<"ok" | "bad" | "unknown"> {
    const level = (tile.l + 1) * tile.h;
    const tree = this.latest;
    if (data.length !== tile.w * HASH_SIZE) return "bad";
    // The tile's root is a complete subtree only once the tree holds all its records.
    if ((tile.n + 1) * 2 ** level > tree.n) return "unknown";
    let root: Buffer;
    try {
      [root] = await this.hashReader(tree)([storedHashIndex(level, tile.n)]);
    } catch {
      return "unknown";
    }
    return root.equals(tileRoot(data)) ? "ok" : "bad";
  }

  // ---- the tree head ----

  private load(): Promise<void> {
    this.loaded ??= (async () => {
      const stored = await this.store.latest();
      if (!stored) return;
      await this.mergeLatest(stored.data, false).catch((err: unknown) => {
        throw new ProxyError(
          "security",
          `${this.name}: the verified tree head kept in storage (sumdb/${this.name}/latest) does not verify with the configured key: ` +
            `${(err as Error).message}\nIf GOSUMDB's key was changed on purpose, delete that object.`,
          { cause: err },
        );
      });
      this.latestSavedAt = stored.modified;
    })().catch((err: unknown) => {
      this.loaded = undefined;
      throw err;
    });
    return this.loaded;
  }

  private mergeLatest(msg: Buffer, persist = true): Promise<void> {
    const run = this.mergeChain.then(() => this.mergeLatestNow(msg, persist));
    this.mergeChain = run.catch(() => undefined);
    return run;
  }

  private async mergeLatestNow(msg: Buffer, persist: boolean): Promise<void> {
    let tree: Tree;
    try {
      const note = openNote(msg, [this.verifier]);
      tree = parseTree(note.text);
    } catch (err) {
      throw new ProxyError(
        "security",
        `${this.name}: reading tree note: ${(err as Error).message} (is the GOSUMDB key right?)\nnote:\n${msg.toString("utf8")}`,
        { cause: err },
      );
    }
    if (tree.n <= this.latest.n) {
      await this.checkTrees(tree, msg, this.latest, this.latestMsg);
      return;
    }
    await this.checkTrees(this.latest, this.latestMsg, tree, msg);
    this.latest = tree;
    this.latestMsg = msg;
    if (persist) await this.persistLatest(msg);
  }

  /** Keeps the largest verified tree in the storage, so restarts and replicas share it. */
  private async persistLatest(msg: Buffer): Promise<void> {
    const kept = await this.store.latest();
    if (kept && !kept.data.equals(msg)) {
      // Another replica may have stored a larger tree meanwhile: merge it (which also checks it).
      const other = parseTree(openNote(kept.data, [this.verifier]).text);
      if (other.n > this.latest.n) {
        await this.checkTrees(this.latest, this.latestMsg, other, kept.data);
        this.latest = other;
        this.latestMsg = kept.data;
        this.latestSavedAt = kept.modified;
        return;
      }
      if (other.n === this.latest.n) return;
    }
    await this.store.saveLatest(msg);
    this.latestSavedAt = new Date();
  }

  /** Checks that `older` is a prefix of `newer`, using hashes from `newer`'s tiles. */
  private async checkTrees(older: Tree, olderMsg: Buffer, newer: Tree, newerMsg: Buffer): Promise<void> {
    let h: Buffer;
    try {
      h = await treeHash(older.n, this.hashReader(newer));
    } catch (err) {
      const what = older.n === newer.n ? `tree#${older.n}` : `tree#${older.n} against tree#${newer.n}`;
      throw this.tileFailure(`checking ${what}`, err);
    }
    if (h.equals(older.hash)) return;
    const indent = (b: Buffer): string => b.toString("utf8").replace(/\n/g, "\n\t");
    const message =
      `SECURITY ERROR\n${this.name}: go.sum database server misbehavior detected!\n\n` +
      `old database:\n\t${indent(olderMsg)}\nnew database:\n\t${indent(newerMsg)}\n` +
      `proof of misbehavior: tree#${older.n} hashes to ${h.toString("base64")} in the new database, ` +
      `not ${older.hash.toString("base64")}`;
    this.options.logger?.error(
      { event: "sumdb_misbehavior", sumdb: this.name, oldSize: older.n, newSize: newer.n },
      message,
    );
    throw new ProxyError("security", message);
  }

  private tileFailure(what: string, err: unknown): ProxyError {
    if (err instanceof ProxyError) return err;
    const message = (err as Error).message;
    const kind = /inconsistent/.test(message) ? "security" : "upstream";
    return new ProxyError(kind, `${this.name}: ${what}: ${message}`, { cause: err });
  }

  // ---- tiles ----

  private hashReader(tree: Tree): ReturnType<typeof tileHashReader> {
    const reader: TileReader = {
      height: this.height,
      readTiles: (tiles) => Promise.all(tiles.map((t) => this.readTile(t))),
      // Only tiles checked against the tree get here: those are kept, partial ones included.
      saveTiles: async (tiles, data) => {
        await Promise.all(
          tiles.map(async (t, i) => {
            if (!isFullTile(t)) this.rememberShort(tilePath(t), data[i]);
            await this.store.saveTile(t, data[i]);
          }),
        );
      },
    };
    return tileHashReader(tree, reader);
  }

  /** Tile data for verification: kept (full, or a prefix of a wider one), else the network. */
  private async readTile(tile: Tile): Promise<Buffer> {
    const stored = await this.store.tile(tile);
    if (stored) return stored.data;
    const short = this.shortCache.get(tilePath(tile));
    if (short && short.until > Date.now()) return short.body;
    return this.readTileRemote(tile);
  }

  private readTileRemote(tile: Tile): Promise<Buffer> {
    const path = tilePath(tile);
    return this.once(`remote:${path}`, async () => {
      try {
        return await this.readRemote(`/${path}`, path);
      } catch (err) {
        if (tile.w === 2 ** tile.h || !(err instanceof ProxyError && err.kind === "not-found")) throw err;
        // A database may have dropped partial tiles it has since completed: take the full one's prefix.
        const full = await this.readRemote(`/${tilePath({ ...tile, w: 2 ** tile.h })}`, path);
        return full.subarray(0, tile.w * HASH_SIZE);
      }
    });
  }

  private rememberShort(key: string, body: Buffer): void {
    const now = Date.now();
    if (this.shortCache.size > 1000) {
      for (const [k, v] of this.shortCache) if (v.until <= now) this.shortCache.delete(k);
      if (this.shortCache.size > 1000) this.shortCache.clear();
    }
    this.shortCache.set(key, { body, until: now + this.shortTtlMs });
  }

  // ---- HTTP ----

  private once(key: string, work: () => Promise<Buffer>): Promise<Buffer> {
    const running = this.inflight.get(key);
    if (running) return running;
    const p = work().finally(() => this.inflight.delete(key));
    this.inflight.set(key, p);
    return p;
  }

  /**
   * GET `<base><path>`, then at each `alsoVia` base while the previous one cannot be reached:
   * ProxyError "not-found" for 404/410, "upstream" for anything else that fails.
   */
  private async readRemote(path: string, what: string): Promise<Buffer> {
    const bases = [() => this.resolveBase(), ...(this.options.alsoVia ?? []).map((b) => () => b)];
    let failure: ProxyError | undefined;
    for (const base of bases) {
      try {
        return await this.get(`${(await base()).replace(/\/+$/, "")}${path}`);
      } catch (err) {
        if (err instanceof StatusError && (err.status === 404 || err.status === 410)) {
          throw new ProxyError("not-found", `${this.name} ${what}: ${err.message}`);
        }
        failure ??=
          err instanceof ProxyError
            ? err
            : upstreamError(`${this.name} ${what}: ${(err as Error).message}`, err);
      }
    }
    throw failure as ProxyError;
  }

  private async get(url: string): Promise<Buffer> {
    const signal = AbortSignal.timeout(this.timeoutMs);
    const res = await undici().request(url, {
      method: "GET",
      signal,
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
      headers: {
        "user-agent": "gomirror (checksum database client)",
        ...(this.options.hop !== undefined ? { [HOP_HEADER]: this.options.hop } : {}),
      },
      ...(this.options.dispatcher ? { dispatcher: this.options.dispatcher } : {}),
    });
    const body = await readLimited(res.body, MAX_ANSWER_BYTES, url);
    if (res.statusCode !== 200) {
      const detail = body.toString("utf8").slice(0, 200).trim();
      throw new StatusError(
        res.statusCode,
        `reading ${url}: ${res.statusCode}${detail ? `\n\tserver response: ${detail}` : ""}`,
      );
    }
    return body;
  }

  /** Where the database is reached: GOSUMDB's URL, a proxy that supports it, or https://<name>. */
  private async resolveBase(): Promise<string> {
    if (this.options.config.url) return this.options.config.url;
    if (this.base && this.base.until > Date.now()) return this.base.url;
    let url = `https://${this.name}`;
    for (const entry of this.options.proxyList ?? []) {
      if (entry.kind !== "url") break; // direct and off: go to the database itself
      if (!/^https?:/.test(entry.url)) continue;
      const candidate = `${entry.url}/sumdb/${this.name}`;
      try {
        await this.get(`${candidate}/supported`);
        url = candidate;
        break;
      } catch (err) {
        const notThere = err instanceof StatusError && (err.status === 404 || err.status === 410);
        if (!notThere && !entry.fallBackOnError) {
          throw upstreamError(`${this.name}: probing ${candidate}/supported: ${(err as Error).message}`, err);
        }
      }
    }
    this.base = { url, until: Date.now() + PROBE_TTL_MS };
    return url;
  }
}
