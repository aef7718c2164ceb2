import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { SumdbClient } from "../../../lib/proxy/sumdb/client";
import { formatVerifySummary, runVerify } from "../../../lib/proxy/sumdb/verify-command";
import { describeWithTools } from "../../support/tools";
import { MemoryStorage } from "./memory-storage";
import { refGenerateKey, refHashMod, refHashZip, startRefSumdb, writeModuleZip, type RefSumdb } from "./ref";

const NAME = "sumdb.example.test";

describeWithTools({ go: true }, "gomirror verify", () => {
  let dir: string;
  let db: RefSumdb;
  let key: { signer: string; verifier: string };
  const zips: Record<string, Buffer> = {};
  const mods: Record<string, string> = {};

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "gomirror-verifycmd-"));
    const records = [];
    for (const name of ["good", "badzip", "badmod", "Upper"]) {
      const p = `example.test/${name}`;
      const file = path.join(dir, `${name}.zip`);
      await writeModuleZip(file, {
        [`${p}@v1.0.0/go.mod`]: `module ${p}\n`,
        [`${p}@v1.0.0/x.go`]: "package x\n",
      });
      zips[name] = readFileSync(file);
      mods[name] = `module ${p}\n`;
      const modFile = path.join(dir, `${name}.mod`);
      writeFileSync(modFile, mods[name]);
      records.push({ path: p, version: "v1.0.0", zip: refHashZip(file)[0], mod: refHashMod(modFile)[0] });
    }
    key = refGenerateKey(NAME);
    db = await startRefSumdb(key.signer, records);
  });
  afterAll(async () => {
    await db.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const filled = async (): Promise<MemoryStorage> => {
    const st = new MemoryStorage();
    for (const name of ["good", "badzip", "badmod"]) {
      await st.put(`example.test/${name}/@v/v1.0.0.mod`, Buffer.from(mods[name]));
      await st.put(`example.test/${name}/@v/v1.0.0.zip`, zips[name]);
      await st.put(`example.test/${name}/@v/v1.0.0.info`, Buffer.from("{}"));
    }
    await st.put("example.test/!upper/@v/v1.0.0.mod", Buffer.from(mods.Upper));
    await st.put("example.test/badzip/@v/v1.0.0.zip", zips.good, {}); // another module's zip
    await st.put("example.test/badmod/@v/v1.0.0.mod", Buffer.from(`${mods.badmod}// changed\n`));
    await st.put("private.example.test/x/@v/v1.0.0.zip", Buffer.from("not a zip, never looked at"));
    await st.put("example.test/broken/@v/v1.0.0.zip", Buffer.from("not a zip"));
    await st.put("sumdb/other/lookup/x@v1.0.0", Buffer.from("ignored"));
    return st;
  };
  const database = (st: MemoryStorage): SumdbClient =>
    new SumdbClient({ config: { name: NAME, key: key.verifier, url: db.url }, storage: st });

  it("reports what matches, what does not, what is private and what could not be checked", async () => {
    const st = await filled();
    const summary = await runVerify({
      storage: st,
      config: { sumdb: "off", noSumdb: "private.example.test" },
      database: database(st),
      progress: false,
    });
    expect(summary).toMatchObject({
      checked: 9,
      ok: 5,
      mismatched: 2,
      skippedPrivate: 1,
      errors: 1,
      removed: 0,
    });
    expect(summary.failures.map((f) => [f.key, f.kind]).sort()).toEqual([
      ["example.test/badmod/@v/v1.0.0.mod", "mismatch"],
      ["example.test/badzip/@v/v1.0.0.zip", "mismatch"],
      ["example.test/broken/@v/v1.0.0.zip", "error"],
    ]);
    const badzip = summary.failures.find((f) => f.key.includes("badzip"));
    expect(badzip?.reason).toMatch(
      /example\.test\/badzip@v1\.0\.0: verifying module: checksum mismatch\n\tcached: h1:\S+\n\tsumdb\.example\.test: h1:/,
    );
    expect(await st.stat("example.test/badzip/@v/v1.0.0.zip")).toBeDefined();
    expect(formatVerifySummary(summary)).toBe("checked 9: 5 ok, 2 mismatched, 1 skipped (private), 1 errors");
  });

  it("removes mismatched and unreadable files with remove, and keeps the rest", async () => {
    const st = await filled();
    const summary = await runVerify({
      storage: st,
      config: { sumdb: "off", noSumdb: "private.example.test" },
      database: database(st),
      remove: true,
      progress: false,
    });
    expect(summary.removed).toBe(3);
    expect(await st.stat("example.test/badzip/@v/v1.0.0.zip")).toBeUndefined();
    expect(await st.stat("example.test/badmod/@v/v1.0.0.mod")).toBeUndefined();
    expect(await st.stat("example.test/broken/@v/v1.0.0.zip")).toBeUndefined();
    expect(await st.stat("example.test/good/@v/v1.0.0.zip")).toBeDefined();
    expect(await st.stat("example.test/badzip/@v/v1.0.0.mod")).toBeDefined();
    expect(await st.stat("private.example.test/x/@v/v1.0.0.zip")).toBeDefined();
  });
});
