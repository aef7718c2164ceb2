import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { runExport } from "../../../lib/proxy/bundle/export";
import { MANIFEST_NAME, parseManifest, type BundleManifest } from "../../../lib/proxy/bundle/manifest";
import { parseModuleArg, type WantedVersion } from "../../../lib/proxy/bundle/select";
import { readTar } from "../../../lib/proxy/bundle/tar";
import { hashGoMod } from "../../../lib/proxy/module/dirhash";
import { FakeSource } from "../../support/fake-source";
import { makeModuleZip } from "../../support/module-zip";

/** `--since` an earlier bundle: what it holds is left out; a zip it lacks is not. GOSUMDB=off. */

const A = "example.test/a";
const B = "example.test/b";

describe("export --since an earlier bundle", () => {
  let dir: string;
  let source: FakeSource;
  beforeAll(async () => {
    source = new FakeSource({
      [A]: {
        versions: ["v1.0.0", "v1.1.0"],
        mods: { "v1.0.0": `module ${A}\n`, "v1.1.0": `module ${A}\n` },
        zips: { "v1.0.0": await makeModuleZip(A, "v1.0.0"), "v1.1.0": await makeModuleZip(A, "v1.1.0") },
      },
      [B]: {
        versions: ["v0.1.0"],
        mods: { "v0.1.0": `module ${B}\n` },
        zips: { "v0.1.0": await makeModuleZip(B, "v0.1.0") },
      },
    });
  });
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "gomirror-export-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const exportTo = async (name: string, wanted: WantedVersion[], since?: BundleManifest) => {
    const out = path.join(dir, name);
    const summary = await runExport({
      out,
      wanted,
      source,
      noSumdb: "",
      since: since && { manifest: since },
      progress: { tty: false, write: () => undefined },
      tmpDir: dir,
    });
    let manifest: BundleManifest | undefined;
    const names: string[] = [];
    await readTar(out, async (e) => {
      names.push(e.name);
      if (e.name !== MANIFEST_NAME) return;
      const chunks: Buffer[] = [];
      for await (const c of e.body) chunks.push(c as Buffer);
      manifest = parseManifest(Buffer.concat(chunks));
    });
    return { summary, manifest: manifest as BundleManifest, names };
  };

  it("leaves out versions the earlier bundle holds, keeps new ones and zips it lacked", async () => {
    const week1 = await exportTo("week1.tar", [
      parseModuleArg(`${A}@v1.0.0`),
      { path: B, version: "v0.1.0", zip: false },
    ]);
    expect(week1.manifest.modules.map((m) => `${m.path}@${m.version}${m.zip ? "+zip" : ""}`)).toEqual([
      `${A}@v1.0.0+zip`,
      `${B}@v0.1.0`,
    ]);
    expect(week1.manifest.modules[0].mod.h1).toBe(await hashGoMod(Buffer.from(`module ${A}\n`)));

    const week2 = await exportTo(
      "week2.tar",
      [parseModuleArg(`${A}@v1.0.0`), parseModuleArg(`${A}@v1.1.0`), parseModuleArg(`${B}@v0.1.0`)],
      week1.manifest,
    );
    expect(week2.summary.alreadyBundled).toBe(1);
    expect(week2.manifest.modules.map((m) => `${m.path}@${m.version}${m.zip ? "+zip" : ""}`)).toEqual([
      `${A}@v1.1.0+zip`,
      `${B}@v0.1.0+zip`,
    ]);
    expect(week2.names).not.toContain("example.test/a/@v/v1.0.0.zip");
    expect(week2.names).toContain("example.test/b/@v/v0.1.0.zip");
  });

  it("refuses a zip that does not hash as the go.sum says, writing nothing", async () => {
    const wanted = { ...parseModuleArg(`${A}@v1.0.0`), goSum: { zip: `h1:${"B".repeat(43)}=` } };
    await expect(exportTo("bad.tar", [wanted])).rejects.toThrow(/but go\.sum says/);
    expect(readdirSync(dir)).toEqual([]);
  });
});
