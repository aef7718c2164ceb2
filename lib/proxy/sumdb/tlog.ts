import { createHash } from "node:crypto";
import { decodeBase64Strict } from "./note";

/**
 * The tamper-evident log behind a checksum database (golang.org/x/mod/sumdb/tlog): a Merkle tree
 * of records, its hashes stored in a flat sequence and served in tiles.
 *
 * Record (leaf) hash: SHA-256(0x00 || record). Interior node: SHA-256(0x01 || left || right).
 * The hash of level L, position N is stored at `storedHashIndex(L, N)`. A tile of height H holds
 * up to 2^H consecutive hashes of one level of tiling (tree levels L*H..L*H+H-1 collapse into the
 * bottom row of the tile); a partial tile (width W < 2^H) is addressed `.p/W`.
 *
 * Numbers are JavaScript numbers: exact up to 2^53, ample for any real log (sum.golang.org has
 * well under 2^30 records). Bitwise operators are avoided because they truncate to 32 bits.
 */

export const HASH_SIZE = 32;
export type Hash = Buffer;

/** A signed tree head: the tree's size and root hash. */
export interface Tree {
  readonly n: number;
  readonly hash: Hash;
}

export class TlogError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TlogError";
  }
}

const pow2 = (k: number): number => 2 ** k;
const shl = (x: number, k: number): number => x * pow2(k);
const shr = (x: number, k: number): number => Math.floor(x / pow2(k));

function trailingZeros(x: number): number {
  if (x === 0) return 64;
  let k = 0;
  while (x % 2 === 0) {
    x /= 2;
    k++;
  }
  return k;
}

export function recordHash(data: Buffer): Hash {
  return createHash("sha256").update(Buffer.of(0x00)).update(data).digest();
}

export function nodeHash(left: Hash, right: Hash): Hash {
  return createHash("sha256").update(Buffer.of(0x01)).update(left).update(right).digest();
}

/** The root hash of the empty tree: SHA-256 of nothing. */
export const EMPTY_TREE_HASH: Hash = createHash("sha256").digest();

export function storedHashIndex(level: number, n: number): number {
  for (let l = level; l > 0; l--) n = 2 * n + 1;
  let i = 0;
  for (; n > 0; n = shr(n, 1)) i += n;
  return i + level;
}

export function splitStoredHashIndex(index: number): { level: number; n: number } {
  let n = Math.floor(index / 2);
  let indexN = storedHashIndex(0, n);
  if (indexN > index) throw new TlogError("bad math in splitStoredHashIndex");
  for (;;) {
    const x = indexN + 1 + trailingZeros(n + 1);
    if (x > index) break;
    n++;
    indexN = x;
  }
  const level = index - indexN;
  return { level, n: shr(n, level) };
}

/** How many hashes are stored for a tree of n records. */
export function storedHashCount(n: number): number {
  if (n === 0) return 0;
  let count = storedHashIndex(0, n - 1) + 1;
  for (let i = n - 1; i % 2 === 1; i = shr(i, 1)) count++;
  return count;
}

export type HashReader = (indexes: readonly number[]) => Promise<Hash[]>;

/** The hashes to append to the stored hashes when record n (with hash h) is added. */
export async function storedHashesForRecordHash(n: number, h: Hash, read: HashReader): Promise<Hash[]> {
  const hashes = [h];
  const m = trailingZeros(n + 1);
  const indexes: number[] = new Array<number>(m);
  for (let i = 0; i < m; i++) indexes[m - 1 - i] = storedHashIndex(i, shr(n, i) - 1);
  const old = await read(indexes);
  checkCount(old, indexes);
  for (let i = 0; i < m; i++) {
    h = nodeHash(old[m - 1 - i], h);
    hashes.push(h);
  }
  return hashes;
}

function checkCount(hashes: readonly Hash[], indexes: readonly number[]): void {
  if (hashes.length !== indexes.length) {
    throw new TlogError(`hash reader returned ${hashes.length} hashes for ${indexes.length} indexes`);
  }
}

