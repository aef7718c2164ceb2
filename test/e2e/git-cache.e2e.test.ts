import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { GitSource } from "../../lib/proxy/git/source";
import { importRepo } from "../support/gitbig";
import { bundleGomirror, type ProxyProcess, startProxyProcess } from "../support/gitproxy";
import { GIT_HOST } from "../support/gitrepos";
import { type GitServer, startGitServer } from "../support/gitserver";
import { describeWithTools } from "../support/tools";

/**
 * The git cache as processes share and leave it: gomirror (the production bundle, as separate
 * processes) killed with SIGKILL in the middle of a fetch must leave a cache the next start
 * repairs and uses; cluster workers sharing one cache must answer many cold requests for
 * different versions correctly and leave the repositories consistent (`git fsck`).
 */

const MIB = 1 << 20;
const CRASH = `${GIT_HOST}/crash.git`;
const MANY = `${GIT_HOST}/many.git`;
const VERSIONS = Array.from({ length: 12 }, (_, i) => `v1.${i}.0`);

describeWithTools({ bins: ["git"] }, "the git cache across processes", () => {
  let tmp: string;
  let server: GitServer;
  let bundle: string;
  let reference: GitSource;
  const running = new Set<ProxyProcess>();

  const start = async (cache: string, extra: Record<string, string> = {}): Promise<ProxyProcess> => {
    const p = await startProxyProcess(bundle, {
      GOPROXY: "direct",
      GONOPROXY: GIT_HOST,
      GOSUMDB: "off",
      GOMIRROR_STORAGE: mkdtempSync(path.join(tmp, "storage-")),
      GOMIRROR_GIT_CACHE: cache,
      GOMIRROR_GIT_REWRITE: `https://${GIT_HOST}/=${server.url}/`,
      ...extra,
    });
    running.add(p);
    return p;
  };

  const get = async (url: string): Promise<{ status: number; body: Buffer }> => {
    const res = await fetch(url);
    return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
  };

  const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

  const referenceZip = async (modulePath: string, version: string): Promise<string> => {
    const chunks: Buffer[] = [];
    for await (const c of (await reference.zip(modulePath, version)).body) chunks.push(c as Buffer);
    return sha256(Buffer.concat(chunks));
  };

  /** Files an interrupted git leaves: its lock files and temporary packs. */
  const leftovers = (cache: string): string[] => {
    const found: string[] = [];
    const walk = (dir: string): void => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (e.name.endsWith(".lock") || e.name.startsWith("tmp_pack_"))
          found.push(path.relative(cache, p));
      }
    };
    walk(cache);
    return found;
  };

  const fsck = (cache: string): void => {
    for (const repo of readdirSync(path.join(cache, "repos"))) {
      if (repo.endsWith(".lock")) continue;
      execFileSync(
        "git",
        ["--git-dir", path.join(cache, "repos", repo), "fsck", "--no-progress", "--no-dangling"],
        {
          env: { PATH: process.env.PATH, HOME: tmp, GIT_CONFIG_NOSYSTEM: "1" },
          stdio: ["ignore", "pipe", "pipe"],
        },
      );
    }
  };

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(tmpdir(), "gomirror-git-cache-"));
    const time = Date.UTC(2024, 11, 2) / 1000;
    const blobs = Array.from({ length: 6 }, (_, i) => ({
      path: `data/${i}.bin`,
      data: () => randomBytes(8 * MIB),
    }));
    await importRepo(path.join(tmp, "repos", "crash.git"), [
      {
        time,
        message: "data",
        files: [{ path: "go.mod", data: `module ${CRASH}\n` }, ...blobs],
        tags: ["v1.0.0"],
      },
      {
        time: time + 60,
        message: "more",
        files: [{ path: "more.go", data: "package crash\n" }],
        tags: ["v1.1.0"],
      },
    ]);
    await importRepo(
      path.join(tmp, "repos", "many.git"),
      VERSIONS.map((v, i) => ({
        time: time + i * 60,
        message: v,
        files: [
          { path: "go.mod", data: `module ${MANY}\n` },
          { path: "m.go", data: `package many // ${v}\n` },
        ],
        tags: [v],
      })),
    );
    // 48 MiB at 8 MiB/s: a fetch that takes long enough to be interrupted. Each fetch waits
    // a second: the requests arriving meanwhile show whether they share the next one.
    server = await startGitServer({
      projectRoot: path.join(tmp, "repos"),
      bytesPerSecond: 8 * MIB,
      fetchDelayMs: 1000,
    });
    bundle = await bundleGomirror(path.join(tmp, "bundle"));
    reference = new GitSource({
      rewrite: [{ from: `https://${GIT_HOST}/`, to: `${server.url}/` }],
      workDir: path.join(tmp, "reference-cache"),
    });
  }, 300_000);

  afterAll(async () => {
    await Promise.allSettled([...running].map((p) => p.kill()));
    await reference?.close();
    await server?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it("a kill -9 during a fetch leaves a cache that the next start repairs and uses", async () => {
    const cache = path.join(tmp, "crash-cache");
    const first = await start(cache);
    server.resetRequests();
    void get(`${first.url}/${CRASH}/@v/v1.0.0.info`).catch(() => undefined);
    // Wait until the pack is on its way, then kill the proxy with everything it started.
    const deadline = Date.now() + 60_000;
    while (!server.requests.some((r) => r.command === "fetch") && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await new Promise((resolve) => setTimeout(resolve, 2000));
    await first.kill();
    running.delete(first);
    const left = leftovers(cache);
    expect(left).toEqual(expect.arrayContaining([expect.stringMatching(/^repos\/[0-9a-f]+\.lock$/)]));
    expect(left.some((f) => f.includes("tmp_pack_") || f.endsWith("shallow.lock"))).toBe(true);

    const second = await start(cache);
    const ok = async (file: string): Promise<Buffer> => {
      const res = await get(`${second.url}/${CRASH}/@v/${file}`);
      expect({
        file,
        status: res.status,
        logs: res.status === 200 ? "" : second.output().slice(-4000),
      }).toEqual({
        file,
        status: 200,
        logs: "",
      });
      return res.body;
    };
    expect(JSON.parse((await ok("v1.0.0.info")).toString()).Version).toBe("v1.0.0");
    expect(sha256(await ok("v1.0.0.zip"))).toBe(await referenceZip(CRASH, "v1.0.0"));
    expect(JSON.parse((await ok("v1.1.0.info")).toString()).Version).toBe("v1.1.0");
    expect(second.output()).toMatch(/"event":"git_cache_repaired"/);
    await second.stop();
    running.delete(second);
    expect(leftovers(cache)).toEqual([]);
    fsck(cache);
    expect(existsSync(path.join(cache, "repos"))).toBe(true);
  }, 300_000);

  it("two workers sharing one git cache answer many cold requests for different versions, and leave it consistent", async () => {
    const cache = path.join(tmp, "shared-cache");
    const proxy = await start(cache, { GOMIRROR_WORKERS: "2" });
    server.resetRequests();
    const answers = await Promise.all(
      VERSIONS.flatMap((v) => [
        get(`${proxy.url}/${MANY}/@v/${v}.info`),
        get(`${proxy.url}/${MANY}/@v/${v}.zip`),
      ]),
    );
    expect({ statuses: answers.map((a) => a.status), logs: "" }).toEqual({
      statuses: answers.map(() => 200),
      logs: answers.every((a) => a.status === 200) ? "" : proxy.output().slice(-4000),
    });
    // The fetches were shared: while a worker's first fetch waited, the refs its other requests
    // asked for were gathered into its next one. Without that, one fetch per version at least.
    const fetches = server.requests.filter((r) => r.command === "fetch" && r.path.startsWith("/many"));
    expect(fetches.length).toBeGreaterThan(0);
    expect(fetches.length).toBeLessThanOrEqual(VERSIONS.length / 2);
    for (const [i, v] of VERSIONS.entries()) {
      expect(JSON.parse(answers[2 * i].body.toString()).Version).toBe(v);
      expect({ v, zip: sha256(answers[2 * i + 1].body) }).toEqual({ v, zip: await referenceZip(MANY, v) });
    }
    await proxy.stop();
    running.delete(proxy);
    expect(leftovers(cache)).toEqual([]);
    fsck(cache);
  }, 300_000);
});
