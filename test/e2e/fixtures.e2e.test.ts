import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  FIXTURE,
  PRERELEASE_VERSIONS,
  PROGRAM_DEPENDENCIES,
  standardFixtures,
  writeProxyTree,
  type FixtureSet,
} from "../support/fixtures";
import {
  createGoWorkspace,
  expectGoSuccess,
  parseGoJson,
  removeTree,
  type GoWorkspace,
} from "../support/gocmd";
import { describeWithTools } from "../support/tools";
import { startStaticUpstream, type StaticUpstream } from "../support/upstream";

/**
 * The ground the proxy e2e tests stand on: the go command itself accepts the fixture tree
 * served by the static upstream, and computes the same hashes the fixture helper reports.
 * If this fails, a failure in proxy.e2e is about the fixtures, not the proxy.
 */
describeWithTools(
  { go: true },
  "module fixtures served by the static upstream, read by the go command",
  () => {
    let root: string;
    let fixtures: FixtureSet;
    let upstream: StaticUpstream;
    let ws: GoWorkspace;

    beforeAll(async () => {
      root = mkdtempSync(path.join(tmpdir(), "gomirror-fixtures-"));
      fixtures = writeProxyTree(root, standardFixtures());
      upstream = await startStaticUpstream({ root });
    }, 300_000);
    afterAll(async () => {
      await upstream?.close();
      removeTree(root);
    });
    beforeEach(() => {
      ws = createGoWorkspace({ goproxy: upstream.url });
    });
    afterEach(() => ws.cleanup());

    it("go mod download reports the fixture's h1 hashes for every module version", async () => {
      const wanted = fixtures.modules.map((m) => `${m.path}@${m.version}`);
      const res = await ws.run(["mod", "download", "-json", ...wanted], { cwd: ws.dir });
      expectGoSuccess(res, "go mod download");
      const reported = parseGoJson<{ Path: string; Version: string; Sum: string; GoModSum: string }>(
        res.stdout,
      );
      expect(reported.map((r) => [r.Path, r.Version, r.Sum, r.GoModSum]).sort()).toEqual(
        fixtures.modules.map((m) => [m.path, m.version, m.zipHash, m.modHash]).sort(),
      );
    });

    it("go list -m -versions sees the pre-releases in semver order", async () => {
      const res = await ws.run(["list", "-m", "-versions", FIXTURE.prerelease], { cwd: ws.dir });
      expectGoSuccess(res, "go list -m -versions");
      expect(res.stdout.trim()).toBe(`${FIXTURE.prerelease} ${PRERELEASE_VERSIONS.join(" ")}`);
    });

    it("go build links the dependency program and it prints every module version", async () => {
      ws.writeMainModule({
        imports: PROGRAM_DEPENDENCIES.map((d) => d.importPath),
        requires: PROGRAM_DEPENDENCIES.map((d) => ({ module: d.module, version: d.version })),
      });
      const build = await ws.run(["build", "-o", "app", "."]);
      expectGoSuccess(build, "go build");
      const run = await ws.run(["run", "."]);
      expectGoSuccess(run, "go run");
      expect(run.stdout.trim().split("\n")).toEqual([
        "chain/a v1.0.0 > chain/b v1.2.0 > chain/c v1.0.0",
        "Upper/Case v1.0.0",
        "major/v2 v2.1.0",
        "incompat v2.0.0+incompatible",
        "nogomod/sub v1.0.0",
        "prerel v1.1.0-rc.1",
      ]);
    }, 180_000);
  },
);
