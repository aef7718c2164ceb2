import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  FIXTURE,
  PRERELEASE_VERSIONS,
  PROGRAM_DEPENDENCIES,
  sizedModule,
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
  type GoWorkspaceOptions,
} from "../support/gocmd";
import { describeWithTools } from "../support/tools";
import { startStaticUpstream, type StaticUpstream } from "../support/upstream";
import { startTestMirror, type TestMirror } from "./gomirror";

/**
 * The proxy core against the real go command: gomirror in front of a static upstream holding
 * the standard fixtures, every go run in a fresh GOPATH. Answers are checked against the
 * fixture helper's x/mod hashes, or against what the go command resolves when it asks the
 * upstream directly.
 */

const BIG_ZIP_BYTES = 50 * 1024 * 1024;

interface DownloadJson {
  Path: string;
  Version: string;
  Error?: string;
  Info: string;
  GoMod: string;
  Zip: string;
  Sum: string;
  GoModSum: string;
}

describeWithTools(
  { go: true, bins: ["git"] },
  "gomirror between the go command and an upstream GOPROXY",
  () => {
    let root: string;
    let fixtures: FixtureSet;
    let upstream: StaticUpstream;
    /** The same tree for the go command to ask directly (reference answers), kept out of upstream's log. */
    let direct: StaticUpstream;
    let mirror: TestMirror;
    const workspaces: GoWorkspace[] = [];

    /** A fresh GOPATH whose go command asks gomirror (or `goproxy`). */
    const workspace = (options: Partial<GoWorkspaceOptions> = {}): GoWorkspace => {
      const ws = createGoWorkspace({ goproxy: mirror.url, ...options });
      workspaces.push(ws);
      return ws;
    };

    beforeAll(async () => {
      root = mkdtempSync(path.join(tmpdir(), "gomirror-e2e-upstream-"));
      fixtures = writeProxyTree(root, [...standardFixtures(), sizedModule(BIG_ZIP_BYTES)]);
      upstream = await startStaticUpstream({ root });
      direct = await startStaticUpstream({ root });
      mirror = await startTestMirror({ goproxy: upstream.url });
    }, 300_000);
    afterAll(async () => {
      await mirror?.close();
      await upstream?.close();
      await direct?.close();
      if (root) removeTree(root);
    });
    afterEach(() => {
      for (const ws of workspaces.splice(0)) ws.cleanup();
    });

    it("go mod download -json reports the reference h1 hashes and gets the upstream's exact bytes", async () => {
      const wanted = [
        [FIXTURE.upper, "v1.0.0"],
        [FIXTURE.v2, "v2.1.0"],
        [FIXTURE.incompatible, "v2.0.0+incompatible"],
        [FIXTURE.noGoMod, "v1.0.0"],
        [FIXTURE.prerelease, "v1.1.0-rc.1"],
      ] as const;
      const ws = workspace();
      const res = await ws.run(["mod", "download", "-json", ...wanted.map(([p, v]) => `${p}@${v}`)], {
        cwd: ws.dir,
      });
      expectGoSuccess(res, "go mod download");
      const reported = parseGoJson<DownloadJson>(res.stdout);
      expect(reported.map((r) => r.Error).filter(Boolean)).toEqual([]);
      for (const [p, v] of wanted) {
        const fixture = fixtures.get(p, v);
        const got = reported.find((r) => r.Path === p && r.Version === v);
        expect({ module: `${p}@${v}`, Sum: got?.Sum, GoModSum: got?.GoModSum }).toEqual({
          module: `${p}@${v}`,
          Sum: fixture.zipHash,
          GoModSum: fixture.modHash,
        });
        expect(readFileSync(got!.Zip).equals(readFileSync(fixture.zipFile))).toBe(true);
        expect(readFileSync(got!.GoMod, "utf8")).toBe(fixture.goMod);
        const info = JSON.parse(readFileSync(got!.Info, "utf8")) as { Version: string; Time: string };
        expect({ Version: info.Version, Time: new Date(info.Time).toISOString() }).toEqual({
          Version: v,
          Time: new Date(fixture.time).toISOString(),
        });
      }
    });

    it("fetches a zip from the upstream once, however many clients download it", async () => {
      const [p, v] = [FIXTURE.chainC, "v1.1.0"];
      const zipPath = fixtures.urlPath(p, v, "zip");
      expect(upstream.count(zipPath)).toBe(0);
      // two clients at once (single flight), then one more after the first ones are served
      const first = await Promise.all(
        [workspace(), workspace()].map((ws) =>
          ws.run(["mod", "download", "-json", `${p}@${v}`], { cwd: ws.dir }),
        ),
      );
      const later = workspace();
      const third = await later.run(["mod", "download", "-json", `${p}@${v}`], { cwd: later.dir });
      for (const res of [...first, third]) {
        expectGoSuccess(res, "go mod download");
        expect(parseGoJson<DownloadJson>(res.stdout)[0]?.Sum).toBe(fixtures.get(p, v).zipHash);
      }
      expect(upstream.count(zipPath)).toBe(1);
      expect(upstream.count(fixtures.urlPath(p, v, "mod"))).toBeLessThanOrEqual(1);
      expect(upstream.count(fixtures.urlPath(p, v, "info"))).toBeLessThanOrEqual(1);
    }, 120_000);

    it("streams a 50 MB zip through with the reference hash, fetching it once", async () => {
      const big = fixtures.modules.find((m) => m.zipSize >= BIG_ZIP_BYTES)!;
      const results = await Promise.all(
        [workspace(), workspace()].map((ws) =>
          ws.run(["mod", "download", "-json", `${big.path}@${big.version}`], { cwd: ws.dir }),
        ),
      );
      for (const res of results) {
        expectGoSuccess(res, "go mod download of the big zip");
        expect(parseGoJson<DownloadJson>(res.stdout)[0]?.Sum).toBe(big.zipHash);
      }
      expect(upstream.count(fixtures.urlPath(big.path, big.version, "zip"))).toBe(1);
    }, 120_000);

    it("go list -m -versions lists every version, pre-releases in semver order", async () => {
      const ws = workspace();
      for (const [p, versions] of [
        [FIXTURE.prerelease, PRERELEASE_VERSIONS],
        [FIXTURE.v2, ["v2.0.0", "v2.1.0"]],
        [FIXTURE.upper, ["v1.0.0"]],
        [FIXTURE.incompatible, ["v1.0.0", "v2.0.0+incompatible"]],
      ] as const) {
        const res = await ws.run(["list", "-m", "-versions", p], { cwd: ws.dir });
        expectGoSuccess(res, `go list -m -versions ${p}`);
        expect(res.stdout.trim()).toBe(`${p} ${versions.join(" ")}`);
      }
    });

    /**
     * What `go get <module>@<query>` puts into go.mod when the go command asks `goproxy`, or
     * `failed: <the go command's error>` when it finds nothing.
     */
    async function resolvedBy(goproxy: string, modulePath: string, query: string): Promise<string> {
      const ws = workspace({ goproxy });
      ws.writeMainModule();
      const get = await ws.run(["get", `${modulePath}@${query}`]);
      if (get.code !== 0) return `failed: ${get.stderr.trim().split("\n").pop()}`;
      const list = await ws.run(["list", "-m", modulePath]);
      expectGoSuccess(list, `go list -m ${modulePath}`);
      return list.stdout.trim();
    }

    it.each([
      [FIXTURE.prerelease, "latest", "v1.0.1"],
      [FIXTURE.incompatible, "latest", "v2.0.0+incompatible"],
      [FIXTURE.v2, "latest", "v2.1.0"],
      [FIXTURE.upper, "latest", "v1.0.0"],
      [FIXTURE.prerelease, "v1.0", "v1.0.1"],
      [FIXTURE.prerelease, "v1", "v1.0.1"],
      [FIXTURE.prerelease, "<v1.0.1", "v1.0.0"],
      [FIXTURE.prerelease, "v1.1", undefined], // only pre-releases match: the go command says so
    ])(
      "go get %s@%s resolves as it does against the upstream directly",
      async (modulePath, query, expected) => {
        const reference = await resolvedBy(direct.url, modulePath, query);
        expect(reference).toBe(
          expected
            ? `${modulePath} ${expected}`
            : `failed: go: ${modulePath}@${query}: no matching versions for query "${query}"`,
        );
        expect(await resolvedBy(mirror.url, modulePath, query)).toBe(reference);
      },
    );

    it("builds a program from several modules, then again from the cache alone", async () => {
      const program = {
        imports: PROGRAM_DEPENDENCIES.map((d) => d.importPath),
        requires: PROGRAM_DEPENDENCIES.map((d) => ({ module: d.module, version: d.version })),
      };
      const expectedOutput = [
        "chain/a v1.0.0 > chain/b v1.2.0 > chain/c v1.0.0",
        "Upper/Case v1.0.0",
        "major/v2 v2.1.0",
        "incompat v2.0.0+incompatible",
        "nogomod/sub v1.0.0",
        "prerel v1.1.0-rc.1",
      ];
      const buildAndRun = async (): Promise<string[]> => {
        const ws = workspace();
        ws.writeMainModule(program);
        expectGoSuccess(await ws.run(["build", "-o", "app", "."]), "go build");
        const run = await ws.run(["run", "."]);
        expectGoSuccess(run, "go run");
        return run.stdout.trim().split("\n");
      };

      expect(await buildAndRun()).toEqual(expectedOutput);
      const zips = upstream.requests.filter((r) => r.path.endsWith(".zip")).map((r) => r.path);
      expect(zips.length).toBeGreaterThan(0);
      expect(zips.length).toBe(new Set(zips).size); // no zip asked twice over the whole suite so far

      upstream.resetRequests();
      expect(await buildAndRun()).toEqual(expectedOutput);
      expect(upstream.requests).toEqual([]);

      // the upstream gone: first the running instance, then a restarted one over the same storage
      await upstream.close();
      expect(await buildAndRun()).toEqual(expectedOutput);
      await mirror.close({ keepStorage: true });
      mirror = await startTestMirror({ goproxy: upstream.url, storage: mirror.storage });
      expect(await buildAndRun()).toEqual(expectedOutput);
    }, 120_000);
  },
);
