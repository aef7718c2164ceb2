import { execFileSync } from "node:child_process";
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import type { RunningProxy } from "../../lib/proxy/server";
import { GitSource } from "../../lib/proxy/git/source";
import type { ModuleInfo } from "../../lib/proxy/sources/source";
import { buildGoHelper } from "../support/gohelper";
import {
  directDownloads,
  directEnv as directEnvFor,
  type GoDownload,
  goDownload,
  goEnv,
  goVersions,
  hashFile as hashWith,
} from "../support/gitcompare";
import { buildRepos, GIT_HOST } from "../support/gitrepos";
import { type GitServer, startGitServer } from "../support/gitserver";
import { describeWithTools } from "../support/tools";
import { startStaticUpstream, type StaticUpstream } from "../support/upstream";

/**
 * The git source against the real go command. The go command fetches every case DIRECTLY from
 * the loopback git server (GOPROXY=direct, an env-only git insteadOf rewrite, go-get through an
 * HTTP proxy pointed at the same server), then the same cases go through the GitSource alone and
 * through gomirror (GOPROXY=<gomirror>, the private host in GONOPROXY): Version, Time, Origin, the
 * go.mod and zip h1: hashes and `go list -m -versions` must be the go command's own.
 */

type Download = GoDownload;

interface Case {
  readonly path: string;
  readonly query: string;
  /** The go command must refuse it too (and we with it). */
  readonly fails?: boolean;
}

