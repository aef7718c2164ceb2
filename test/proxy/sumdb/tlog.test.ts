import {
  checkRecord,
  checkTree,
  EMPTY_TREE_HASH,
  hashFromTile,
  newTiles,
  parseRecord,
  parseTilePath,
  parseTree,
  proveRecord,
  proveTree,
  recordHash,
  splitStoredHashIndex,
  storedHashCount,
  storedHashesForRecordHash,
  tileForIndex,
  tileHashReader,
  tilePath,
  treeHash,
  type Hash,
  type HashReader,
  type Tile,
} from "../../../lib/proxy/sumdb/tlog";
import { describeWithTools } from "../../support/tools";
import { refTilePaths, refTlog, type TlogVectors } from "./ref";

const b = (s: string): Buffer => Buffer.from(s, "base64");
const RECORDS = Array.from({ length: 21 }, (_, i) => `example.test/m${i} v1.0.${i} h1:${"x".repeat(i)}=`);
const HEIGHT = 2;

describeWithTools({ go: true }, "transparency log against x/mod's tlog", () => {
  let ref: TlogVectors;
  let stored: Hash[];
  const read: HashReader = (indexes) => Promise.resolve(indexes.map((i) => stored[i]));
  beforeAll(async () => {
    ref = refTlog(HEIGHT, RECORDS);
    // Build the stored hashes with our own code, record by record, as a log server would.
    stored = [];
    for (const [i, r] of RECORDS.entries()) {
      stored.push(...(await storedHashesForRecordHash(i, recordHash(Buffer.from(r)), read)));
    }
  });

  it("hashes records and builds the same stored hashes", () => {
    expect(RECORDS.map((r) => recordHash(Buffer.from(r)).toString("base64"))).toEqual(ref.recordHashes);
    expect(stored.map((h) => h.toString("base64"))).toEqual(ref.storedHashes);
    expect(ref.storedCounts.map((_, n) => storedHashCount(n))).toEqual(ref.storedCounts);
  });

  it("computes every tree hash", async () => {
    expect(EMPTY_TREE_HASH.toString("base64")).toBe(ref.treeHashes[0]);
    for (let n = 0; n <= RECORDS.length; n++) {
      expect((await treeHash(n, read)).toString("base64")).toBe(ref.treeHashes[n]);
    }
  });

  it("splits stored hash indexes and finds their tiles", () => {
    for (const s of ref.splits) {
      expect(splitStoredHashIndex(s.index)).toEqual({ level: s.level, n: s.n });
      expect(tilePath(tileForIndex(HEIGHT, s.index))).toBe(s.tile);
    }
  });

  it("produces and checks the same record proofs", async () => {
    for (const p of ref.recordProofs) {
      const proof = await proveRecord(p.t, p.n, read);
      expect(proof.map((h) => h.toString("base64"))).toEqual(p.proof ?? []);
      const th = b(ref.treeHashes[p.t]);
      expect(() => checkRecord(proof, p.t, th, p.n, b(ref.recordHashes[p.n]))).not.toThrow();
      const wrongLeaf = b(ref.recordHashes[(p.n + 1) % RECORDS.length]);
      expect(() => checkRecord(proof, p.t, th, p.n, wrongLeaf)).toThrow(/invalid transparency proof/);
    }
  });

  it("produces and checks the same tree proofs, and catches a forged older tree", async () => {
    for (const p of ref.treeProofs) {
      const proof = await proveTree(p.t, p.n, read);
      expect(proof.map((h) => h.toString("base64"))).toEqual(p.proof ?? []);
      const th = b(ref.treeHashes[p.t]);
      expect(() => checkTree(proof, p.t, th, p.n, b(ref.treeHashes[p.n]))).not.toThrow();
      if (p.n < p.t) {
        const forged = Buffer.alloc(32, 9);
        expect(() => checkTree(proof, p.t, th, p.n, forged)).toThrow(/invalid transparency proof/);
      }
    }
  });

  it("lists the same new tiles with the same contents and paths", () => {
    const tiles = newTiles(HEIGHT, 0, RECORDS.length);
    expect(tiles.map(tilePath)).toEqual(ref.tiles.map((t) => t.path));
    for (const t of ref.tiles) {
      const tile: Tile = { h: t.h, l: t.l, n: t.n, w: t.w };
      expect(parseTilePath(t.path)).toEqual(tile);
      // Every hash a tile holds comes out of it again.
      const data = b(t.data);
      for (let i = 0; i < t.w; i++) {
        const index = storedIndexInTile(tile, i);
        expect(hashFromTile(tile, data, index).equals(stored[index])).toBe(true);
      }
    }
  });

  it("reads authenticated hashes through tiles, and refuses a tampered tile", async () => {
    const n = RECORDS.length;
    const tree = { n, hash: b(ref.treeHashes[n]) };
    const byPath = new Map(ref.tiles.map((t) => [t.path, b(t.data)]));
    const saved: string[] = [];
    const read: string[] = [];
    const reader = (tamper?: string) =>
      tileHashReader(tree, {
        height: HEIGHT,
        readTiles: (tiles) =>
          Promise.resolve(
            tiles.map((t) => {
              read.push(tilePath(t));
              const data = Buffer.from(byPath.get(tilePath(t)) ?? fullPrefix(byPath, t));
              if (tilePath(t) === tamper) data[0] ^= 1;
              return data;
            }),
          ),
        saveTiles: (tiles) => {
          saved.push(...tiles.map(tilePath));
        },
      });
    const indexes = [0, 5, 17, 20].map((i) => storedIndex(i));
    const got = await reader()(indexes);
    expect(got.map((h) => h.toString("base64"))).toEqual(indexes.map((i) => ref.storedHashes[i]));
    expect(saved.length).toBeGreaterThan(0);
    const victims = [...new Set(read)];
    expect(await treeHash(10, reader())).toEqual(b(ref.treeHashes[10]));
    expect(victims).toEqual(expect.arrayContaining(["tile/2/0/000", "tile/2/0/005.p/1", "tile/2/2/000.p/1"]));
    for (const victim of victims) {
      await expect(reader(victim)(indexes).then(() => victim)).rejects.toThrow(
        /downloaded inconsistent tile/,
      );
    }
  });
});

