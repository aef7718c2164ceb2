import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import pino from "pino";
import { loadConfig } from "../../lib/proxy/config";
import { hashZipFile } from "../../lib/proxy/module/dirhash";
import { ProxyMetrics } from "../../lib/proxy/metrics";
import { startProxy, type RunningProxy } from "../../lib/proxy/server";
import { DiskStorage } from "../../lib/proxy/storage/disk";
import { writeProxyTree, type FixtureSet, type ModuleFixture } from "../support/fixtures";
import { createGoWorkspace, expectGoSuccess, removeTree, type GoWorkspace } from "../support/gocmd";
import { describeWithTools } from "../support/tools";
import { startStaticUpstream, type StaticUpstream } from "../support/upstream";
import { refGenerateKey, startRefSumdb, type RefSumdb } from "../proxy/sumdb/ref";

/**
 * The real go command with GOSUMDB set to a key alone (no URL) and GOPROXY = gomirror: it finds
 * the checksum database through gomirror's /sumdb/ and builds; an upstream serving a tampered
 * zip or go.mod is refused by gomirror, nothing is cached, and the go command fails with
 * gomirror's message. The database is x/mod's test server with its own key, holding the
 * fixtures' real hashes.
 */

const NAME = "sumdb.example.test";

function hello(modPath: string, version: string, says: string): ModuleFixture {
  const pkg = modPath.split("/").pop() as string;
  return {
    path: modPath,
    version,
    files: {
      "go.mod": `module ${modPath}\n\ngo 1.21\n`,
      [`${pkg}.go`]: `package ${pkg}\n\n// Hello names this module version.\nfunc Hello() string { return "${says}" }\n`,
    },
  };
}

