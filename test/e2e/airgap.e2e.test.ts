import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import pino from "pino";
import { loadConfig } from "../../lib/proxy/config";
import { ProxyMetrics } from "../../lib/proxy/metrics";
import { startProxy, type RunningProxy } from "../../lib/proxy/server";
import { DiskStorage } from "../../lib/proxy/storage/disk";
import { smallModules, writeProxyTree, type FixtureSet, type ModuleFixture } from "../support/fixtures";
import { createGoWorkspace, expectGoSuccess, removeTree, type GoWorkspace } from "../support/gocmd";
import { describeWithTools } from "../support/tools";
import { startStaticUpstream, type StaticUpstream } from "../support/upstream";
import { refGenerateKey, refSign, startRefSumdb, type RefSumdb } from "../proxy/sumdb/ref";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { readdirSync } from "node:fs";
import { filesUnder, gomirror, gomirrorChild, rewriteTar } from "./airgap-support";

/**
 * Air gap, end to end with the real go command: mirror A (online: a test upstream and a test
 * checksum database) exports a bundle for a program's go.sum; mirror B, with no upstream and a
 * checksum database it cannot reach, imports it; the go command with GOSUMDB=<name>+<key> and
 * GOPROXY=B builds the program, verifying every module through B's /sumdb/. Tampered bundles are
 * refused whole.
 */

const NAME = "sumdb.example.test";
/** Nothing listens on port 9: B's checksum database is configured but unreachable. */
const UNREACHABLE = "http://127.0.0.1:9";

function goMod(p: string, requires: string[] = []): string {
  const req = requires.length ? `\nrequire (\n${requires.map((r) => `\t${r}\n`).join("")})\n` : "";
  return `module ${p}\n\ngo 1.21\n${req}`;
}

function hello(p: string, v: string, requires: string[] = [], imports: string[] = []): ModuleFixture {
  const pkg = p.split("/").pop() as string;
  const imp = imports.map((i, n) => `import d${n} "${i}"\n`).join("");
  const tail = imports.map((_, n) => ` + " > " + d${n}.Hello()`).join("");
  return {
    path: p,
    version: v,
    files: {
      "go.mod": goMod(p, requires),
      [`${pkg}.go`]: `package ${pkg}\n\n${imp}\nfunc Hello() string { return "${p} ${v}"${tail} }\n`,
    },
  };
}