describeWithTools({ go: true, bins: ["git"] }, "git source matches the go command's direct fetch", () => {
  let tmp: string;
  let server: GitServer;
  let source: GitSource;
  let githash: string;
  let cases: Case[];
  let direct: Map<string, Download>;
  const key = (c: Case) => `${c.path}@${c.query}`;

  const directEnv = (gopath: string): NodeJS.ProcessEnv =>
    directEnvFor(gopath, server.url, GIT_HOST, [GIT_HOST]);
  const hashFile = (kind: "zip" | "mod", file: string, modPath = "", version = "") =>
    hashWith(githash, kind, file, modPath, version);

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(tmpdir(), "gomirror-git-e2e-"));
    const repos = buildRepos(tmp);
    server = await startGitServer({
      projectRoot: repos.root,
      goImports: [
        { prefix: `${GIT_HOST}/group/sub/proj`, repoURL: `https://${GIT_HOST}/group/sub/proj.git` },
      ],
    });
    githash = buildGoHelper("githash");
    source = new GitSource({
      rewrite: [{ from: `https://${GIT_HOST}/`, to: `${server.url}/` }],
      workDir: path.join(tmp, "gitsource"),
    });
    const rev = (repo: string, ref: string) =>
      execFileSync("git", ["--git-dir", path.join(repos.root, repo), "rev-parse", `${ref}^{commit}`], {
        encoding: "utf8",
      }).trim();
    const hello = `${GIT_HOST}/hello.git`;
    cases = [
      { path: hello, query: "v1.0.0" },
      { path: hello, query: "v1.1.0" },
      { path: hello, query: "main" },
      { path: hello, query: "feature" },
      { path: hello, query: rev("hello.git", "v1.0.0").slice(0, 7) },
      { path: hello, query: rev("hello.git", "main").slice(0, 12) },
      { path: hello, query: "v2.0.0", fails: true },
      { path: `${hello}/sub`, query: "v0.1.0" },
      { path: `${hello}/sub`, query: "main" },
      { path: `${hello}/v2`, query: "v2.0.0" },
      { path: `${hello}/v2`, query: "main" },
      { path: `${GIT_HOST}/major.git/v2`, query: "v2.0.0" },
      { path: `${GIT_HOST}/major.git`, query: "v1.0.0" },
      { path: `${GIT_HOST}/legacy.git`, query: "v1.0.0" },
      { path: `${GIT_HOST}/legacy.git`, query: "v3.0.0" },
      { path: `${GIT_HOST}/legacy.git`, query: "v3.0.0+incompatible" },
      { path: `${GIT_HOST}/case.git`, query: "v1.0.0", fails: true },
      { path: `${GIT_HOST}/group/sub/proj`, query: "latest" },
      { path: `${GIT_HOST}/untagged.git`, query: "latest" },
      { path: `${GIT_HOST}/retract.git`, query: "fix" },
      { path: `${GIT_HOST}/attr.git`, query: "v1.0.0" },
      { path: `${GIT_HOST}/untagged.git`, query: rev("untagged.git", "main~1").slice(0, 12) },
    ];
    const work = path.join(tmp, "main-module");
    mkdirSync(work, { recursive: true });
    writeFileSync(path.join(work, "go.mod"), "module example.test/main\n\ngo 1.21\n");
    direct = await directDownloads(directEnv, tmp, work, cases.map(key));
  }, 600_000);

  afterAll(async () => {
    await source?.close();
    await server?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it("the go command itself fetched every case as expected", () => {
    for (const c of cases) {
      const d = direct.get(key(c));
      expect(d).toBeDefined();
      if (c.fails) expect(d?.Error).toBeTruthy();
      else expect({ case: key(c), error: d?.Error }).toEqual({ case: key(c), error: undefined });
    }
    expect(direct.get(`${GIT_HOST}/legacy.git@v3.0.0`)?.Version).toBe("v3.0.0+incompatible");
    expect(direct.get(`${GIT_HOST}/hello.git@main`)?.Version).toMatch(
      /^v1\.1\.1-0\.20240103100000-[0-9a-f]{12}$/,
    );
  });

  it("answers .info with the go command's Version, Time and Origin", async () => {
    for (const c of cases.filter((x) => !x.fails)) {
      const d = direct.get(key(c)) as Download;
      const goInfo = JSON.parse(readFileSync(d.Info as string, "utf8")) as ModuleInfo;
      const ours = c.query === "latest" ? await source.latest(c.path) : await source.info(c.path, c.query);
      expect({ case: key(c), info: ours }).toEqual({ case: key(c), info: goInfo });
    }
  });

  it("serves go.mod and zip files with the go command's h1: hashes", async () => {
    for (const c of cases.filter((x) => !x.fails)) {
      const d = direct.get(key(c)) as Download;
      const version = d.Version as string;
      const modFile = path.join(tmp, "our.mod");
      writeFileSync(modFile, await source.mod(c.path, version));
      expect({ case: key(c), mod: hashFile("mod", modFile).h1 }).toEqual({ case: key(c), mod: d.GoModSum });
      const zipFile = path.join(tmp, "our.zip");
      const dl = await source.zip(c.path, version);
      await pipeline(dl.body, createWriteStream(zipFile));
      expect({ case: key(c), zip: hashFile("zip", zipFile, c.path, version) }).toEqual({
        case: key(c),
        zip: { h1: d.Sum, valid: expect.any(Array) },
      });
    }
  });

  it("builds zips by Go's rules: CRLF and export-ignore kept, symlinks, vendored packages and nested modules left out", async () => {
    const version = "v1.1.0";
    const zipFile = path.join(tmp, "rules.zip");
    await pipeline((await source.zip(`${GIT_HOST}/hello.git`, version)).body, createWriteStream(zipFile));
    const checked = JSON.parse(
      execFileSync(githash, ["zip", zipFile, `${GIT_HOST}/hello.git`, version], { encoding: "utf8" }),
    ) as {
      valid: string[];
    };
    const prefix = `${GIT_HOST}/hello.git@${version}/`;
    expect(checked.valid.map((f) => f.slice(prefix.length)).sort()).toEqual(
      [
        ".gitattributes",
        "LICENSE",
        "crlf.txt",
        "go.mod",
        "hello.go",
        "ignored.txt",
        "vendor/modules.txt",
      ].sort(),
    );
    const crlf = execFileSync("unzip", ["-p", zipFile, `${prefix}crlf.txt`]);
    expect(crlf.toString("latin1")).toBe("line one\r\nline two\r\n");
  });

  it("adds the repository's LICENSE to a nested module that has none", async () => {
    const zipFile = path.join(tmp, "sub.zip");
    await pipeline(
      (await source.zip(`${GIT_HOST}/hello.git/sub`, "v0.1.0")).body,
      createWriteStream(zipFile),
    );
    const checked = JSON.parse(
      execFileSync(githash, ["zip", zipFile, `${GIT_HOST}/hello.git/sub`, "v0.1.0"], { encoding: "utf8" }),
    ) as {
      valid: string[];
    };
    expect(checked.valid.sort()).toEqual(
      ["LICENSE", "go.mod", "sub.go"].map((f) => `${GIT_HOST}/hello.git/sub@v0.1.0/${f}`),
    );
  });

  it("refuses what the go command refuses", async () => {
    await expect(source.info(`${GIT_HOST}/hello.git`, "v2.0.0")).rejects.toMatchObject({ kind: "not-found" });
    await expect(source.zip(`${GIT_HOST}/case.git`, "v1.0.0")).rejects.toThrow(
      /case-insensitive file name collision: "README" and "readme"/,
    );
  });

  it("lists the versions `go list -m -versions` lists", async () => {
    const paths = [...new Set(cases.map((c) => c.path))].filter((p) => !p.endsWith("case.git"));
    const goLists = await goVersions(
      directEnv(path.join(tmp, "gopath-list")),
      path.join(tmp, "main-module"),
      paths,
    );
    for (const p of paths) {
      const ours = await source.list(p);
      expect({ path: p, versions: ours }).toEqual({ path: p, versions: goLists.get(p) });
    }
  }, 300_000);

  describe("through gomirror (GOPROXY=<gomirror>, private host in GONOPROXY)", () => {
    let upstream: StaticUpstream;
    let proxy: RunningProxy;
    let viaProxy: Map<string, Download>;

    beforeAll(async () => {
      const emptyTree = path.join(tmp, "public-upstream");
      mkdirSync(emptyTree, { recursive: true });
      upstream = await startStaticUpstream({ root: emptyTree });
      // Loaded here so that the direct comparisons above run even while the server is unfinished.
      const { loadConfig } = await import("../../lib/proxy/config");
      const { startProxy } = await import("../../lib/proxy/server");
      const { createLogger } = await import("../../lib/proxy/logger");
      const config = loadConfig({
        env: {
          GOPROXY: upstream.url,
          GONOPROXY: GIT_HOST,
          GOSUMDB: "off",
          GOMIRROR_STORAGE: path.join(tmp, "mirror-storage"),
          GOMIRROR_LISTEN: "127.0.0.1:0",
        },
        argv: [],
      });
      proxy = await startProxy(config, {
        direct: new GitSource({
          rewrite: [{ from: `https://${GIT_HOST}/`, to: `${server.url}/` }],
          workDir: path.join(tmp, "mirror-git"),
        }),
        // GOMIRROR_TEST_LOG_LEVEL=debug shows the server's logs while debugging
        logger: createLogger(process.env.GOMIRROR_TEST_LOG_LEVEL ?? "silent"),
      });
      const env = goEnv(path.join(tmp, "gopath-proxy"), {
        GOPROXY: proxy.url.replace(/\/+$/, ""),
        GONOSUMDB: GIT_HOST,
      });
      viaProxy = await goDownload(env, path.join(tmp, "main-module"), cases.map(key));
    }, 600_000);

    afterAll(async () => {
      await proxy?.close();
      await upstream?.close();
    });

    const time = (f?: string) => (f ? (JSON.parse(readFileSync(f, "utf8")) as ModuleInfo).Time : undefined);
    const compare = (c: Case) => {
      const d = direct.get(key(c)) as Download;
      const p = viaProxy.get(key(c));
      if (c.fails) {
        expect({ case: key(c), failed: Boolean(p?.Error) }).toEqual({ case: key(c), failed: true });
        return;
      }
      expect({
        case: key(c),
        v: p?.Version,
        sum: p?.Sum,
        mod: p?.GoModSum,
        time: time(p?.Info),
        error: p?.Error,
      }).toEqual({
        case: key(c),
        v: d.Version,
        sum: d.Sum,
        mod: d.GoModSum,
        time: time(d.Info),
        error: undefined,
      });
    };
    // `M@v3.0.0` on an unsuffixed path is a query the proxy must resolve to v3.0.0+incompatible.
    const isIncompatibleQuery = (c: Case) => c.path.endsWith("/legacy.git") && c.query === "v3.0.0";

    it("gives the go command the same versions, times and hashes", () => {
      for (const c of cases.filter((x) => !isIncompatibleQuery(x))) compare(c);
    });

    it("resolves a v3.0.0 query of an unsuffixed path to v3.0.0+incompatible, as the direct fetch does", () => {
      for (const c of cases.filter(isIncompatibleQuery)) compare(c);
    });

    it("never asks the public upstream for a private path", () => {
      expect(upstream.requests.filter((r) => r.path.includes(GIT_HOST))).toEqual([]);
    });

    it("lists the same versions as the direct fetch", async () => {
      const paths = [`${GIT_HOST}/hello.git`, `${GIT_HOST}/legacy.git`, `${GIT_HOST}/hello.git/sub`];
      const env = goEnv(path.join(tmp, "gopath-proxy-list"), {
        GOPROXY: proxy.url.replace(/\/+$/, ""),
        GONOSUMDB: GIT_HOST,
      });
      const viaList = await goVersions(env, path.join(tmp, "main-module"), paths);
      const directList = await goVersions(
        directEnv(path.join(tmp, "gopath-list2")),
        path.join(tmp, "main-module"),
        paths,
      );
      expect(viaList).toEqual(directList);
    }, 300_000);
  });
});
