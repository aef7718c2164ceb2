import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { checkModuleZip } from "../../../lib/proxy/module/zipcheck";
import { makeModuleZip } from "../../support/module-zip";

const M = "example.test/m";
const V = "v1.0.0";

describe("checkModuleZip (x/mod's CheckZip rules)", () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(tmpdir(), "gomirror-zipcheck-"))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  async function check(data: Buffer, modulePath = M, version = V): Promise<void> {
    const file = path.join(dir, "m.zip");
    writeFileSync(file, data);
    await checkModuleZip(file, modulePath, version);
  }

  it("accepts a well-formed module zip", async () => {
    await expect(check(await makeModuleZip(M, V, { fillerBytes: 1000 }))).resolves.toBeUndefined();
  });

  it.each<[string, Record<string, string>, RegExp]>([
    [
      "two names that differ only in case",
      { "a/File.go": "x", "a/file.go": "y" },
      /case-insensitive file name collision/,
    ],
    ["a go.mod below the root", { "sub/go.mod": "module x\n" }, /go.mod file not in module root directory/],
    ["a GO.MOD in upper case", { "GO.MOD": "module x\n" }, /go.mod files must be named go.mod/],
    ["an invalid file name", { "a:b.go": "x" }, /invalid char/],
  ])("refuses %s", async (_what, files, message) => {
    await expect(check(await makeModuleZip(M, V, { files }))).rejects.toMatchObject({
      kind: "upstream",
      message: expect.stringMatching(message),
    });
  });

  it("refuses entries outside module@version/", async () => {
    await expect(check(await makeModuleZip(M, "v1.0.1"))).rejects.toThrow(
      /does not have prefix "example.test\/m@v1.0.0\/"/,
    );
  });

  it("refuses bytes that are not a zip", async () => {
    await expect(check(Buffer.from("<html>not found</html>"))).rejects.toThrow(/not a valid zip file/);
  });

  it("refuses a go.mod over 16 MiB", async () => {
    const big = "// padding\n".repeat(1_600_000);
    await expect(check(await makeModuleZip(M, V, { files: { "go.mod": big } }))).rejects.toMatchObject({
      kind: "too-large",
      message: expect.stringMatching(/go.mod file too large/),
    });
  });
});
