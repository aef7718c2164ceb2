import { execFileSync } from "node:child_process";
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { GitSource } from "../../lib/proxy/git/source";
import type { RunningProxy } from "../../lib/proxy/server";
import type { ModuleInfo } from "../../lib/proxy/sources/source";
import {
  directDownloads,
  directEnv,
  type GoDownload,
  goDownload,
  goEnv,
  goVersions,
  hashFile,
} from "../support/gitcompare";
import { GIT_HOST } from "../support/gitrepos";
import { type GitServer, startGitServer } from "../support/gitserver";
import { buildShapes, LONG_TAG, VANITY_HOST } from "../support/gitshapes";
import { buildGoHelper } from "../support/gohelper";
import { describeWithTools } from "../support/tools";
import { startStaticUpstream, type StaticUpstream } from "../support/upstream";

/**
 * The repository shapes of issue 12 (see test/support/gitshapes.ts) against the real go command:
 * each case is fetched by the go command DIRECTLY from the loopback git server (GOPROXY=direct,
 * a fresh GOPATH per case), then asked of the GitSource and of gomirror (GOPROXY=<gomirror>).
 * Where the go command serves a version, `.info` (Version, Time, Origin), the go.mod and zip h1:
 * hashes and `go list -m -versions` must be its own; where it refuses the zip, gomirror must too,
 * and still serve the `.info` and `.mod` the go command serves.
 */

interface Case {
  readonly path: string;
  readonly query: string;
}

const repo = (name: string) => `${GIT_HOST}/${name}.git`;

const CASES: Record<string, Case[]> = {
  nohead: ["v1.0.0", "main", "latest"].map((query) => ({ path: repo("nohead"), query })),
  modes: [{ path: repo("modes"), query: "v1.0.0" }],
  names: ["v1.0.0", "v1.1.0", "v1.2.0", "v1.3.0", "v1.4.0"].map((query) => ({ path: repo("names"), query })),
  bigmod: [{ path: repo("bigmod"), query: "v1.0.0" }],
  attrs: [{ path: repo("attrs"), query: "v1.0.0" }],
  refs: ["fix@2024", "feat(x)", LONG_TAG].map((query) => ({ path: repo("refs"), query })),
  selfretract: [{ path: repo("selfretract"), query: "latest" }],
  spaceref: ["v1.0.0", "main", "latest"].map((query) => ({ path: repo("spaceref"), query })),
  goGet: [
    { path: `${VANITY_HOST}/bigbody`, query: "v1.0.0" },
    { path: `${VANITY_HOST}/bighead`, query: "v1.0.0" },
  ],
};

const ALL = Object.values(CASES).flat();
const key = (c: Case) => `${c.path}@${c.query}`;

/** What the GitSource answers for a case: `.info`, then `.mod` and `.zip` of the version it names. */
interface Ours {
  info?: ModuleInfo;
  infoError?: Error;
  mod?: string;
  zip?: { h1?: string; valid?: string[] };
  zipError?: Error;
}