function maxpow2(n: number): { k: number; level: number } {
  let level = 0;
  while (pow2(level + 1) < n) level++;
  return { k: pow2(level), level };
}

function subTreeIndex(lo: number, hi: number, need: number[]): number[] {
  while (lo < hi) {
    const { k, level } = maxpow2(hi - lo + 1);
    if (lo % k !== 0) throw new TlogError("bad math in subTreeIndex");
    need.push(storedHashIndex(level, shr(lo, level)));
    lo += k;
  }
  return need;
}

function subTreeHash(lo: number, hi: number, hashes: Hash[]): [Hash, Hash[]] {
  let numTree = 0;
  while (lo < hi) {
    const { k } = maxpow2(hi - lo + 1);
    if (lo % k !== 0) throw new TlogError("bad math in subTreeHash");
    numTree++;
    lo += k;
  }
  if (hashes.length < numTree) throw new TlogError("bad index math in subTreeHash");
  let h = hashes[numTree - 1];
  for (let i = numTree - 2; i >= 0; i--) h = nodeHash(hashes[i], h);
  return [h, hashes.slice(numTree)];
}

/** The root hash of the tree of the first n records. */
export async function treeHash(n: number, read: HashReader): Promise<Hash> {
  if (n === 0) return EMPTY_TREE_HASH;
  const indexes = subTreeIndex(0, n, []);
  const hashes = await read(indexes);
  checkCount(hashes, indexes);
  const [h, rest] = subTreeHash(0, n, hashes);
  if (rest.length !== 0) throw new TlogError("bad index math in treeHash");
  return h;
}

const PROOF_FAILED = "invalid transparency proof";

// ---- record (inclusion) proofs ----

function leafProofIndex(lo: number, hi: number, n: number, need: number[]): number[] {
  if (!(lo <= n && n < hi)) throw new TlogError("bad math in leafProofIndex");
  if (lo + 1 === hi) return need;
  const { k } = maxpow2(hi - lo);
  if (n < lo + k) {
    leafProofIndex(lo, lo + k, n, need);
    subTreeIndex(lo + k, hi, need);
  } else {
    subTreeIndex(lo, lo + k, need);
    leafProofIndex(lo + k, hi, n, need);
  }
  return need;
}

function leafProof(lo: number, hi: number, n: number, hashes: Hash[]): [Hash[], Hash[]] {
  if (lo + 1 === hi) return [[], hashes];
  const { k } = maxpow2(hi - lo);
  let p: Hash[];
  let th: Hash;
  if (n < lo + k) {
    [p, hashes] = leafProof(lo, lo + k, n, hashes);
    [th, hashes] = subTreeHash(lo + k, hi, hashes);
  } else {
    [th, hashes] = subTreeHash(lo, lo + k, hashes);
    [p, hashes] = leafProof(lo + k, hi, n, hashes);
  }
  return [[...p, th], hashes];
}

/** The proof that record n is in the tree of size t. */
export async function proveRecord(t: number, n: number, read: HashReader): Promise<Hash[]> {
  if (t < 0 || n < 0 || n >= t) throw new TlogError("invalid inputs in proveRecord");
  const indexes = leafProofIndex(0, t, n, []);
  if (indexes.length === 0) return [];
  const hashes = await read(indexes);
  checkCount(hashes, indexes);
  const [p, rest] = leafProof(0, t, n, hashes);
  if (rest.length !== 0) throw new TlogError("bad index math in proveRecord");
  return p;
}

function runRecordProof(p: readonly Hash[], lo: number, hi: number, n: number, leaf: Hash): Hash {
  if (lo + 1 === hi) {
    if (p.length !== 0) throw new TlogError(PROOF_FAILED);
    return leaf;
  }
  if (p.length === 0) throw new TlogError(PROOF_FAILED);
  const { k } = maxpow2(hi - lo);
  const last = p[p.length - 1];
  if (n < lo + k) return nodeHash(runRecordProof(p.slice(0, -1), lo, lo + k, n, leaf), last);
  return nodeHash(last, runRecordProof(p.slice(0, -1), lo + k, hi, n, leaf));
}

