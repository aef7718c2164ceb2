import {
  createWriteStream,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { pack } from "tar-stream";
import {
  BUNDLE_FORMAT,
  formatManifest,
  ManifestError,
  MANIFEST_NAME,
  moduleEntryNames,
  parseManifest,
  type BundleManifest,
} from "../../../lib/proxy/bundle/manifest";
import { readTar, TarWriter } from "../../../lib/proxy/bundle/tar";

const H1 = `h1:${"A".repeat(43)}=`;
const SHA = "0".repeat(64);

const manifest = (over: Partial<Record<keyof BundleManifest, unknown>> = {}): Buffer =>
  Buffer.from(
    JSON.stringify({
      format: BUNDLE_FORMAT,
      created: "2026-01-02T03:04:05Z",
      sumdb: { name: "sum.golang.org", tree: 42 },
      modules: [
        {
          path: "example.test/Upper",
          version: "v1.0.0",
          mod: { h1: H1, size: 30 },
          zip: { h1: H1, size: 900 },
        },
        { path: "example.test/modonly", version: "v0.1.0", mod: { h1: H1, size: 20 }, private: true },
      ],
      files: [{ name: "sumdb/sum.golang.org/latest", size: 100, sha256: SHA }],
      ...over,
    }),
  );

describe("the bundle manifest", () => {
  it("round-trips through formatManifest and parseManifest", () => {
    const parsed = parseManifest(manifest());
    expect(parseManifest(formatManifest(parsed))).toEqual(parsed);
    expect(parsed.modules[1]).toEqual({
      path: "example.test/modonly",
      version: "v0.1.0",
      mod: { h1: H1, size: 20 },
      private: true,
    });
  });

  it("names a module's entries with the GOPROXY layout's escaping", () => {
    expect(moduleEntryNames({ path: "example.test/Upper", version: "v1.0.0-RC" })).toEqual({
      mod: "example.test/!upper/@v/v1.0.0-!r!c.mod",
      zip: "example.test/!upper/@v/v1.0.0-!r!c.zip",
      info: "example.test/!upper/@v/v1.0.0-!r!c.info",
    });
  });

  it.each([
    ["another format", { format: "gomirror-bundle/2" }, /a newer gomirror may be needed/],
    ["no module list", { modules: undefined }, /modules and files must be lists/],
    [
      "a bad module path",
      { modules: [{ path: "../etc", version: "v1.0.0", mod: { h1: H1, size: 1 } }] },
      /modules\[0\]/,
    ],
    [
      "a non-canonical version",
      { modules: [{ path: "example.test/a", version: "v1.0", mod: { h1: H1, size: 1 } }] },
      /modules\[0\]/,
    ],
    [
      "a hash that is not h1:",
      { modules: [{ path: "example.test/a", version: "v1.0.0", mod: { h1: "h2:xyz", size: 1 } }] },
      /mod: want/,
    ],
    [
      "a negative size",
      { modules: [{ path: "example.test/a", version: "v1.0.0", mod: { h1: H1, size: -1 } }] },
      /invalid size -1/,
    ],
    [
      "a version listed twice",
      {
        modules: [
          { path: "example.test/a", version: "v1.0.0", mod: { h1: H1, size: 1 } },
          { path: "example.test/a", version: "v1.0.0", mod: { h1: H1, size: 1 } },
        ],
      },
      /listed twice/,
    ],
    [
      "a file that is also a module entry",
      { files: [{ name: "example.test/!upper/@v/v1.0.0.zip", size: 1, sha256: SHA }] },
      /listed twice/,
    ],
    [
      "a file named like the manifest",
      { files: [{ name: MANIFEST_NAME, size: 1, sha256: SHA }] },
      /listed twice/,
    ],
    ["a file escaping the storage", { files: [{ name: "../x", size: 1, sha256: SHA }] }, /files\[0\]/],
    ["a file without its SHA-256", { files: [{ name: "x", size: 1, sha256: "abc" }] }, /files\[0\] \(x\)/],
    ["a sumdb without a tree size", { sumdb: { name: "sum.golang.org" } }, /sumdb: want/],
  ])("refuses %s", (_name, over, message) => {
    expect(() => parseManifest(manifest(over))).toThrow(ManifestError);
    expect(() => parseManifest(manifest(over))).toThrow(message);
  });

  it("refuses what is not JSON", () => {
    expect(() => parseManifest(Buffer.from("{"))).toThrow(/bundle manifest: not JSON/);
  });
});

describe("bundle tars", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "gomirror-tar-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const entries = async (file: string): Promise<[string, number, string][]> => {
    const out: [string, number, string][] = [];
    await readTar(file, async (e) => {
      const chunks: Buffer[] = [];
      for await (const c of e.body) chunks.push(c as Buffer);
      out.push([e.name, e.size, Buffer.concat(chunks).toString("utf8")]);
    });
    return out;
  };

  it("writes entries in order, long names included, and the file appears only when finished", async () => {
    const file = path.join(dir, "b.tar");
    const long = `example.test/${"deep/".repeat(40)}m/@v/v1.0.0.mod`;
    const w = new TarWriter(file, new Date(0));
    await w.add(MANIFEST_NAME, Buffer.from("{}"));
    await w.add(long, Buffer.from("module m\n"));
    await w.addStream("z.zip", 5, Readable.from([Buffer.from("ab"), Buffer.from("cde")]));
    // The temporary file opens when the stream gets to it: only the bundle's absence is certain.
    expect(existsSync(file)).toBe(false);
    await w.finish();
    expect(readdirSync(dir)).toEqual(["b.tar"]);
    expect(await entries(file)).toEqual([
      [MANIFEST_NAME, 2, "{}"],
      [long, 9, "module m\n"],
      ["z.zip", 5, "abcde"],
    ]);
  });

  it("fails an entry whose body is not the announced size, and abort leaves nothing", async () => {
    const file = path.join(dir, "b.tar");
    const w = new TarWriter(file, new Date(0));
    await expect(w.addStream("z.zip", 10, Readable.from([Buffer.from("short")]))).rejects.toThrow();
    await w.abort();
    expect(readdirSync(dir)).toEqual([]);
  });

  it("skips what a reader leaves unread, and stops when told", async () => {
    const file = path.join(dir, "b.tar");
    const w = new TarWriter(file, new Date(0));
    for (const n of ["a", "b", "c"]) await w.add(n, Buffer.alloc(2000, n));
    await w.finish();
    const seen: string[] = [];
    await readTar(file, async (e) => {
      seen.push(e.name);
      return e.name !== "b";
    });
    expect(seen).toEqual(["a", "b"]);
  });

  it("rejects a truncated tar", async () => {
    const file = path.join(dir, "b.tar");
    const w = new TarWriter(file, new Date(0));
    await w.add("a", Buffer.alloc(5000, "a"));
    await w.add("b", Buffer.alloc(5000, "b"));
    await w.finish();
    truncateSync(file, 3000);
    await expect(entries(file)).rejects.toThrow();
  });

  it("reports entry types other than files, for readers to refuse", async () => {
    const file = path.join(dir, "link.tar");
    const p = pack();
    p.entry({ name: "evil", type: "symlink", linkname: "/etc/passwd" });
    p.finalize();
    await pipeline(p, createWriteStream(file));
    const types: string[] = [];
    await readTar(file, async (e) => void types.push(`${e.name}:${e.type}`));
    expect(types).toEqual(["evil:symlink"]);
    writeFileSync(path.join(dir, "not.tar"), "not a tar at all, just text that is long enough ".repeat(20));
    await expect(entries(path.join(dir, "not.tar"))).rejects.toThrow();
    expect(readFileSync(file).length).toBeGreaterThan(0);
  });
});
