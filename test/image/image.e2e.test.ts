import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { GitSource } from "../../lib/proxy/git/source";
import {
  Podman,
  ensureLocalGitBuilder,
  ensureLocalNodeBase,
  NONROOT_UID,
  withoutSystemdNoise,
} from "../support/container";
import { FIXTURE, writeProxyTree, standardFixtures, type FixtureSet } from "../support/fixtures";
import { createGoWorkspace, expectGoSuccess, removeTree } from "../support/gocmd";
import { buildRepos, GIT_HOST } from "../support/gitrepos";
import { type GitServer, startGitServer } from "../support/gitserver";
import { describeWithTools } from "../support/tools";
import { startStaticUpstream, type StaticUpstream } from "../support/upstream";
import { freePort } from "../support/ports";

/**
 * The image as users run it: built from image/Dockerfile (against a local Node base, as no
 * registry is reachable), started read-only as uid 65532 with a cache volume, and used by the
 * real go command. It must stop on SIGTERM with exit code 0 and keep its cache across restarts.
 */

const ROOT = path.resolve(__dirname, "../..");
const CACHE_DIR_IN_IMAGE = "/var/cache/gomirror";

async function statusOf(url: string): Promise<number | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return undefined;
  }
}

/** Polls `url` until it answers 200; returns the milliseconds that took. */
async function waitFor200(url: string, timeoutMs: number, describeFailure: () => string): Promise<number> {
  const started = performance.now();
  let last: number | undefined;
  while (performance.now() - started < timeoutMs) {
    last = await statusOf(url);
    if (last === 200) return performance.now() - started;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(
    `${url} did not answer 200 within ${timeoutMs} ms (last: ${last ?? "no answer"})\n${describeFailure()}`,
  );
}

describeWithTools({ go: true, bins: ["podman", "git"] }, "the container image", () => {
  const suffix = `${process.pid}-${Date.now().toString(36)}`;
  const tag = `localhost/gomirror-e2e:${suffix}`;
  let podman: Podman;
  let work: string;
  let cacheDir: string;
  let upstream: StaticUpstream | undefined;
  let fixtures: FixtureSet;
  let port: number;

  beforeAll(async () => {
    execFileSync(process.execPath, [path.join(ROOT, "scripts", "bundle.mjs")], {
      cwd: ROOT,
      stdio: "pipe",
      timeout: 120_000,
    });
    podman = new Podman();
    const base = ensureLocalNodeBase(podman);
    podman.build({
      context: path.join(ROOT, "image"),
      tag,
      buildArgs: {
        BASE_IMAGE: base,
        GIT_BUILDER_IMAGE: ensureLocalGitBuilder(podman),
        VERSION: "0.0.0-e2e",
        REVISION: "e2e",
      },
    });
    work = mkdtempSync(path.join(os.tmpdir(), "gomirror-image-e2e-"));
    cacheDir = path.join(work, "cache");
    mkdirSync(cacheDir);
    const chain = standardFixtures().filter((m) => m.path.startsWith("example.test/chain/"));
    fixtures = writeProxyTree(path.join(work, "upstream"), chain);
    expect(fixtures.modules.length).toBe(chain.length);
    upstream = await startStaticUpstream({ root: fixtures.root });
    port = await freePort();
  }, 600_000);

  afterAll(async () => {
    podman?.dispose();
    await upstream?.close();
    if (work) removeTree(work);
  });

  const proxyUrl = (): string => `http://127.0.0.1:${port}`;

  const startProxy = (name: string, goproxy: string): void => {
    podman.start({
      image: tag,
      name,
      user: String(NONROOT_UID),
      readOnly: true,
      network: "host",
      env: {
        GOMIRROR_LISTEN: `127.0.0.1:${port}`,
        GOPROXY: goproxy,
        GOSUMDB: "off",
        GOMIRROR_LOG_LEVEL: "info",
      },
      volumes: { [cacheDir]: CACHE_DIR_IN_IMAGE },
    });
  };

  const logsOf = (name: string) => (): string => {
    try {
      const lines = podman.logs(name).trimEnd().split("\n");
      return `container logs (last 30 of ${lines.length} lines):\n${lines.slice(-30).join("\n")}`;
    } catch (err) {
      return `(no logs: ${(err as Error).message})`;
    }
  };

  /** Builds a program needing the chain fixtures a -> b -> c through the container; returns its output. */
  const buildThroughProxy = async (): Promise<string> => {
    const ws = createGoWorkspace({ goproxy: proxyUrl(), gosumdb: "off" });
    try {
      ws.writeMainModule({
        imports: [FIXTURE.chainA],
        requires: [{ module: FIXTURE.chainA, version: "v1.0.0" }],
      });
      const build = await ws.run(["build", "-o", path.join(ws.dir, "app.bin"), "."]);
      expectGoSuccess(build, "go build through the container");
      return execFileSync(path.join(ws.dir, "app.bin"), { encoding: "utf8" });
    } finally {
      ws.cleanup();
    }
  };

  it("is configured to run as uid 65532 with labels, a health check, port 8080 and the cache volume", () => {
    const config = podman.inspectImage(tag);
    expect(config.Config.User).toMatch(new RegExp(`^${NONROOT_UID}(:${NONROOT_UID})?$`));
    expect(config.Config.Labels).toMatchObject({
      "org.opencontainers.image.title": "gomirror",
      "org.opencontainers.image.version": "0.0.0-e2e",
      "org.opencontainers.image.revision": "e2e",
      "org.opencontainers.image.licenses": "Apache-2.0",
      "org.opencontainers.image.source": expect.stringMatching(/^https:\/\//),
      "org.opencontainers.image.description": expect.any(String),
    });
    expect(config.Config.Env).toEqual(
      expect.arrayContaining([
        "GOMIRROR_LISTEN=0.0.0.0:8080",
        `GOMIRROR_STORAGE=${CACHE_DIR_IN_IMAGE}`,
        "NODE_OPTIONS=--max-semi-space-size=1",
        "MALLOC_ARENA_MAX=2",
      ]),
    );
    expect(Object.keys(config.Config.ExposedPorts ?? {})).toEqual(["8080/tcp"]);
    expect(Object.keys(config.Config.Volumes ?? {}).sort()).toEqual(["/tmp", CACHE_DIR_IN_IMAGE]);
    expect(config.Config.Entrypoint).toEqual(["node", "/app/gomirror.js"]);
    expect(config.Config.Cmd).toEqual(["serve"]);
    expect(config.Healthcheck?.Test).toEqual(["CMD", "node", "/app/healthcheck.js"]);
  });

  it("holds only the two bundled files (no dependencies, tests or source maps) and an owned cache dir", async () => {
    const script = [
      "const fs = require('fs');",
      "const app = fs.readdirSync('/app').sort();",
      "const maps = app.filter((f) => /sourceMappingURL/.test(fs.readFileSync('/app/' + f, 'utf8')));",
      `const st = fs.statSync('${CACHE_DIR_IN_IMAGE}');`,
      "console.log(JSON.stringify({ app, maps, owner: [st.uid, st.gid], uid: process.getuid() }));",
    ].join(" ");
    const res = await podman.runOnce({
      image: tag,
      name: `gomirror-ls-${suffix}`,
      entrypoint: "node",
      args: ["-e", script],
    });
    expect(withoutSystemdNoise(res.stderr).trim()).toBe("");
    expect(JSON.parse(res.stdout)).toEqual({
      app: ["gomirror.js", "healthcheck.js"],
      maps: [],
      owner: [NONROOT_UID, NONROOT_UID],
      uid: NONROOT_UID,
    });
  });

  it("runs the Node.js the tests run on, of the major version the default base ships", async () => {
    const res = await podman.runOnce({
      image: tag,
      name: `gomirror-node-${suffix}`,
      entrypoint: "node",
      args: ["-p", "process.version"],
    });
    expect(withoutSystemdNoise(res.stderr).trim()).toBe("");
    expect(res.stdout.trim()).toBe(process.version);
    const dockerfile = readFileSync(path.join(ROOT, "image", "Dockerfile"), "utf8");
    const shipped = /^ARG BASE_IMAGE=\S*nodejs(\d+)/m.exec(dockerfile)?.[1];
    expect(shipped).toBeDefined();
    expect(res.stdout.trim()).toMatch(new RegExp(`^v${shipped}\\.`));
  });

  it("has a health check that fails when the server does not answer", async () => {
    const res = await podman.runOnce({
      image: tag,
      name: `gomirror-hc-${suffix}`,
      env: { GOMIRROR_LISTEN: `127.0.0.1:${await freePort()}` },
      entrypoint: "node",
      args: ["/app/healthcheck.js"],
    });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/healthcheck: http:\/\/127\.0\.0\.1:\d+\/healthz failed/);
  });

  describe("running read-only with a cache volume", () => {
    const first = `gomirror-e2e-1-${suffix}`;
    const second = `gomirror-e2e-2-${suffix}`;

    it("answers /healthz and /readyz, as uid 65532", async () => {
      startProxy(first, upstream!.url);
      const ms = await waitFor200(`${proxyUrl()}/readyz`, 20_000, logsOf(first));
      console.log(`image e2e: first 200 on /readyz ${ms.toFixed(0)} ms after podman run returned`);
      expect(await statusOf(`${proxyUrl()}/healthz`)).toBe(200);
      const state = podman.inspectContainer(first);
      expect(state.Config.User).toBe(String(NONROOT_UID));
      expect(state.State.Running).toBe(true);
    }, 60_000);

    it("passes its HEALTHCHECK", async () => {
      const res = await podman.healthcheck(first);
      expect({ code: res.code, out: `${res.stdout}${withoutSystemdNoise(res.stderr)}`.trim() }).toEqual({
        code: 0,
        out: "",
      });
      const state = podman.inspectContainer(first).State;
      expect((state.Health ?? state.Healthcheck)?.Status).toBe("healthy");
    }, 60_000);

    it("serves the go command, fetching from the upstream into the volume", async () => {
      upstream!.resetRequests();
      const out = await buildThroughProxy();
      expect(out.trim()).toBe("chain/a v1.0.0 > chain/b v1.2.0 > chain/c v1.0.0");
      expect(upstream!.count(/\/@v\/v1\.\d\.0\.zip$/)).toBeGreaterThanOrEqual(3);
      expect(readdirSync(cacheDir).length).toBeGreaterThan(0);
    }, 180_000);

    it("on SIGTERM, finishes the download in flight, then exits 0 quickly", async () => {
      // A zip the proxy has not fetched yet, from an upstream that takes a while to answer.
      const zipPath = fixtures.urlPath(FIXTURE.chainC, "v1.1.0", "zip");
      upstream!.faults.set(zipPath, { delayMs: 1500 });
      const download = fetch(`${proxyUrl()}/${zipPath}`, { signal: AbortSignal.timeout(20_000) }).then(
        async (res) => ({ status: res.status, body: Buffer.from(await res.arrayBuffer()) }),
      );
      const asked = performance.now();
      while (upstream!.count(zipPath) === 0 && performance.now() - asked < 10_000) {
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(upstream!.count(zipPath)).toBe(1);

      const started = performance.now();
      podman.kill(first, "TERM");
      const [answer, code] = await Promise.all([download, podman.wait(first, 20_000)]);
      const ms = performance.now() - started;
      upstream!.faults.clear();
      expect({ code, logs: code === 0 ? "" : logsOf(first)() }).toEqual({ code: 0, logs: "" });
      expect(answer.status).toBe(200);
      expect(answer.body.equals(readFileSync(fixtures.get(FIXTURE.chainC, "v1.1.0").zipFile))).toBe(true);
      expect(ms).toBeLessThan(5_000);
    }, 60_000);

    it("keeps its cache across a restart: builds again with the upstream gone", async () => {
      const gone = upstream!.url;
      await upstream!.close();
      expect(await statusOf(`${gone}/example.test/chain/a/@v/list`)).toBeUndefined();
      startProxy(second, gone);
      await waitFor200(`${proxyUrl()}/readyz`, 20_000, logsOf(second));
      const out = await buildThroughProxy();
      expect(out.trim()).toBe("chain/a v1.0.0 > chain/b v1.2.0 > chain/c v1.0.0");
      // The zip downloaded while the first container was stopping was stored whole.
      const zip = await fetch(`${proxyUrl()}/${fixtures.urlPath(FIXTURE.chainC, "v1.1.0", "zip")}`);
      expect(zip.status).toBe(200);
      expect(
        Buffer.from(await zip.arrayBuffer()).equals(
          readFileSync(fixtures.get(FIXTURE.chainC, "v1.1.0").zipFile),
        ),
      ).toBe(true);
      podman.stop(second, 10);
      expect(podman.inspectContainer(second).State.ExitCode).toBe(0);
    }, 180_000);
  });

  describe("git for private modules", () => {
    let repos: string;
    let server: GitServer;

    beforeAll(async () => {
      repos = buildRepos(path.join(work, "git")).root;
      server = await startGitServer({ projectRoot: repos });
    }, 120_000);

    afterAll(() => server?.close());

    it("ships git and ssh, which run as uid 65532", async () => {
      for (const [bin, arg, expected] of [
        ["/usr/bin/git", "--version", /^git version \d+\.\d+/],
        ["/usr/bin/ssh", "-V", /^OpenSSH_/],
      ] as const) {
        const res = await podman.runOnce({
          image: tag,
          name: `gomirror-${path.basename(bin)}-${suffix}`,
          user: String(NONROOT_UID),
          entrypoint: bin,
          args: [arg],
        });
        expect({
          bin,
          code: res.code,
          out: `${res.stdout}${withoutSystemdNoise(res.stderr)}`.trim(),
        }).toEqual({
          bin,
          code: 0,
          out: expect.stringMatching(expected),
        });
      }
    }, 60_000);

    it("serves a private module from a git server, read-only, with the go command's answers", async () => {
      const name = `gomirror-e2e-git-${suffix}`;
      const gitPort = await freePort();
      podman.start({
        image: tag,
        name,
        user: String(NONROOT_UID),
        readOnly: true,
        network: "host",
        env: {
          GOMIRROR_LISTEN: `127.0.0.1:${gitPort}`,
          GOPROXY: "off",
          GONOPROXY: GIT_HOST,
          GOSUMDB: "off",
          GOMIRROR_GIT_REWRITE: `https://${GIT_HOST}/=${server.url}/`,
        },
        volumes: { [mkdtempSync(path.join(work, "git-storage-"))]: CACHE_DIR_IN_IMAGE },
      });
      const url = `http://127.0.0.1:${gitPort}`;
      await waitFor200(`${url}/readyz`, 20_000, logsOf(name));
      const reference = new GitSource({ rewrite: [{ from: `https://${GIT_HOST}/`, to: `${server.url}/` }] });
      try {
        for (const [modulePath, version] of [
          [`${GIT_HOST}/hello.git`, "v1.1.0"],
          [`${GIT_HOST}/attr.git`, "v1.0.0"],
          [`${GIT_HOST}/hello.git/sub`, "v0.1.0"],
        ]) {
          const info = await fetch(`${url}/${modulePath}/@v/${version}.info`);
          expect({
            modulePath,
            status: info.status,
            logs: info.status === 200 ? "" : logsOf(name)(),
          }).toEqual({
            modulePath,
            status: 200,
            logs: "",
          });
          expect(await info.json()).toEqual(await reference.info(modulePath, version));
          const zip = Buffer.from(
            await (await fetch(`${url}/${modulePath}/@v/${version}.zip`)).arrayBuffer(),
          );
          const chunks: Buffer[] = [];
          for await (const c of (await reference.zip(modulePath, version)).body) chunks.push(c as Buffer);
          expect(zip.equals(Buffer.concat(chunks))).toBe(true);
        }
      } finally {
        await reference.close();
        podman.stop(name, 10);
      }
    }, 180_000);
  });
});