describeWithTools(
  { go: true, bins: ["git"] },
  "messy git repositories: gomirror answers as the go command's direct fetch",
  () => {
    let tmp: string;
    let server: GitServer;
    let source: GitSource;
    let githash: string;
    let work: string;
    let direct = new Map<string, GoDownload>();

    const rewrite = () => [
      { from: `https://${GIT_HOST}/`, to: `${server.url}/` },
      { from: `https://${VANITY_HOST}/`, to: `${server.url}/` },
    ];
    const directEnvAt = (gopath: string) => directEnv(gopath, server.url, GIT_HOST, [GIT_HOST, VANITY_HOST]);

    beforeAll(async () => {
      tmp = mkdtempSync(path.join(tmpdir(), "gomirror-git-shapes-"));
      const shapes = buildShapes(tmp);
      server = await startGitServer({
        projectRoot: shapes.root,
        extraRefs: shapes.extraRefs,
        goImports: shapes.goImports,
      });
      githash = buildGoHelper("githash");
      source = new GitSource({ rewrite: rewrite(), workDir: path.join(tmp, "gitsource") });
      work = path.join(tmp, "main-module");
      mkdirSync(work, { recursive: true });
      writeFileSync(path.join(work, "go.mod"), "module example.test/main\n\ngo 1.21\n");
      direct = await directDownloads(directEnvAt, tmp, work, ALL.map(key));
    }, 600_000);

    afterAll(async () => {
      await source?.close();
      await server?.close();
      if (tmp) rmSync(tmp, { recursive: true, force: true });
    });

    const goOf = (c: Case): GoDownload => {
      const d = direct.get(key(c));
      if (!d) throw new Error(`the go command gave no answer for ${key(c)}`);
      return d;
    };

    async function ours(c: Case): Promise<Ours> {
      const out: Ours = {};
      try {
        out.info = c.query === "latest" ? await source.latest(c.path) : await source.info(c.path, c.query);
      } catch (err) {
        out.infoError = err as Error;
        return out;
      }
      const version = out.info.Version;
      const modFile = path.join(tmp, "our.mod");
      writeFileSync(modFile, await source.mod(c.path, version));
      out.mod = hashFile(githash, "mod", modFile).h1;
      try {
        const zipFile = path.join(tmp, "our.zip");
        await pipeline((await source.zip(c.path, version)).body, createWriteStream(zipFile));
        out.zip = hashFile(githash, "zip", zipFile, c.path, version);
      } catch (err) {
        out.zipError = err as Error;
      }
      return out;
    }

    /** Our answers must be the go command's: the same .info, go.mod hash, zip hash or zip refusal. */
    async function expectSameAsGo(c: Case): Promise<Ours> {
      const d = goOf(c);
      const o = await ours(c);
      expect({ case: key(c), info: o.info, infoError: o.infoError?.message }).toEqual({
        case: key(c),
        info: JSON.parse(readFileSync(d.Info as string, "utf8")) as ModuleInfo,
        infoError: undefined,
      });
      expect({ case: key(c), mod: o.mod }).toEqual({ case: key(c), mod: d.GoModSum });
      if (d.Sum) {
        expect({ case: key(c), zip: o.zip?.h1, error: o.zipError?.message }).toEqual({
          case: key(c),
          zip: d.Sum,
          error: undefined,
        });
      } else {
        expect({ case: key(c), goError: Boolean(d.Error), zipRefused: Boolean(o.zipError) }).toEqual({
          case: key(c),
          goError: true,
          zipRefused: true,
        });
      }
      return o;
    }

    async function expectSameVersions(paths: string[]): Promise<void> {
      const goLists = await goVersions(
        directEnvAt(path.join(tmp, `gopath-list-${paths.length}`)),
        work,
        paths,
      );
      for (const p of paths) {
        expect({ path: p, versions: await source.list(p) }).toEqual({ path: p, versions: goLists.get(p) });
      }
    }

    it("HEAD naming a branch that does not exist: tags, branches and @latest are served as the go command serves them", async () => {
      for (const c of CASES.nohead) await expectSameAsGo(c);
      expect(goOf(CASES.nohead[2]).Version).toBe("v1.0.0");
      await expectSameVersions([repo("nohead")]);
    });

    it("old file modes (100664) are regular files, as for the go command", async () => {
      for (const c of CASES.modes) await expectSameAsGo(c);
      expect(goOf(CASES.modes[0]).Sum).toMatch(/^h1:/);
    });

    it("file names: x/mod's zip rules decide (a backslash invalidates the zip unless the file is left out anyway), and git archive's own refusals count", async () => {
      const results = new Map<string, Ours>();
      for (const c of CASES.names) results.set(c.query, await expectSameAsGo(c));
      const prefix = `${repo("names")}@`;
      // v1.0.0: the backslash makes the zip invalid; the go command still has .info and .mod.
      expect(goOf(CASES.names[0]).Error).toMatch(/malformed file path "a\\\\b\.go": invalid char '\\\\'/);
      expect(results.get("v1.0.0")?.zipError?.message).toMatch(/a\\b\.go: .*invalid char '\\\\'/);
      // A tree entry holding "/" becomes a file in a directory.
      expect(results.get("v1.1.0")?.zip?.valid).toContain(`${prefix}v1.1.0/dir/evil.go`);
      // git~1 would be a valid name in a zip, but git archive itself refuses it, for both.
      expect(goOf(CASES.names[2]).Error).toMatch(/invalid path 'git~1'/);
      expect(results.get("v1.2.0")?.zipError?.message).toMatch(/invalid path 'git~1'/);
      // In a vendored package or a nested module the same name is only left out.
      expect(results.get("v1.3.0")?.zip?.valid).toEqual(
        ["go.mod", "n.go"].map((f) => `${prefix}v1.3.0/${f}`),
      );
      expect(results.get("v1.4.0")?.zip?.valid).toEqual(
        ["go.mod", "n.go"].map((f) => `${prefix}v1.4.0/${f}`),
      );
      await expectSameVersions([repo("names")]);
    });

    it("a go.mod one byte over 16 MiB: .info and .mod are served, only the zip is refused", async () => {
      const o = await expectSameAsGo(CASES.bigmod[0]);
      expect(goOf(CASES.bigmod[0]).Error).toMatch(/go\.mod file too large/);
      expect(o.zipError?.message).toMatch(/go\.mod: go\.mod file too large \(max size is 16777216 bytes\)/);
    });

    it(".gitattributes (a macro, working-tree-encoding, quoted patterns, $Id$, crlf=input with eol) give the go command's zip", async () => {
      await expectSameAsGo(CASES.attrs[0]);
      // The fixture does change what git archive writes: UTF-16 and CRLF in the go command's zip.
      const zip = goOf(CASES.attrs[0]).Zip as string;
      const file = (name: string) =>
        execFileSync("unzip", ["-p", zip, `${repo("attrs")}@v1.0.0/${name}`]).toString("latin1");
      expect(file("w.u16")).toBe(Buffer.from("h\u00e9llo\r\nw\u00f6rld\r\n", "utf16le").toString("latin1"));
      expect(file("a.m")).toBe("x\r\ny\r\n");
      expect(file("quoted name.txt")).toBe("a\r\nb\r\n");
      expect(file("id.go")).toMatch(/\$Id: [0-9a-f]{40} \$/);
    });

    it("branch names with @ and parentheses, and a 220-character pre-release tag", async () => {
      for (const c of CASES.refs) await expectSameAsGo(c);
      expect(goOf(CASES.refs[2]).Version).toBe(LONG_TAG);
      expect(goOf(CASES.refs[0]).Version).toMatch(/^v1\.0\.1-0\.20241107120000-[0-9a-f]{12}$/);
      await expectSameVersions([repo("refs")]);
    });

    it("@latest skips a version that retracts itself", async () => {
      await expectSameAsGo(CASES.selfretract[0]);
      expect(goOf(CASES.selfretract[0]).Version).toBe("v1.0.0");
      await expectSameVersions([repo("selfretract")]);
    });

    it("a remote ref whose name holds a space is ignored, not fatal", async () => {
      for (const c of CASES.spaceref) await expectSameAsGo(c);
      await expectSameVersions([repo("spaceref")]);
      // The server did advertise them.
      expect(
        server.requests.some((r) => /^\/spaceref(\.git)?\//.test(r.path) && r.command === "ls-refs"),
      ).toBe(true);
    });

    it("go-get pages over 1 MiB: a long body is read as the go command reads it; a head over 1 MiB is refused, saying why", async () => {
      await expectSameAsGo(CASES.goGet[0]);
      // The go command reads a head of any length; gomirror stops at 1 MiB and says so.
      expect(goOf(CASES.goGet[1]).Sum).toMatch(/^h1:/);
      const o = await ours(CASES.goGet[1]);
      expect(o.infoError?.message).toMatch(
        /vanity\.example\.test\/bighead: the page's <head> does not end within its first 1048576 bytes; .*1 MiB/,
      );
    });

    describe("through gomirror (GOPROXY=<gomirror>, the private hosts in GONOPROXY)", () => {
      let upstream: StaticUpstream;
      let proxy: RunningProxy;
      let viaProxy: Map<string, GoDownload>;
      let proxyEnv: NodeJS.ProcessEnv;

      beforeAll(async () => {
        const emptyTree = path.join(tmp, "public-upstream");
        mkdirSync(emptyTree, { recursive: true });
        upstream = await startStaticUpstream({ root: emptyTree });
        const { loadConfig } = await import("../../lib/proxy/config");
        const { startProxy } = await import("../../lib/proxy/server");
        const { createLogger } = await import("../../lib/proxy/logger");
        const config = loadConfig({
          env: {
            GOPROXY: upstream.url,
            GONOPROXY: `${GIT_HOST},${VANITY_HOST}`,
            GOSUMDB: "off",
            GOMIRROR_STORAGE: path.join(tmp, "mirror-storage"),
            GOMIRROR_LISTEN: "127.0.0.1:0",
          },
          argv: [],
        });
        proxy = await startProxy(config, {
          direct: new GitSource({ rewrite: rewrite(), workDir: path.join(tmp, "mirror-git") }),
          logger: createLogger(process.env.GOMIRROR_TEST_LOG_LEVEL ?? "silent"),
        });
        proxyEnv = goEnv(path.join(tmp, "gopath-proxy"), {
          GOPROXY: proxy.url.replace(/\/+$/, ""),
          GONOSUMDB: `${GIT_HOST},${VANITY_HOST}`,
        });
        viaProxy = await goDownload(proxyEnv, work, ALL.map(key));
      }, 600_000);

      afterAll(async () => {
        await proxy?.close();
        await upstream?.close();
      });

      const time = (f?: string) => (f ? (JSON.parse(readFileSync(f, "utf8")) as ModuleInfo).Time : undefined);

      it("gives the go command the versions, times, hashes and zip refusals of the direct fetch", () => {
        for (const c of ALL.filter((x) => x.path !== `${VANITY_HOST}/bighead`)) {
          const d = goOf(c);
          const p = viaProxy.get(key(c));
          expect({
            case: key(c),
            v: p?.Version,
            sum: p?.Sum,
            mod: p?.GoModSum,
            time: time(p?.Info),
            failed: Boolean(p?.Error),
          }).toEqual({
            case: key(c),
            v: d.Version,
            sum: d.Sum,
            mod: d.GoModSum,
            time: time(d.Info),
            failed: Boolean(d.Error),
          });
        }
      });

      it("answers /@latest with the newest version that is not retracted", async () => {
        for (const c of [...CASES.selfretract, CASES.nohead[2], CASES.spaceref[2]]) {
          const res = await fetch(`${proxy.url.replace(/\/+$/, "")}/${c.path}/@latest`);
          expect({
            case: key(c),
            status: res.status,
            version: ((await res.json()) as ModuleInfo).Version,
          }).toEqual({
            case: key(c),
            status: 200,
            version: goOf(c).Version,
          });
        }
      });

      it("lists the versions of the direct fetch", async () => {
        const paths = ["nohead", "names", "refs", "selfretract", "spaceref"].map(repo);
        const viaList = await goVersions(proxyEnv, work, paths);
        const directList = await goVersions(directEnvAt(path.join(tmp, "gopath-list-direct")), work, paths);
        expect(viaList).toEqual(directList);
      }, 300_000);
    });
  },
);
