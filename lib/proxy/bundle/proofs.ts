import { escapePath, escapeVersion } from "../module/escape";
import { SumdbClient, type SumdbClientOptions } from "../sumdb/client";
import type { StoredData, SumdbStore } from "../sumdb/store";
import { HASH_SIZE, parseTilePath, tilePath, type Tile } from "../sumdb/tlog";

/**
 * The checksum database's part of a bundle: its signed tree head, the lookup answers of the
 * bundled versions, and the tiles that prove each lookup is in that tree and that each tree a
 * lookup carries (and the tree of the bundle given to `--since`) is a prefix of it.
 *
 * Both sides run the same SumdbClient, over a store placed in front of their own: the exporter's
 * records every tile the client authenticated while checking the bundle as an importer will; the
 * importer's reads the bundle first and keeps what the client authenticated until everything has
 * passed. Nothing here trusts a byte by itself: signatures, inclusion and consistency are the
 * client's own checks.
 */

export interface BundleProofs {
  /** The signed tree head everything is proven against. */
  readonly latest: Buffer;
  /** Tile path (`tile/8/0/001.p/44`) to data. */
  readonly tiles: ReadonlyMap<string, Buffer>;
  /** `<escaped path>@<escaped version>` to the lookup answer. */
  readonly lookups: ReadonlyMap<string, Buffer>;
}

export const escapedModVer = (path: string, version: string): string =>
  `${escapePath(path)}@${escapeVersion(version)}`;

const positionOf = (t: Tile): string => `${t.h}/${t.l}/${t.n}`;

/** Reads go to the store below; what the client would keep is only noted. */
class RecordingStore implements SumdbStore {
  readonly tiles = new Map<string, Buffer>();

  constructor(private readonly below: SumdbStore) {}

  latest(): Promise<StoredData | undefined> {
    return this.below.latest();
  }
  async saveLatest(): Promise<void> {}
  lookup(escaped: string): Promise<Buffer | undefined> {
    return this.below.lookup(escaped);
  }
  async saveLookup(): Promise<void> {}
  tile(tile: Tile): Promise<StoredData | undefined> {
    return this.below.tile(tile);
  }
  async saveTile(tile: Tile, data: Buffer): Promise<void> {
    this.tiles.set(tilePath(tile), data);
  }
}

/** Verified hashes by `path@version`. */
export type VerifiedHashes = ReadonlyMap<string, { readonly zip?: string; readonly mod?: string }>;

/**
 * Verifies the named lookups (fetching what is not kept yet) and gathers the proofs a bundle of
 * them carries, against the largest tree the exporter's client has verified.
 */
export async function collectProofs(
  options: SumdbClientOptions,
  versions: readonly { path: string; version: string }[],
  since?: Buffer,
): Promise<BundleProofs & { readonly hashes: VerifiedHashes }> {
  const online = new SumdbClient(options);
  const lookups = new Map<string, Buffer>();
  const hashes = new Map<string, { zip?: string; mod?: string }>();
  for (const v of versions) {
    const found = await online.lookup(v.path, v.version);
    lookups.set(escapedModVer(v.path, v.version), found.raw);
    hashes.set(`${v.path}@${v.version}`, { zip: found.zipHash, mod: found.modHash });
  }
  let recorder: RecordingStore | undefined;
  const checker = new SumdbClient({
    ...options,
    wrapStore: (store) =>
      (recorder = new RecordingStore(options.wrapStore ? options.wrapStore(store) : store)),
  });
  if (since) await checker.trust(since);
  for (const key of lookups.keys()) await checker.lookupRaw(key);
  const { note } = await checker.verifiedNote();
  return { latest: note, tiles: (recorder as RecordingStore).tiles, lookups, hashes };
}

/** The bundle's proofs first, then the importing mirror's store; writes wait for `commit`. */
class BundleStore implements SumdbStore {
  private readonly widest = new Map<string, Buffer>();
  private readonly pendingTiles = new Map<string, { tile: Tile; data: Buffer }>();
  private pendingLatest: Buffer | undefined;

  constructor(
    private readonly below: SumdbStore,
    private readonly proofs: BundleProofs,
  ) {
    for (const [path, data] of proofs.tiles) {
      const t = parseTilePath(path);
      const had = this.widest.get(positionOf(t));
      if (!had || had.length < data.length) this.widest.set(positionOf(t), data);
    }
  }

  latest(): Promise<StoredData | undefined> {
    return this.below.latest();
  }
  async saveLatest(note: Buffer): Promise<void> {
    this.pendingLatest = note;
  }
  async lookup(escaped: string): Promise<Buffer | undefined> {
    return this.proofs.lookups.get(escaped) ?? (await this.below.lookup(escaped));
  }
  async saveLookup(): Promise<void> {}
  async tile(tile: Tile): Promise<StoredData | undefined> {
    const data = this.widest.get(positionOf(tile));
    if (data && data.length >= tile.w * HASH_SIZE) {
      return { data: data.subarray(0, tile.w * HASH_SIZE), modified: new Date() };
    }
    return this.below.tile(tile);
  }
  async saveTile(tile: Tile, data: Buffer): Promise<void> {
    const had = this.pendingTiles.get(positionOf(tile));
    if (!had || had.data.length < data.length) this.pendingTiles.set(positionOf(tile), { tile, data });
  }

  /** Tiles first, then lookups, then the tree head: what the storage holds is always provable. */
  async commit(lookups: ReadonlyMap<string, Buffer>): Promise<void> {
    for (const { tile, data } of this.pendingTiles.values()) await this.below.saveTile(tile, data);
    for (const [key, data] of lookups) await this.below.saveLookup(key, data);
    if (this.pendingLatest) await this.below.saveLatest(this.pendingLatest);
  }
}

export interface ProofCheck {
  readonly hashes: VerifiedHashes;
  /** What failed, one line each; empty when everything was proven. */
  readonly failures: readonly string[];
  /** Keeps the proven tree head, lookups and tiles in the mirror's storage. */
  commit(): Promise<void>;
}

/**
 * Checks a bundle's proofs against the configured key and the tree the mirror already trusts,
 * and each version's lookup. The database is asked only for what the bundle lacks (and only
 * when it can be reached).
 */
export async function checkProofs(
  options: SumdbClientOptions,
  proofs: BundleProofs,
  versions: readonly { path: string; version: string }[],
): Promise<ProofCheck> {
  let store: BundleStore | undefined;
  const client = new SumdbClient({
    ...options,
    wrapStore: (below) => (store = new BundleStore(below, proofs)),
  });
  const failures: string[] = [];
  const hashes = new Map<string, { zip?: string; mod?: string }>();
  const proven = new Map<string, Buffer>();
  try {
    await client.trust(proofs.latest);
  } catch (err) {
    failures.push(`tree head: ${(err as Error).message}`);
    return {
      hashes,
      failures,
      commit: () => Promise.reject(new Error("nothing to keep: the proofs failed")),
    };
  }
  for (const v of versions) {
    const key = escapedModVer(v.path, v.version);
    try {
      const found = await client.lookup(v.path, v.version);
      hashes.set(`${v.path}@${v.version}`, { zip: found.zipHash, mod: found.modHash });
      proven.set(key, found.raw);
    } catch (err) {
      failures.push(`${v.path}@${v.version}: checksum database: ${(err as Error).message}`);
    }
  }
  return { hashes, failures, commit: () => (store as BundleStore).commit(proven) };
}