/** Checks that p proves record n (record hash h) is in the tree of size t with root th. */
export function checkRecord(p: readonly Hash[], t: number, th: Hash, n: number, h: Hash): void {
  if (t < 0 || n < 0 || n >= t) throw new TlogError("invalid inputs in checkRecord");
  if (!runRecordProof(p, 0, t, n, h).equals(th)) throw new TlogError(PROOF_FAILED);
}

// ---- tree (consistency) proofs ----

function treeProofIndex(lo: number, hi: number, n: number, need: number[]): number[] {
  if (!(lo < n && n <= hi)) throw new TlogError("bad math in treeProofIndex");
  if (n === hi) return lo === 0 ? need : subTreeIndex(lo, hi, need);
  const { k } = maxpow2(hi - lo);
  if (n <= lo + k) {
    treeProofIndex(lo, lo + k, n, need);
    subTreeIndex(lo + k, hi, need);
  } else {
    subTreeIndex(lo, lo + k, need);
    treeProofIndex(lo + k, hi, n, need);
  }
  return need;
}

function treeProof(lo: number, hi: number, n: number, hashes: Hash[]): [Hash[], Hash[]] {
  if (n === hi) {
    if (lo === 0) return [[], hashes];
    const [th, rest] = subTreeHash(lo, hi, hashes);
    return [[th], rest];
  }
  const { k } = maxpow2(hi - lo);
  let p: Hash[];
  let th: Hash;
  if (n <= lo + k) {
    [p, hashes] = treeProof(lo, lo + k, n, hashes);
    [th, hashes] = subTreeHash(lo + k, hi, hashes);
  } else {
    [th, hashes] = subTreeHash(lo, lo + k, hashes);
    [p, hashes] = treeProof(lo + k, hi, n, hashes);
  }
  return [[...p, th], hashes];
}

/** The proof that the tree of size n is a prefix of the tree of size t. */
export async function proveTree(t: number, n: number, read: HashReader): Promise<Hash[]> {
  if (t < 1 || n < 1 || n > t) throw new TlogError("invalid inputs in proveTree");
  const indexes = treeProofIndex(0, t, n, []);
  if (indexes.length === 0) return [];
  const hashes = await read(indexes);
  checkCount(hashes, indexes);
  const [p, rest] = treeProof(0, t, n, hashes);
  if (rest.length !== 0) throw new TlogError("bad index math in proveTree");
  return p;
}

function runTreeProof(p: readonly Hash[], lo: number, hi: number, n: number, old: Hash): [Hash, Hash] {
  if (n === hi) {
    if (lo === 0) {
      if (p.length !== 0) throw new TlogError(PROOF_FAILED);
      return [old, old];
    }
    if (p.length !== 1) throw new TlogError(PROOF_FAILED);
    return [p[0], p[0]];
  }
  if (p.length === 0) throw new TlogError(PROOF_FAILED);
  const { k } = maxpow2(hi - lo);
  const last = p[p.length - 1];
  if (n <= lo + k) {
    const [oh, th] = runTreeProof(p.slice(0, -1), lo, lo + k, n, old);
    return [oh, nodeHash(th, last)];
  }
  const [oh, th] = runTreeProof(p.slice(0, -1), lo + k, hi, n, old);
  return [nodeHash(last, oh), nodeHash(last, th)];
}

/** Checks that p proves the tree (n, h) is a prefix of the tree (t, th). */
export function checkTree(p: readonly Hash[], t: number, th: Hash, n: number, h: Hash): void {
  if (t < 1 || n < 1 || n > t) throw new TlogError("invalid inputs in checkTree");
  const [h2, th2] = runTreeProof(p, 0, t, n, h);
  if (!th2.equals(th) || !h2.equals(h)) throw new TlogError(PROOF_FAILED);
}

// ---- tiles ----

/** A tile: height h, tiling level l (-1 for record data), number n within the level, width w. */
export interface Tile {
  readonly h: number;
  readonly l: number;
  readonly n: number;
  readonly w: number;
}

const PATH_BASE = 1000;

