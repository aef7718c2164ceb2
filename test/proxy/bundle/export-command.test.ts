import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { runExportCommand } from "../../../bin/bundle";
import { storageKeys } from "../../../lib/proxy/cache/keys";
import { MANIFEST_NAME, parseManifest, type BundleManifest } from "../../../lib/proxy/bundle/manifest";
import { readTar } from "../../../lib/proxy/bundle/tar";
import { hashGoMod } from "../../../lib/proxy/module/dirhash";
import { DiskStorage } from "../../../lib/proxy/storage/disk";
import { formatTimestamp } from "../../../lib/proxy/sync/index-log";
import { IndexedStorage } from "../../../lib/proxy/sync/indexed-storage";
import { makeModuleZip } from "../../support/module-zip";

/** `gomirror export --storage S --since TIME`: only versions the mirror stored since then. */

describe("gomirror export --since a time", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "gomirror-export-cmd-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const store = async (storage: IndexedStorage, p: string): Promise<void> => {
    await storage.put(storageKeys.mod(p, "v1.0.0"), Buffer.from(`module ${p}\n`), { ifNoneMatch: true });
    await storage.put(storageKeys.zip(p, "v1.0.0"), await makeModuleZip(p, "v1.0.0"), { ifNoneMatch: true });
  };

  const manifestOf = async (file: string): Promise<BundleManifest> => {
    let manifest: BundleManifest | undefined;
    await readTar(file, async (e) => {
      if (e.name !== MANIFEST_NAME) return false;
      const chunks: Buffer[] = [];
      for await (const c of e.body) chunks.push(c as Buffer);
      manifest = parseManifest(Buffer.concat(chunks));
      return false;
    });
    return manifest as BundleManifest;
  };

  it("leaves out versions stored before the time, read from the mirror's /index record", async () => {
    const storageDir = path.join(dir, "storage");
    const storage = new IndexedStorage(new DiskStorage(storageDir));
    await store(storage, "example.test/old");
    await delay(5);
    const between = formatTimestamp(Date.now() * 1000);
    await delay(5);
    await store(storage, "example.test/new");
    const list = path.join(dir, "versions.txt");
    writeFileSync(list, "example.test/old@v1.0.0\nexample.test/new@v1.0.0\n");

    const out = path.join(dir, "week.tar");
    let stdout = "";
    const io = { stdout: (t: string) => void (stdout += t), stderr: () => undefined, tty: false };
    const env = {
      GOPROXY: "off",
      GOSUMDB: "off",
      GOMIRROR_LOG_LEVEL: "silent",
      GOMIRROR_STORAGE: storageDir,
    };
    expect(await runExportCommand(["--out", out, "--since", between, list], { ...io, env })).toBe(0);
    expect(stdout).toMatch(/1 versions \(1 zips\)/);
    expect((await manifestOf(out)).modules.map((m) => m.path)).toEqual(["example.test/new"]);
  });

  it("reads any *.sum file as a go.sum (go.work.sum too), checking its hashes", async () => {
    const storageDir = path.join(dir, "storage");
    const storage = new IndexedStorage(new DiskStorage(storageDir));
    await store(storage, "example.test/ws");
    const sum = path.join(dir, "go.work.sum");
    const modHash = await hashGoMod(Buffer.from("module example.test/ws\n"));
    writeFileSync(sum, `example.test/ws v1.0.0/go.mod ${modHash}\n`);
    const out = path.join(dir, "ws.tar");
    const io = { stdout: () => undefined, stderr: () => undefined, tty: false };
    const env = {
      GOPROXY: "off",
      GOSUMDB: "off",
      GOMIRROR_LOG_LEVEL: "silent",
      GOMIRROR_STORAGE: storageDir,
    };
    expect(await runExportCommand(["--out", out, sum], { ...io, env })).toBe(0);
    expect((await manifestOf(out)).modules).toEqual([
      { path: "example.test/ws", version: "v1.0.0", mod: { h1: modHash, size: 23 }, private: true },
    ]);
    writeFileSync(sum, `example.test/ws v1.0.0/go.mod h1:${"A".repeat(43)}=\n`);
    await expect(runExportCommand(["--out", out, sum], { ...io, env })).rejects.toThrow(/but go\.sum says/);
  });
});
