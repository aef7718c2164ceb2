import { createReadStream, createWriteStream, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import yazl from "yazl";
import { hash1, hashGoMod, hashZipFile, hashZipStream } from "../../../lib/proxy/module/dirhash";
import { describeWithTools } from "../../support/tools";
import { refHashMod, refHashZip } from "./ref";

interface ZipItem {
  readonly name: string;
  readonly content?: string | Buffer;
  readonly compress?: boolean;
  readonly dir?: boolean;
}

function writeZip(file: string, items: readonly ZipItem[]): Promise<void> {
  const zip = new yazl.ZipFile();
  for (const item of items) {
    if (item.dir) zip.addEmptyDirectory(item.name, { mtime: new Date(0) });
    else
      zip.addBuffer(Buffer.from(item.content ?? ""), item.name, {
        compress: item.compress ?? true,
        mtime: new Date(0),
      });
  }
  zip.end();
  return new Promise((resolve, reject) => {
    zip.outputStream.pipe(createWriteStream(file)).on("close", resolve).on("error", reject);
  });
}

const PREFIX = "example.test/hash@v1.0.0/";

// U+FF61 sorts before U+1F600 by UTF-8 bytes (EF.. < F0..) but after it by UTF-16 code units
// (FF61 > D83D): a hash that sorts with JavaScript's default order gets these wrong.
const UNICODE_NAMES = ["\uFF61.go", "\u{1F600}.go", "\uE000.txt", "\u{10000}.txt", "z.go", "A.go", "go.mod"];

describeWithTools({ go: true }, "h1 hashing (dirhash) against x/mod", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), "gomirror-dirhash-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("orders names whose UTF-8 byte order differs from their UTF-16 order as Go does", async () => {
    const names = UNICODE_NAMES.map((n) => PREFIX + n);
    expect([...names].sort()).not.toEqual(
      [...names].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))),
    );
    const file = path.join(dir, "unicode.zip");
    await writeZip(
      file,
      names.map((name, i) => ({ name, content: `package p // ${i}\n`, compress: i % 2 === 0 })),
    );
    const [want] = refHashZip(file);
    expect(await hashZipFile(file)).toBe(want);
  });

  it("matches HashZip for stored and deflated entries, empty files, directories and a large file", async () => {
    const big = Buffer.alloc(3 * 1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7919) % 251;
    const file = path.join(dir, "mixed.zip");
    await writeZip(file, [
      { name: `${PREFIX}go.mod`, content: "module example.test/hash\n" },
      { name: `${PREFIX}empty.txt`, content: "" },
      { name: `${PREFIX}sub/`, dir: true },
      { name: `${PREFIX}sub/big.bin`, content: big, compress: true },
      { name: `${PREFIX}sub/raw.bin`, content: big.subarray(0, 1000), compress: false },
      { name: `${PREFIX}LICENSE`, content: "MIT\r\n" },
    ]);
    const [want] = refHashZip(file);
    expect(await hashZipFile(file)).toBe(want);
    expect(await hashZipStream(createReadStream(file))).toBe(want);
  });

  it("hashes go.mod contents like the go command's go.sum lines", async () => {
    const contents = [
      "module example.test/hash\n\ngo 1.21\n",
      "",
      "module x\r\nrequire y v1.0.0\r\n",
      "mod\u00e9\n",
    ];
    const files = contents.map((c, i) => {
      const f = path.join(dir, `go${i}.mod`);
      writeFileSync(f, c);
      return f;
    });
    const want = refHashMod(...files);
    for (const [i, c] of contents.entries()) expect(await hashGoMod(Buffer.from(c))).toBe(want[i]);
  });

  it("refuses a zip whose entry fails its CRC-32 check", async () => {
    const file = path.join(dir, "crc.zip");
    await writeZip(file, [{ name: `${PREFIX}a.txt`, content: "hello, world", compress: false }]);
    const { readFileSync } = await import("node:fs");
    const bytes = readFileSync(file);
    const at = bytes.indexOf("hello, world");
    bytes[at] = "j".charCodeAt(0);
    writeFileSync(file, bytes);
    await expect(hashZipFile(file)).rejects.toThrow(/CRC-32/);
  });
});

describe("hash1", () => {
  it("refuses a file name with a newline", async () => {
    await expect(hash1([{ name: "a\nb", open: () => Promise.resolve(Buffer.alloc(0)) }])).rejects.toThrow(
      /newline/,
    );
  });

  it("does not depend on the order files are given in", async () => {
    const files = UNICODE_NAMES.map((name) => ({ name, open: () => Promise.resolve(Buffer.from(name)) }));
    expect(await hash1(files)).toBe(await hash1([...files].reverse()));
  });
});
