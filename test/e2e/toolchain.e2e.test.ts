import { copyFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { writeProxyTree, type FixtureSet, type ModuleFixture } from "../support/fixtures";
import { createGoWorkspace, expectGoSuccess, removeTree, type GoWorkspace } from "../support/gocmd";
import { describeWithTools } from "../support/tools";
import { startStaticUpstream, type StaticUpstream } from "../support/upstream";
import { refGenerateKey, startRefSumdb, type RefSumdb } from "../proxy/sumdb/ref";
import { startTestMirror, type TestMirror } from "./gomirror";

/**
 * Go toolchain switching through gomirror with the real go command: GOTOOLCHAIN names a Go
 * newer than the local one, so the go command downloads `golang.org/toolchain` through its
 * GOPROXY (gomirror), checks it against the checksum database (through gomirror's /sumdb/),
 * and runs that toolchain's `bin/go`. Here the toolchain is a fake one built with x/mod's zip
 * rules, whose `bin/go` is a shell script printing a marker, from a test upstream and a test
 * checksum database. gomirror verifies toolchains even when GONOSUMDB matches them, as the go
 * command does, and serves a cached one with the upstream gone.
 */

const TOOLCHAIN = "golang.org/toolchain";
const NAME = "sumdb.example.test";
const GOARCH = process.arch === "x64" ? "amd64" : process.arch;
const version = (go: string) => `v0.0.1-${go}.linux-${GOARCH}`;

function toolchain(go: string, says: string): ModuleFixture {
  return {
    path: TOOLCHAIN,
    version: version(go),
    // cmd/go makes pkg/tool, bin/gofmt and bin executable on first use, so all three must exist.
    files: { "bin/go": `#!/bin/sh\necho "${says}: $*"\n`, "bin/gofmt": "#!/bin/sh\n", VERSION: `${go}\n` },
    // Big enough to stream in many chunks, as the real ~70 MB toolchain zips do.
    padding: { file: "pkg/tool/blob", bytes: 8 << 20, seed: 7 },
  };
}

describeWithTools({ go: true }, "Go toolchain downloads through gomirror", () => {
  let root: string;
  let fixtures: FixtureSet;
  let upstream: StaticUpstream;
  let db: RefSumdb;
  let verifier: string;
  let mirror: TestMirror;
  let ws: GoWorkspace | undefined;

  beforeAll(async () => {
    root = mkdtempSync(path.join(tmpdir(), "gomirror-e2e-toolchain-"));
    fixtures = writeProxyTree(root, [
      toolchain("go1.99.0", "fake go1.99.0 toolchain"),
      toolchain("go1.98.0", "fake go1.98.0 toolchain"),
    ]);
    const key = refGenerateKey(NAME);
    verifier = key.verifier;
    db = await startRefSumdb(
      key.signer,
      fixtures.modules.map((m) => ({ path: m.path, version: m.version, zip: m.zipHash, mod: m.modHash })),
    );
    // The upstream's go1.98.0 is not the one the checksum database recorded.
    const evilRoot = mkdtempSync(path.join(tmpdir(), "gomirror-e2e-toolchain-evil-"));
    const evil = writeProxyTree(evilRoot, [toolchain("go1.98.0", "backdoored go1.98.0")]);
    copyFileSync(
      evil.get(TOOLCHAIN, version("go1.98.0")).zipFile,
      fixtures.get(TOOLCHAIN, version("go1.98.0")).zipFile,
    );
    removeTree(evilRoot);

    upstream = await startStaticUpstream({ root });
    mirror = await startTestMirror({
      goproxy: upstream.url,
      env: {
        GOSUMDB: `${verifier} ${db.url}`,
        // Toolchains are verified all the same, as the go command verifies them.
        GONOSUMDB: "golang.org",
      },
    });
  }, 300_000);

  afterEach(() => {
    ws?.cleanup();
    ws = undefined;
  });
  afterAll(async () => {
    await mirror?.close();
    await upstream?.close();
    await db?.stop();
    if (root) removeTree(root);
  });

  /** `go version` with GOTOOLCHAIN set, in a fresh GOPATH, GOSUMDB a key found through gomirror. */
  const switchTo = (go: string) => {
    ws = createGoWorkspace({ goproxy: mirror.url, gosumdb: verifier, env: { GOTOOLCHAIN: go } });
    return ws.run(["version"], { cwd: ws.dir });
  };

  it("downloads and runs the toolchain GOTOOLCHAIN names, verified, through gomirror", async () => {
    const run = await switchTo("go1.99.0");
    expectGoSuccess(run, "go version with GOTOOLCHAIN=go1.99.0");
    expect(run.stdout).toBe("fake go1.99.0 toolchain: version\n");
    const zip = fixtures.urlPath(TOOLCHAIN, version("go1.99.0"), "zip");
    expect(upstream.count(zip)).toBe(1);
    expect(db.requests).toContain(`/lookup/${TOOLCHAIN}@${version("go1.99.0")}`);
  });

  it("switches again from gomirror's cache with the upstream stopped", async () => {
    const zip = fixtures.urlPath(TOOLCHAIN, version("go1.99.0"), "zip");
    upstream.faults.set("*", { status: 500 });
    try {
      const run = await switchTo("go1.99.0");
      expectGoSuccess(run, "go version from the cache");
      expect(run.stdout).toBe("fake go1.99.0 toolchain: version\n");
      expect(upstream.count(zip)).toBe(1);
    } finally {
      upstream.faults.clear();
    }
  });

  it("refuses a toolchain that differs from the checksum database, although GONOSUMDB matches it", async () => {
    const run = await switchTo("go1.98.0");
    expect(run.code).not.toBe(0);
    // The zip is larger than gomirror holds back before streaming: the first bytes are on their
    // way when the hash is known, so the refusal is the connection cut before the last byte.
    expect(run.stderr).toContain(`download go1.98.0: ${TOOLCHAIN}@${version("go1.98.0")}`);
    expect(run.stderr).toMatch(/unexpected EOF|checksum mismatch/);
    expect(run.stdout).not.toContain("backdoored");
    expect(db.requests).toContain(`/lookup/${TOOLCHAIN}@${version("go1.98.0")}`);
    const metrics = await (await fetch(`${mirror.url}/metrics`)).text();
    expect(metrics).toMatch(/^gomirror_checksum_mismatches_total [1-9]/m);
  });
});