describeWithTools(
  { go: true },
  "bundles: export from an online mirror, import into an air-gapped one",
  () => {
    let root: string;
    let work: string;
    let fixtures: FixtureSet;
    let db: RefSumdb;
    let upstream: StaticUpstream;
    let mirrorA: RunningProxy;
    let key: { signer: string; verifier: string };
    let program: GoWorkspace;
    let bundle: string;
    const logsB: Record<string, unknown>[] = [];

    const start = (env: Record<string, string>, storage: string, logs?: Record<string, unknown>[]) => {
      const config = loadConfig({
        env: {
          GONOSUMDB: "",
          GOPRIVATE: "",
          GOMIRROR_LISTEN: "127.0.0.1:0",
          GOMIRROR_STORAGE: storage,
          ...env,
        },
        argv: [],
      });
      const sink = new Writable({
        write(chunk: Buffer, _enc, done) {
          for (const line of chunk.toString().split("\n").filter(Boolean))
            logs?.push(JSON.parse(line) as Record<string, unknown>);
          done();
        },
      });
      return startProxy(config, {
        storage: new DiskStorage(storage),
        logger: pino({ level: "info" }, sink),
        metrics: new ProxyMetrics(),
      });
    };

    beforeAll(async () => {
      work = mkdtempSync(path.join(tmpdir(), "gomirror-e2e-airgap-"));
      root = path.join(work, "upstream");
      fixtures = writeProxyTree(root, [
        hello("example.test/ag/c", "v1.0.0"),
        hello("example.test/ag/c", "v1.1.0"),
        hello("example.test/ag/b", "v1.2.0", ["example.test/ag/c v1.0.0"], ["example.test/ag/c"]),
        hello(
          "example.test/ag/a",
          "v1.0.0",
          ["example.test/ag/b v1.2.0", "example.test/ag/c v1.1.0"],
          ["example.test/ag/b"],
        ),
        hello("example.test/ag/Upper", "v2.0.0+incompatible"),
      ]);
      key = refGenerateKey(NAME);
      db = await startRefSumdb(
        key.signer,
        fixtures.modules.map((m) => ({ path: m.path, version: m.version, zip: m.zipHash, mod: m.modHash })),
      );
      upstream = await startStaticUpstream({ root });
      mirrorA = await start(
        { GOPROXY: upstream.url, GOSUMDB: `${key.verifier} ${db.url}` },
        path.join(work, "a"),
      );

      // The program, built once against A: its go.sum names what the air gap needs.
      program = createGoWorkspace({ goproxy: mirrorA.url, gosumdb: key.verifier });
      program.writeMainModule({
        imports: ["example.test/ag/a"],
        requires: [{ module: "example.test/ag/a", version: "v1.0.0" }],
      });
      const built = await program.run(["run", "."]);
      expectGoSuccess(built, "go run against mirror A");
      expect(built.stdout).toBe(
        "example.test/ag/a v1.0.0 > example.test/ag/b v1.2.0 > example.test/ag/c v1.1.0\n",
      );

      bundle = path.join(work, "bundle.tar");
      const exported = await gomirror(
        ["export", "--out", bundle, "--mirror", mirrorA.url, path.join(program.moduleDir, "go.sum")],
        {
          GOSUMDB: key.verifier,
          GOPROXY: "off",
          HOME: work,
        },
      );
      if (exported.status !== 0) throw new Error(`export failed: ${exported.stderr}${exported.stdout}`);
    }, 300_000);

    afterAll(async () => {
      await mirrorA?.close();
      await upstream?.close();
      await db?.stop();
      program?.cleanup();
      if (work) removeTree(work);
    });

    const importInto = (storage: string, file = bundle) =>
      gomirror(["import", file], {
        GOMIRROR_STORAGE: storage,
        GOPROXY: "off",
        GOSUMDB: `${key.verifier} ${UNREACHABLE}`,
      });

    it("refuses a bundle with one byte of one zip changed, and stores nothing", async () => {
      const bad = path.join(work, "zipbyte.tar");
      await rewriteTar(bundle, bad, (name, data) => {
        if (!name.endsWith("ag/b/@v/v1.2.0.zip")) return undefined;
        const copy = Buffer.from(data);
        copy[Math.floor(copy.length / 2)] ^= 0x01;
        return copy;
      });
      const storage = path.join(work, "refused-zip");
      const res = await importInto(storage, bad);
      expect(res.status).toBe(1);
      expect(res.stdout).toMatch(/FAIL .*example\.test\/ag\/b@v1\.2\.0: zip/);
      expect(res.stdout).toMatch(/nothing was stored/);
      expect(existsSync(storage) ? filesUnder(storage, [".tmp"]) : []).toEqual([]);
    });

    it("refuses a bundle whose manifest claims another hash", async () => {
      const bad = path.join(work, "manifest.tar");
      const other = fixtures.get("example.test/ag/c", "v1.0.0").zipHash;
      const mine = fixtures.get("example.test/ag/c", "v1.1.0").zipHash;
      await rewriteTar(bundle, bad, (name, data) =>
        name === ".gomirror/manifest.json" ? Buffer.from(data.toString().replace(mine, other)) : undefined,
      );
      const storage = path.join(work, "refused-manifest");
      const res = await importInto(storage, bad);
      expect(res.status).toBe(1);
      expect(res.stdout).toContain(
        `example.test/ag/c@v1.1.0: zip: ${mine} in the bundle, the manifest says ${other}`,
      );
      expect(res.stdout).toContain(`the manifest says ${other}, ${NAME} says ${mine}`);
      expect(existsSync(storage) ? filesUnder(storage, [".tmp"]) : []).toEqual([]);
    });

    it("refuses a forged tree head", async () => {
      const bad = path.join(work, "forged.tar");
      const forger = refGenerateKey(NAME).signer;
      let forged: Buffer | undefined;
      await rewriteTar(bundle, bad, (name, data) => {
        if (name !== `sumdb/${NAME}/latest`) return undefined;
        // The same tree, signed by a key of the same name that is not the configured one. The
        // manifest lists the SHA-256 of the real head, so the forger rewrites that line too.
        forged = refSign(data.toString().split("\n\n")[0] + "\n", forger);
        return forged;
      });
      const fixed = path.join(work, "forged-listed.tar");
      const { createHash } = await import("node:crypto");
      await rewriteTar(bad, fixed, (name, data) => {
        if (name !== ".gomirror/manifest.json" || !forged) return undefined;
        const doc = JSON.parse(data.toString()) as {
          files: { name: string; size: number; sha256: string }[];
        };
        for (const f of doc.files) {
          if (f.name === `sumdb/${NAME}/latest`) {
            f.size = forged.length;
            f.sha256 = createHash("sha256").update(forged).digest("hex");
          }
        }
        return Buffer.from(JSON.stringify(doc));
      });
      const storage = path.join(work, "refused-forged");
      const res = await importInto(storage, fixed);
      expect(res.status).toBe(1);
      expect(res.stdout).toMatch(/FAIL tree head: .*no verifiable signatures/);
      expect(existsSync(storage) ? filesUnder(storage, [".tmp"]) : []).toEqual([]);
    });

    it("imports into a mirror with no upstream, which then serves a verified build of the program", async () => {
      const storage = path.join(work, "b");
      const first = await importInto(storage);
      expect(first.status).toBe(0);
      expect(first.stdout).toMatch(/imported .*: 3 versions, \d+ files stored, 0 already present/);
      // Again: idempotent, everything already there.
      const again = await importInto(storage);
      expect(again.status).toBe(0);
      expect(again.stdout).toMatch(/ 0 files stored, \d+ already present/);

      // No TTL: every list answer is asked of the upstream, which is off, so the stored one serves.
      const mirrorB = await start(
        { GOPROXY: "off", GOSUMDB: `${key.verifier} ${UNREACHABLE}`, GOMIRROR_CACHE_TTL: "0" },
        storage,
        logsB,
      );
      const offline = createGoWorkspace({ goproxy: mirrorB.url, gosumdb: key.verifier });
      try {
        // No go.sum: the go command must look every module up in the checksum database.
        for (const f of ["go.mod", "main.go"]) {
          copyFileSync(path.join(program.moduleDir, f), path.join(offline.moduleDir, f));
        }
        const before = db.requests.length;
        const res = await offline.run(["run", "."]);
        expectGoSuccess(res, "go run against air-gapped mirror B");
        expect(res.stdout).toBe(
          "example.test/ag/a v1.0.0 > example.test/ag/b v1.2.0 > example.test/ag/c v1.1.0\n",
        );
        // Every module was verified through B's /sumdb/, which answered from its storage.
        const sumdbUrls = logsB
          .filter((l) => l.endpoint === "sumdb" && l.status === 200)
          .map((l) => String(l.url));
        for (const m of ["ag/a@v1.0.0", "ag/b@v1.2.0", "ag/c@v1.1.0"]) {
          expect(sumdbUrls).toContain(`/sumdb/${NAME}/lookup/example.test/${m}`);
        }
        expect(sumdbUrls.some((u) => u.includes("/tile/"))).toBe(true);
        expect(db.requests.length).toBe(before);
        const goSum = (dir: string): string => readFileSync(path.join(dir, "go.sum"), "utf8");
        expect(goSum(offline.moduleDir)).toBe(goSum(program.moduleDir));
        // The imported versions are listed as if B had fetched them: -versions and @latest work.
        const versions = await offline.run(["list", "-m", "-versions", "example.test/ag/c"]);
        expectGoSuccess(versions, "go list -m -versions against mirror B");
        expect(versions.stdout).toBe("example.test/ag/c v1.1.0\n");
        const latest = await offline.run(["get", "example.test/ag/b@latest"]);
        expectGoSuccess(latest, "go get @latest against mirror B");
        const listed = await offline.run(["list", "-m", "example.test/ag/b"]);
        expect(listed.stdout).toBe("example.test/ag/b v1.2.0\n");
        expect(readFileSync(path.join(storage, "example.test/ag/a/@v/list"), "utf8")).toBe("v1.0.0\n");
        // A go.sum that disagrees with B (a module it never verified) still fails: nothing is invented.
        writeFileSync(path.join(offline.moduleDir, "go.sum"), "");
        const unknown = await offline.run(["mod", "download", "example.test/ag/c@v1.0.0"], {
          cwd: offline.dir,
        });
        expect(unknown.code).not.toBe(0);
      } finally {
        offline.cleanup();
        await mirrorB.close();
      }
    });
  },
);