/** The tile's path, e.g. `tile/8/0/x001/234.p/5` (Go's tlog.Tile.Path). */
export function tilePath(t: Tile): string {
  let n = t.n;
  let nStr = String(n % PATH_BASE).padStart(3, "0");
  while (n >= PATH_BASE) {
    n = Math.floor(n / PATH_BASE);
    nStr = `x${String(n % PATH_BASE).padStart(3, "0")}/${nStr}`;
  }
  const p = t.w !== pow2(t.h) ? `.p/${t.w}` : "";
  const l = t.l === -1 ? "data" : String(t.l);
  return `tile/${t.h}/${l}/${nStr}${p}`;
}

function atoi(s: string): number | undefined {
  // Go's strconv.Atoi: optional sign, decimal digits; the round trip through tilePath below
  // rejects any non-canonical spelling anyway.
  return /^[+-]?[0-9]{1,15}$/.test(s) ? Number(s) : undefined;
}

/** Parses a tile path, accepting only the canonical spelling (Go's tlog.ParseTilePath). */
export function parseTilePath(path: string): Tile {
  const bad = (): TlogError => new TlogError(`malformed tile path ${JSON.stringify(path)}`);
  const f = path.split("/");
  if (f.length < 4 || f[0] !== "tile") throw bad();
  const h = atoi(f[1]);
  const isData = f[2] === "data";
  let l = isData ? 0 : atoi(f[2]);
  if (h === undefined || l === undefined || h < 1 || l < 0 || h > 30) throw bad();
  let w = pow2(h);
  let rest = f.slice(3);
  const dotP = f[f.length - 2];
  if (dotP.endsWith(".p")) {
    const ww = atoi(f[f.length - 1]);
    if (ww === undefined || ww <= 0 || ww >= w) throw bad();
    w = ww;
    rest = [...f.slice(3, f.length - 2), dotP.slice(0, -2)];
  }
  let n = 0;
  for (const s of rest) {
    const nn = atoi(s.startsWith("x") ? s.slice(1) : s);
    if (nn === undefined || nn < 0 || nn >= PATH_BASE) throw bad();
    n = n * PATH_BASE + nn;
  }
  if (!Number.isSafeInteger(n)) throw bad();
  if (isData) l = -1;
  const t: Tile = { h, l, n, w };
  if (tilePath(t) !== path) throw bad();
  return t;
}

function tileForIndexWithRange(h: number, index: number): { tile: Tile; start: number; end: number } {
  const split = splitStoredHashIndex(index);
  let level = split.level;
  let n = split.n;
  const l = Math.floor(level / h);
  level -= l * h;
  const tn = shr(shl(n, level), h);
  n -= shr(shl(tn, h), level);
  const w = shl(n + 1, level);
  return { tile: { h, l, n: tn, w }, start: shl(n, level) * HASH_SIZE, end: shl(n + 1, level) * HASH_SIZE };
}

/** The smallest tile of height h holding stored hash `index`. */
export function tileForIndex(h: number, index: number): Tile {
  if (h <= 0) throw new TlogError(`invalid tile height ${h}`);
  return tileForIndexWithRange(h, index).tile;
}

/** The hash of a run of 2^k hashes: the root of the subtree whose bottom row they are. */
export function tileRoot(data: Buffer): Hash {
  if (data.length === 0 || data.length % HASH_SIZE !== 0)
    throw new TlogError(`bad tile data length ${data.length}`);
  return tileHashOf(data);
}

function tileHashOf(data: Buffer): Hash {
  if (data.length === HASH_SIZE) return data;
  const half = data.length / 2;
  return nodeHash(tileHashOf(data.subarray(0, half)), tileHashOf(data.subarray(half)));
}