function storedIndex(record: number): number {
  // stored index of leaf `record` (level 0)
  let i = 0;
  for (let n = record; n > 0; n = Math.floor(n / 2)) i += n;
  return i;
}

function storedIndexInTile(t: Tile, i: number): number {
  // the i-th hash of the tile's bottom row: level t.l*t.h, number t.n*2^h+i
  let n = t.n * 2 ** t.h + i;
  const level = t.l * t.h;
  for (let l = level; l > 0; l--) n = 2 * n + 1;
  let x = 0;
  for (; n > 0; n = Math.floor(n / 2)) x += n;
  return x + level;
}

function fullPrefix(byPath: Map<string, Buffer>, t: Tile): Buffer {
  const full = byPath.get(tilePath({ ...t, w: 2 ** t.h }));
  if (!full) throw new Error(`no tile ${tilePath(t)}`);
  return full.subarray(0, t.w * 32);
}

describeWithTools({ go: true }, "tile paths against x/mod", () => {
  it("encodes large tile numbers and partial widths like Go", () => {
    const tiles: Tile[] = [
      { h: 8, l: 0, n: 0, w: 256 },
      { h: 8, l: 0, n: 999, w: 256 },
      { h: 8, l: 0, n: 1000, w: 256 },
      { h: 8, l: 1, n: 1234067, w: 5 },
      { h: 8, l: 2, n: 1000000, w: 255 },
      { h: 8, l: -1, n: 42, w: 256 },
      { h: 8, l: -1, n: 1001, w: 3 },
      { h: 30, l: 63, n: 2 ** 40, w: 1 },
    ];
    const want = refTilePaths(tiles);
    expect(tiles.map(tilePath)).toEqual(want);
    expect(want.map(parseTilePath)).toEqual(tiles);
  });
});

describe("tile path parsing", () => {
  it.each([
    "tile/8/0/1",
    "tile/8/0/001.p/256",
    "tile/8/0/001.p/0",
    "tile/8/0/x000/001",
    "tile/0/0/001",
    "tile/31/0/001",
    "tile/8/-1/001",
    "tile/8/0/../001",
    "tiles/8/0/001",
    "tile/8/0",
    "tile/8/0/001.p/01",
  ])("refuses %s", (p) => {
    expect(() => parseTilePath(p)).toThrow(/malformed tile path/);
  });
});

describe("tree notes and records", () => {
  const hash = Buffer.alloc(32, 7).toString("base64");
  it("parses a tree note and refuses malformed ones", () => {
    expect(parseTree(`go.sum database tree\n12\n${hash}\n`)).toEqual({ n: 12, hash: b(hash) });
    for (const bad of [
      `go.sum database tree\n012\n${hash}\n`,
      `go.sum database tree\n-1\n${hash}\n`,
      `go.sum database tree\n12\n${hash}`,
      `go.sum database tree\n12\nAAAA\n`,
      `other tree\n12\n${hash}\n`,
    ]) {
      expect(() => parseTree(bad)).toThrow(/malformed tree note/);
    }
  });

  it("splits a lookup answer and refuses malformed record text", () => {
    const r = parseRecord(Buffer.from("7\nm v1.0.0 h1:x\nm v1.0.0/go.mod h1:y\n\nnote\n"));
    expect(r.id).toBe(7);
    expect(r.text.toString()).toBe("m v1.0.0 h1:x\nm v1.0.0/go.mod h1:y\n");
    expect(r.rest.toString()).toBe("note\n");
    expect(() => parseRecord(Buffer.from("x\nm\n\n"))).toThrow(/malformed record/);
    expect(() => parseRecord(Buffer.from("1\nm\tv\n\n"))).toThrow(/malformed record/);
    expect(() => parseRecord(Buffer.from("1\nm v\n"))).toThrow(/malformed record/);
  });
});