describeWithTools({ go: true }, "sync: a mirror copies what a peer stored, over HTTP, resumably", () => {
  let work: string;
  let db: RefSumdb;
  let upstream: StaticUpstream;
  let mirrorA: RunningProxy;
  let front: http.Server;
  let frontUrl: string;
  let verifier: string;
  const TOKEN = "gmt_synctest_secret";

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), "gomirror-e2e-sync-"));
    const fixtures = writeProxyTree(path.join(work, "upstream"), smallModules(12, "example.test/sync/m"));
    const key = refGenerateKey(NAME);
    verifier = key.verifier;
    db = await startRefSumdb(
      key.signer,
      fixtures.modules.map((m) => ({ path: m.path, version: m.version, zip: m.zipHash, mod: m.modHash })),
    );
    upstream = await startStaticUpstream({ root: path.join(work, "upstream") });
    const config = loadConfig({
      env: {
        GOPROXY: upstream.url,
        GOSUMDB: `${key.verifier} ${db.url}`,
        GOMIRROR_LISTEN: "127.0.0.1:0",
        GOMIRROR_STORAGE: path.join(work, "a"),
        GOMIRROR_LOG_LEVEL: "silent",
      },
      argv: [],
    });
    mirrorA = await startProxy(config);
    for (const m of fixtures.modules) {
      for (const ext of ["info", "mod", "zip"] as const) {
        const res = await fetch(`${mirrorA.url}/${fixtures.urlPath(m.path, m.version, ext)}`);
        expect(res.status).toBe(200);
        await res.arrayBuffer();
      }
    }
    // In front of A: wants the token, and slows zips down so that a sync can be caught mid-way.
    front = http.createServer((req, res) => {
      if (req.headers.authorization !== `Bearer ${TOKEN}`) {
        res.writeHead(401).end("token please\n");
        return;
      }
      const delay = req.url?.endsWith(".zip") ? 150 : 0;
      setTimeout(() => {
        void fetch(`${mirrorA.url}${req.url}`).then(async (r) => {
          res.writeHead(r.status, { "content-type": r.headers.get("content-type") ?? "text/plain" });
          res.end(Buffer.from(await r.arrayBuffer()));
        });
      }, delay);
    });
    await new Promise<void>((r) => front.listen(0, "127.0.0.1", r));
    frontUrl = `http://127.0.0.1:${(front.address() as AddressInfo).port}`;
  }, 300_000);

  afterAll(async () => {
    front?.close();
    await mirrorA?.close();
    await upstream?.close();
    await db?.stop();
    if (work) removeTree(work);
  });

  it("resumes after being killed, and ends with byte-identical files", async () => {
    const storage = path.join(work, "b");
    const env = {
      GOMIRROR_STORAGE: storage,
      GOPROXY: "off",
      // The database cannot be reached from here: lookups go through A's /sumdb/, verified here.
      GOSUMDB: `${verifier} ${UNREACHABLE}`,
      GOMIRROR_TOKEN: TOKEN,
    };
    const denied = await gomirror(["sync", "--from", frontUrl], {
      ...env,
      GOMIRROR_TOKEN: "gmt_wrong_token",
    });
    expect(denied.status).toBe(1);
    expect(denied.stderr).toContain("401");
    expect(denied.stderr + denied.stdout).not.toContain("gmt_wrong_token");

    const child = gomirrorChild(["sync", "--from", frontUrl, "--page", "2"], env);
    const exited = new Promise<void>((r) => child.once("exit", () => r()));
    const syncDir = path.join(storage, "sync");
    for (let i = 0; i < 600 && !(existsSync(syncDir) && readdirSync(syncDir).length > 0); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill("SIGKILL");
    await exited;
    const moduleFiles = (dir: string): string[] =>
      filesUnder(dir, [".tmp", "sumdb", "index", "sync"]).filter((f) => /\.(mod|zip|info)$/.test(f));
    const wanted = moduleFiles(path.join(work, "a"));
    expect(wanted).toHaveLength(36);
    const halfway = moduleFiles(storage);
    expect(halfway.length).toBeGreaterThan(0);
    expect(halfway.length).toBeLessThan(wanted.length);

    const done = await gomirror(["sync", "--from", frontUrl, "--page", "2"], env);
    expect(done.stdout).toMatch(/0 failed/);
    expect(done.status).toBe(0);
    expect(moduleFiles(storage)).toEqual(wanted);
    for (const f of wanted) {
      expect(readFileSync(path.join(storage, f)).equals(readFileSync(path.join(work, "a", f)))).toBe(true);
    }
    // What arrived is listed, as a mirror that fetched it would list it.
    expect(readFileSync(path.join(storage, "example.test/sync/m000/@v/list"), "utf8")).toBe("v1.0.0\n");
    const again = await gomirror(["sync", "--from", frontUrl], env);
    expect(again.stdout).toMatch(/ 0 copied/);
    expect(again.status).toBe(0);
    // Three sync runs of a ts-node process each, the first one slowed down on purpose.
  }, 240_000);
});