/** Stored hash `index`, computed from the tile t's data. */
export function hashFromTile(t: Tile, data: Buffer, index: number): Hash {
  if (t.h < 1 || t.h > 30 || t.l < 0 || t.l >= 64 || t.w < 1 || t.w > pow2(t.h)) {
    throw new TlogError(`invalid tile ${tilePath(t)}`);
  }
  if (data.length < t.w * HASH_SIZE) {
    throw new TlogError(`data length ${data.length} too short for tile ${tilePath(t)}`);
  }
  const { tile: t1, start, end } = tileForIndexWithRange(t.h, index);
  if (t.l !== t1.l || t.n !== t1.n || t.w < t1.w) {
    throw new TlogError(`index ${index} is in ${tilePath(t1)} not ${tilePath(t)}`);
  }
  return Buffer.from(tileHashOf(data.subarray(start, end)));
}

/** The tiles that change when a tree grows from oldTreeSize to newTreeSize records. */
export function newTiles(h: number, oldTreeSize: number, newTreeSize: number): Tile[] {
  const tiles: Tile[] = [];
  for (let level = 0; shr(newTreeSize, h * level) > 0; level++) {
    const oldN = shr(oldTreeSize, h * level);
    const newN = shr(newTreeSize, h * level);
    if (oldN === newN) continue;
    for (let n = shr(oldN, h); n < shr(newN, h); n++) tiles.push({ h, l: level, n, w: pow2(h) });
    const n = shr(newN, h);
    const w = newN - shl(n, h);
    if (w > 0) tiles.push({ h, l: level, n, w });
  }
  return tiles;
}

/** Where tile data comes from (and goes to once authenticated). */
export interface TileReader {
  readonly height: number;
  readTiles(tiles: readonly Tile[]): Promise<Buffer[]>;
  /** Called with tiles whose hashes have been checked against the tree. */
  saveTiles(tiles: readonly Tile[], data: readonly Buffer[]): Promise<void> | void;
}

function tileParent(t: Tile, k: number, n: number): Tile | undefined {
  const l = t.l + k;
  const tn = shr(t.n, k * t.h);
  let w = pow2(t.h);
  const max = shr(n, l * t.h);
  if (shl(tn, t.h) + w >= max) {
    if (shl(tn, t.h) >= max) return undefined;
    w = max - shl(tn, t.h);
  }
  return { h: t.h, l, n: tn, w };
}

const tileKey = (t: Tile): string => `${t.h}/${t.l}/${t.n}/${t.w}`;

/**
 * A HashReader answering from tiles, each tile authenticated against the signed tree before any
 * hash in it is believed (Go's tlog.TileHashReader): the tiles covering the tree's complete
 * subtrees must hash to the tree's root, and every lower tile must hash to the entry its parent
 * tile holds for it. A server that sends anything else gets "downloaded inconsistent tile".
 */
