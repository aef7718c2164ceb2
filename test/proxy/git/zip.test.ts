import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { type SourceFile, writeZip } from "../../../lib/proxy/git/zip";

/**
 * Writing the module zip from streamed entries: the files are written under `path@version/`, a
 * rule violation is refused before anything is written, and a file whose stream fails or
 * gives another size than declared fails the zip instead of leaving it half-written or hanging.
 */

describe("the module zip written from git archive entries", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), "gomirror-git-zip-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const file = (p: string, data: string | (() => Readable), size?: number): SourceFile => {
    const open = async () => (typeof data === "string" ? Readable.from([Buffer.from(data)]) : data());
    return {
      path: p,
      kind: "file",
      size: size ?? (typeof data === "string" ? Buffer.byteLength(data) : 0),
      open,
      read: () => Promise.reject(new Error("streamed, not read")),
    };
  };
  const what = "example.test/m@v1.0.0";

  it("writes every valid file under path@version/", async () => {
    const out = path.join(dir, "ok.zip");
    const size = await writeZip(out, what, [
      file("go.mod", "module example.test/m\n"),
      file("a.go", "package m\n"),
    ]);
    const zip = readFileSync(out);
    expect(zip.length).toBe(size);
    expect(zip.toString("latin1")).toContain(`${what}/go.mod`);
    expect(zip.toString("latin1")).toContain(`${what}/a.go`);
  });

  it("refuses files that break x/mod's rules before writing", async () => {
    await expect(
      writeZip(path.join(dir, "bad.zip"), what, [
        file("go.mod", "module example.test/m\n"),
        file("a\\b.go", "x"),
      ]),
    ).rejects.toMatchObject({ kind: "invalid", message: expect.stringMatching(/a\\b\.go: .*invalid char/) });
  });

  it("fails, and does not hang, when an entry gives fewer bytes than declared", async () => {
    await expect(
      writeZip(path.join(dir, "short.zip"), what, [file("go.mod", "module example.test/m\n", 100)]),
    ).rejects.toThrow(/unexpected number of bytes/);
  });

  it("fails, and does not hang, when an entry's stream fails", async () => {
    const broken = () =>
      new Readable({
        read() {
          this.destroy(new Error("archive entry is corrupt"));
        },
      });
    await expect(
      writeZip(path.join(dir, "broken.zip"), what, [
        file("go.mod", "module example.test/m\n"),
        file("a.go", broken, 10),
      ]),
    ).rejects.toThrow(/archive entry is corrupt/);
  });
});