describeWithTools({ go: true }, "checksum database through gomirror, with the real go command", () => {
  let root: string;
  let storageDir: string;
  let fixtures: FixtureSet;
  let db: RefSumdb;
  let upstream: StaticUpstream;
  let proxy: RunningProxy;
  let verifier: string;
  let signer: string;
  const logs: Record<string, unknown>[] = [];
  let ws: GoWorkspace | undefined;

  beforeAll(async () => {
    root = mkdtempSync(path.join(tmpdir(), "gomirror-e2e-sumdb-"));
    storageDir = mkdtempSync(path.join(tmpdir(), "gomirror-e2e-sumdb-storage-"));
    const good = [
      hello("example.test/sumgood", "v1.0.0", "sumgood v1.0.0"),
      hello("example.test/tamperzip", "v1.0.0", "tamperzip v1.0.0"),
      hello("example.test/tampermod", "v1.0.0", "tampermod v1.0.0"),
    ];
    fixtures = writeProxyTree(root, good);
    const key = refGenerateKey(NAME);
    verifier = key.verifier;
    db = await startRefSumdb(
      key.signer,
      fixtures.modules.map((m) => ({ path: m.path, version: m.version, zip: m.zipHash, mod: m.modHash })),
    );

    // Now tamper with the upstream's copies (after the database recorded the real hashes).
    const evilRoot = mkdtempSync(path.join(tmpdir(), "gomirror-e2e-sumdb-evil-"));
    const evil = writeProxyTree(evilRoot, [
      hello("example.test/tamperzip", "v1.0.0", "tamperzip v1.0.0 (evil)"),
    ]);
    copyFileSync(
      evil.get("example.test/tamperzip", "v1.0.0").zipFile,
      fixtures.get("example.test/tamperzip", "v1.0.0").zipFile,
    );
    removeTree(evilRoot);
    const modFile = fixtures.get("example.test/tampermod", "v1.0.0").modFile;
    writeFileSync(modFile, `${readFileSync(modFile, "utf8")}\nrequire evil.example.test/backdoor v1.0.0\n`);

    upstream = await startStaticUpstream({ root });
    proxy = await startMirror(`${key.verifier} ${db.url}`, storageDir);
    signer = key.signer;
  }, 300_000);

  /** gomirror as the server builds itself from its configuration. */
  const startMirror = async (gosumdb: string, storage: string): Promise<RunningProxy> => {
    const config = loadConfig({
      env: {
        GOPROXY: upstream.url,
        GOSUMDB: gosumdb,
        GONOSUMDB: "",
        GOPRIVATE: "",
        GOMIRROR_STORAGE: storage,
        GOMIRROR_LISTEN: "127.0.0.1:0",
        GOMIRROR_LOG_LEVEL: "info",
      },
      argv: [],
    });
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString().split("\n").filter(Boolean))
          logs.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    const logger = pino({ level: "info" }, sink);
    // Only storage, logs and metrics are given: verification and /sumdb/ are the server's own.
    return startProxy(config, { storage: new DiskStorage(storage), logger, metrics: new ProxyMetrics() });
  };

  afterEach(() => {
    ws?.cleanup();
    ws = undefined;
  });
  afterAll(async () => {
    await proxy?.close();
    await upstream?.close();
    await db?.stop();
    if (root) removeTree(root);
    if (storageDir) removeTree(storageDir);
  });

  const workspace = (goproxy = proxy.url): GoWorkspace => {
    ws?.cleanup(); // one at a time: a test that needs a second one gives up the first
    ws = createGoWorkspace({ goproxy, gosumdb: verifier });
    return ws;
  };

  it("builds with GOSUMDB=<key> through gomirror's /sumdb/", async () => {
    const w = workspace();
    w.writeMainModule({
      imports: ["example.test/sumgood"],
      requires: [{ module: "example.test/sumgood", version: "v1.0.0" }],
    });
    const res = await w.run(["run", "."]);
    expectGoSuccess(res, "go run");
    expect(res.stdout).toBe("sumgood v1.0.0\n");
    const goSum = readFileSync(path.join(w.moduleDir, "go.sum"), "utf8");
    for (const line of fixtures.goSumLines("example.test/sumgood", "v1.0.0")) expect(goSum).toContain(line);

    const sumdbUrls = logs.filter((l) => l.event === "request" && l.endpoint === "sumdb").map((l) => l.url);
    expect(sumdbUrls).toContain(`/sumdb/${NAME}/supported`);
    expect(sumdbUrls).toContain(`/sumdb/${NAME}/lookup/example.test/sumgood@v1.0.0`);
    expect(db.requests).toContain("/lookup/example.test/sumgood@v1.0.0");
  });

  it("gomirror verify re-checks the cache, reports a tampered file, and removes it with --remove", async () => {
    // sumgood was fetched and verified by the first test; now its cached zip rots.
    const zipKey = "example.test/sumgood/@v/v1.0.0.zip";
    const zipFile = path.join(storageDir, ...zipKey.split("/"));
    const evilZip = fixtures.get("example.test/tamperzip", "v1.0.0").zipFile;
    expect(await proxy.storage.stat(zipKey)).toBeDefined();
    copyFileSync(evilZip, zipFile);
    const run = (...args: string[]) =>
      spawnSync(
        process.execPath,
        ["-r", "ts-node/register/transpile-only", "bin/gomirror.ts", "verify", ...args],
        {
          cwd: path.resolve(__dirname, "../.."),
          env: {
            PATH: process.env.PATH,
            GOSUMDB: `${verifier} ${db.url}`,
            GOPROXY: "off",
            GOMIRROR_STORAGE: storageDir,
            GOMIRROR_LOG_LEVEL: "silent",
          },
          encoding: "utf8",
          timeout: 60_000,
        },
      );
    const first = run("--remove");
    expect(first.status).toBe(1);
    expect(first.stdout).toMatch(/FAIL .*example\.test\/sumgood.*v1\.0\.0/);
    expect(first.stdout).toMatch(/1 mismatched/);
    expect(await proxy.storage.stat(zipKey)).toBeUndefined();
    const second = run();
    expect(second.stdout).toMatch(/0 mismatched/);
    expect(second.status).toBe(0);
  });

  it("refuses a tampered zip: the go command fails with gomirror's message and nothing is cached", async () => {
    const w = workspace();
    const res = await w.run(["mod", "download", "example.test/tamperzip@v1.0.0"], { cwd: w.dir });
    expect(res.code).not.toBe(0);
    const want = fixtures.get("example.test/tamperzip", "v1.0.0").zipHash;
    expect(res.stderr).toContain("example.test/tamperzip@v1.0.0: verifying module: checksum mismatch");
    expect(res.stderr).toContain(`${NAME}: ${want}`);
    expect(res.stderr).toMatch(/downloaded: h1:\S+/);
    // gomirror's refusal (a 502 with its message), not the go command's own check.
    expect(res.stderr).toContain("502 Bad Gateway");
    expect(res.stderr).toContain("gomirror neither cached nor served it");
    expect(await proxy.storage.stat("example.test/tamperzip/@v/v1.0.0.zip")).toBeUndefined();
    expect(logs).toContainEqual(
      expect.objectContaining({ event: "checksum_mismatch", module: "example.test/tamperzip", level: 50 }),
    );
    expect(
      await proxy.metrics.registry.getSingleMetricAsString("gomirror_checksum_mismatches_total"),
    ).toMatch(/gomirror_checksum_mismatches_total [1-9]/);
  });

  it("refuses a tampered go.mod the same way", async () => {
    const w = workspace();
    const res = await w.run(["mod", "download", "example.test/tampermod@v1.0.0"], { cwd: w.dir });
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain("example.test/tampermod@v1.0.0: verifying go.mod: checksum mismatch");
    expect(res.stderr).toContain(`${NAME}: ${fixtures.get("example.test/tampermod", "v1.0.0").modHash}`);
    expect(await proxy.storage.stat("example.test/tampermod/@v/v1.0.0.mod")).toBeUndefined();
    // Its zip is genuine: prefetched along with the .info, checked against the database, stored.
    const zip = "example.test/tampermod/@v/v1.0.0.zip";
    for (let i = 0; i < 200 && !(await proxy.storage.stat(zip)); i++)
      await new Promise((r) => setTimeout(r, 25));
    const stored = await proxy.storage.get(zip);
    const bytes = Buffer.concat(await stored!.body.toArray());
    expect(await hashZipFile(bytes)).toBe(fixtures.get("example.test/tampermod", "v1.0.0").zipHash);
  });

  it("refuses a database that signs with another key, and one that forks the log it verified before", async () => {
    const records = fixtures.modules.map((m) => ({
      path: m.path,
      version: m.version,
      zip: m.zipHash,
      mod: m.modHash,
    }));
    const sumgood = records.find((r) => r.path === "example.test/sumgood")!;
    const others = records.filter((r) => r !== sumgood);
    const extra = { path: "example.test/extra", version: "v1.0.0", zip: sumgood.zip, mod: sumgood.mod };

    // Another key under the same name: every lookup is refused.
    const impostor = await startRefSumdb(refGenerateKey(NAME).signer, records);
    const storage1 = mkdtempSync(path.join(tmpdir(), "gomirror-e2e-sumdb-storage-"));
    const m1 = await startMirror(`${verifier} ${impostor.url}`, storage1);
    try {
      const w = workspace(m1.url);
      const res = await w.run(["mod", "download", "example.test/sumgood@v1.0.0"], { cwd: w.dir });
      expect(res.code).not.toBe(0);
      expect(res.stderr).toContain("note has no verifiable signatures");
      expect(await m1.storage.stat("example.test/sumgood/@v/v1.0.0.zip")).toBeUndefined();
    } finally {
      await m1.close();
      await impostor.stop();
      removeTree(storage1);
    }

    // The right key, but the log rewritten (other order, one more record) after gomirror verified
    // the original: gomirror keeps its verified tree in storage and catches the fork after a restart.
    const storage2 = mkdtempSync(path.join(tmpdir(), "gomirror-e2e-sumdb-storage-"));
    const honest = await startRefSumdb(signer, records);
    const m2 = await startMirror(`${verifier} ${honest.url}`, storage2);
    const w2 = workspace(m2.url);
    expectGoSuccess(
      await w2.run(["mod", "download", "example.test/sumgood@v1.0.0"], { cwd: w2.dir }),
      "go mod download",
    );
    await m2.close();
    await honest.stop();
    const forked = await startRefSumdb(signer, [...others, sumgood, extra]);
    const m3 = await startMirror(`${verifier} ${forked.url}`, storage2);
    try {
      const w = workspace(m3.url);
      const res = await w.run(["mod", "download", "example.test/tamperzip@v1.0.0"], { cwd: w.dir });
      expect(res.code).not.toBe(0);
      expect(res.stderr).toContain("go.sum database server misbehavior detected");
    } finally {
      await m3.close();
      await forked.stop();
      removeTree(storage2);
    }
  });
});