export function tileHashReader(tree: Tree, tr: TileReader): HashReader {
  return async (indexes) => {
    const h = tr.height;
    const order = new Map<string, number>();
    const tiles: Tile[] = [];
    const add = (t: Tile): number => {
      order.set(tileKey(t), tiles.length);
      tiles.push(t);
      return tiles.length - 1;
    };

    const stx = subTreeIndex(0, tree.n, []);
    const stxTileOrder = stx.map((x) => {
      const tile = tileParent(tileForIndex(h, x), 0, tree.n) as Tile;
      return order.get(tileKey(tile)) ?? add(tile);
    });

    const indexTileOrder = indexes.map((x) => {
      if (x >= storedHashIndex(0, tree.n)) throw new TlogError("indexes not in tree");
      const tile = tileForIndex(h, x);
      // Climb to the nearest ancestor tile already on the list, then add the ones below it.
      let k = 0;
      let found = -1;
      for (; ; k++) {
        const p = tileParent(tile, k, tree.n);
        if (!p) throw new TlogError(`bad math in tileHashReader: no ancestor tile for index ${x}`);
        const j = order.get(tileKey(p));
        if (j !== undefined) {
          if (k === 0) found = j;
          break;
        }
      }
      for (k--; k >= 0; k--) {
        const p = tileParent(tile, k, tree.n) as Tile;
        if (p.w !== pow2(p.h))
          throw new TlogError(`bad math in tileHashReader: ${tree.n} ${x} ${tilePath(p)}`);
        const j = add(p);
        if (k === 0) found = j;
      }
      return found;
    });

    const data = await tr.readTiles(tiles);
    if (data.length !== tiles.length) throw new TlogError("tile reader returned the wrong number of tiles");
    tiles.forEach((t, i) => {
      if (data[i].length !== t.w * HASH_SIZE) {
        throw new TlogError(`tile ${tilePath(t)} has ${data[i].length} bytes, want ${t.w * HASH_SIZE}`);
      }
    });

    const last = stx.length - 1;
    let th = hashFromTile(tiles[stxTileOrder[last]], data[stxTileOrder[last]], stx[last]);
    for (let i = last - 1; i >= 0; i--) {
      th = nodeHash(hashFromTile(tiles[stxTileOrder[i]], data[stxTileOrder[i]], stx[i]), th);
    }
    if (!th.equals(tree.hash)) throw new TlogError("downloaded inconsistent tile");

    for (let i = stx.length; i < tiles.length; i++) {
      const tile = tiles[i];
      const p = tileParent(tile, 1, tree.n);
      const j = p && order.get(tileKey(p));
      if (!p || j === undefined)
        throw new TlogError(`bad math in tileHashReader: lost parent of ${tilePath(tile)}`);
      const ph = hashFromTile(p, data[j], storedHashIndex(p.l * p.h, tile.n));
      if (!ph.equals(tileHashOf(data[i]))) throw new TlogError("downloaded inconsistent tile");
    }

    await tr.saveTiles(tiles, data);
    return indexes.map((x, i) => hashFromTile(tiles[indexTileOrder[i]], data[indexTileOrder[i]], x));
  };
}

// ---- tree notes and records ----

const TREE_PREFIX = "go.sum database tree\n";

export function formatTree(tree: Tree): string {
  return `${TREE_PREFIX}${tree.n}\n${tree.hash.toString("base64")}\n`;
}

/** Parses the text of a tree note: `go.sum database tree\n<N>\n<base64 hash>\n[...]`. */
export function parseTree(text: string): Tree {
  const bad = new TlogError("malformed tree note");
  if (!text.startsWith(TREE_PREFIX) || text.split("\n").length - 1 < 3 || text.length > 1e6) throw bad;
  const lines = text.split("\n");
  const n = /^(0|[1-9][0-9]{0,15})$/.test(lines[1]) ? Number(lines[1]) : NaN;
  if (!Number.isSafeInteger(n)) throw bad;
  const hash = decodeBase64Strict(lines[2]);
  if (!hash || hash.length !== HASH_SIZE) throw bad;
  return { n, hash };
}

function isValidRecordText(text: Buffer): boolean {
  let s: string;
  try {
    s = new TextDecoder("utf-8", { fatal: true }).decode(text);
  } catch {
    return false;
  }
  let last = -1;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c < 0x20 && c !== 0x0a) || (last === 0x0a && c === 0x0a)) return false;
    last = c;
  }
  return last === 0x0a;
}

/** Splits a lookup answer `<id>\n<record text>\n<signed tree note>` (Go's tlog.ParseRecord). */
export function parseRecord(msg: Buffer): { id: number; text: Buffer; rest: Buffer } {
  const bad = new TlogError("malformed record data");
  const i = msg.indexOf(0x0a);
  if (i < 0) throw bad;
  const idStr = msg.subarray(0, i).toString("latin1");
  if (!/^[+-]?[0-9]{1,15}$/.test(idStr)) throw bad;
  const id = Number(idStr);
  const body = msg.subarray(i + 1);
  const j = body.indexOf("\n\n");
  if (j < 0) throw bad;
  const text = body.subarray(0, j + 1);
  if (!isValidRecordText(text)) throw bad;
  return { id, text, rest: body.subarray(j + 2) };
}

/** A data tile (`tile/H/data/...`) holds records as `<id>\n<text>\n` for each in turn. */
export function formatRecord(id: number, text: Buffer): Buffer {
  if (!isValidRecordText(text)) throw new TlogError("malformed record data");
  return Buffer.concat([Buffer.from(`${id}\n`), text, Buffer.from("\n")]);
}
