import { fitStorageKey } from "../cache/keys";
import { readLimited } from "../read-limited";
import type { Storage } from "../storage/storage";
import { HASH_SIZE, tilePath, type Tile } from "./tlog";

/**
 * What gomirror keeps of one checksum database, so that its `/sumdb/` proxy, its verifier and
 * the bundles it writes can work when the database cannot be reached. Only what the client has
 * authenticated against the configured key is ever saved here.
 *
 * Layout under `sumdb/<name>/` in the storage:
 * - `latest`: the signed note of the largest verified tree;
 * - `lookup/<escaped path>@<escaped version>`: verified lookup answers, byte for byte;
 * - `tile/<H>/<L>/<N>`: full tiles, which never change;
 * - `partial/<H>/<L>/<N>`: the widest partial tile authenticated at that position. A partial
 *   tile of width W holds the first W hashes of the tile at its position, whatever the tree
 *   size, so a narrower one is its prefix: the very bytes the database serves for it.
 * Record-data tiles (`tile/<H>/data/...`) are never needed to verify a lookup and are not kept.
 */

/** Tile data with the time it was saved: an offline answer says how old it is. */
export interface StoredData {
  readonly data: Buffer;
  readonly modified: Date;
}

export interface SumdbStore {
  /** The signed note of the largest verified tree, if one was saved. */
  latest(): Promise<StoredData | undefined>;
  saveLatest(note: Buffer): Promise<void>;
  /** A verified lookup answer (`<escaped path>@<escaped version>`). */
  lookup(escapedModVer: string): Promise<Buffer | undefined>;
  saveLookup(escapedModVer: string, data: Buffer): Promise<void>;
  /** Exactly `tile.w` hashes of the tile, from a full or wide enough partial tile kept here. */
  tile(tile: Tile): Promise<StoredData | undefined>;
  /** Keeps an authenticated tile: full ones for good, partial ones when wider than the one kept. */
  saveTile(tile: Tile, data: Buffer): Promise<void>;
}

/** Kept answers are small; this only guards against a corrupted storage object. */
const MAX_STORED_BYTES = 16 * 1024 * 1024;

export function isFullTile(tile: Tile): boolean {
  return tile.w === 2 ** tile.h;
}

/** Where the full tile at `tile`'s position is kept: its own tile path. */
function fullKey(prefix: string, tile: Tile): string {
  return `${prefix}${tilePath({ ...tile, w: 2 ** tile.h })}`;
}

/** Where the widest partial tile at `tile`'s position is kept. */
function partialKey(prefix: string, tile: Tile): string {
  return `${prefix}partial/${tilePath({ ...tile, w: 2 ** tile.h }).slice("tile/".length)}`;
}

export class StorageSumdbStore implements SumdbStore {
  private readonly prefix: string;

  constructor(
    private readonly storage: Storage,
    name: string,
  ) {
    this.prefix = `sumdb/${name}/`;
  }

  /** A lookup's key; a module path too long for some backend is fitted like module keys are. */
  private lookupKey(escapedModVer: string): string {
    return fitStorageKey(`${this.prefix}lookup/${escapedModVer}`);
  }

  private async read(key: string): Promise<StoredData | undefined> {
    const obj = await this.storage.get(key);
    if (!obj) return undefined;
    return { data: await readLimited(obj.body, MAX_STORED_BYTES, `stored ${key}`), modified: obj.modified };
  }

  async latest(): Promise<StoredData | undefined> {
    const stored = await this.read(`${this.prefix}latest`);
    return stored && stored.data.length > 0 ? stored : undefined;
  }

  async saveLatest(note: Buffer): Promise<void> {
    await this.storage.put(`${this.prefix}latest`, note);
  }

  async lookup(escapedModVer: string): Promise<Buffer | undefined> {
    return (await this.read(this.lookupKey(escapedModVer)))?.data;
  }

  async saveLookup(escapedModVer: string, data: Buffer): Promise<void> {
    await this.storage.put(this.lookupKey(escapedModVer), data, { ifNoneMatch: true });
  }

  async tile(tile: Tile): Promise<StoredData | undefined> {
    if (tile.l < 0) return undefined;
    const want = tile.w * HASH_SIZE;
    for (const key of [fullKey(this.prefix, tile), partialKey(this.prefix, tile)]) {
      const stored = await this.read(key);
      if (stored && stored.data.length >= want) {
        return { data: stored.data.subarray(0, want), modified: stored.modified };
      }
    }
    return undefined;
  }

  async saveTile(tile: Tile, data: Buffer): Promise<void> {
    if (tile.l < 0) return;
    if (isFullTile(tile)) {
      await this.storage.put(fullKey(this.prefix, tile), data, { ifNoneMatch: true });
      return;
    }
    // Replicas may race here; either width is a true prefix, and a narrower one wins only until
    // the next wider save.
    const key = partialKey(this.prefix, tile);
    const kept = await this.storage.stat(key);
    if (kept && kept.size >= data.length) return;
    await this.storage.put(key, data);
  }
}
