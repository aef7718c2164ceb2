import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { Writable } from "node:stream";
import { loadConfig } from "../../../lib/proxy/config";
import { createLogger } from "../../../lib/proxy/logger";
import { ProxyMetrics } from "../../../lib/proxy/metrics";
import { startProxy, type RunningProxy } from "../../../lib/proxy/server";
import { DiskStorage } from "../../../lib/proxy/storage/disk";
import { makeModuleZip } from "../../support/module-zip";
import { startStaticUpstream, type StaticUpstream } from "../../support/upstream";

/** A GOPROXY tree written by hand: the proxy does not look inside zips (the checksum database does). */
function writeTree(root: string, zip: Buffer): void {
  const put = (rel: string, data: string | Buffer) => {
    const file = path.join(root, rel);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, data);
  };
  const m = "example.test/!upper/m";
  put(`${m}/@v/list`, "v1.0.0\nv1.1.0-rc.1\nv0.9.0\nnot-a-version\n");
  for (const v of ["v0.9.0", "v1.0.0", "v1.1.0-rc.1"]) {
    put(`${m}/@v/${v}.info`, JSON.stringify({ Version: v, Time: "2024-01-02T03:04:05Z" }));
    put(`${m}/@v/${v}.mod`, "module example.test/Upper/m\n");
  }
  put(`${m}/@v/v1.0.0.zip`, zip);
  put(`${m}/@latest`, JSON.stringify({ Version: "v1.0.0", Time: "2024-01-02T03:04:05Z" }));
  put("example.test/other/@v/list", "v0.1.0\n");
  put("example.test/other/@v/v0.1.0.mod", "module example.test/other\n");
}

class Lines extends Writable {
  readonly lines: Record<string, unknown>[] = [];
  override _write(chunk: Buffer, _enc: string, done: () => void): void {
    for (const line of chunk.toString().split("\n")) if (line) this.lines.push(JSON.parse(line));
    done();
  }
}

describe("gomirror over HTTP", () => {
  let ZIP: Buffer;
  beforeAll(async () => {
    ZIP = await makeModuleZip("example.test/Upper/m", "v1.0.0", { fillerBytes: 256 * 1024 });
  });
  let work: string;
  let upstream: StaticUpstream;
  let proxy: RunningProxy;
  let logs: Lines;

  async function start(env: Record<string, string> = {}): Promise<RunningProxy> {
    logs = new Lines();
    const config = loadConfig({
      env: {
        GOPROXY: upstream.url,
        GOSUMDB: "off",
        GOMIRROR_LISTEN: "127.0.0.1:0",
        GOMIRROR_STORAGE: path.join(work, "cache"),
        GOMIRROR_GIT_CACHE: path.join(work, "git-cache"),
        GOMIRROR_SHUTDOWN_GRACE: "5",
        ...env,
      },
      argv: [],
    });
    return startProxy(config, {
      logger: createLogger("info", logs),
      metrics: new ProxyMetrics(),
      storage: new DiskStorage(config.storage),
    });
  }

  beforeEach(async () => {
    work = mkdtempSync(path.join(tmpdir(), "gomirror-http-"));
    writeTree(path.join(work, "upstream"), ZIP);
    upstream = await startStaticUpstream({ root: path.join(work, "upstream") });
    proxy = await start();
  });

  afterEach(async () => {
    await proxy.close();
    await upstream.close();
    rmSync(work, { recursive: true, force: true });
  });

  const get = (p: string, init?: RequestInit) => fetch(`${proxy.url}${p}`, init);

  it("serves list sorted, dropping what is not a version, with a short cache lifetime", async () => {
    const res = await get("/example.test/!upper/m/@v/list");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(res.headers.get("cache-control")).toBe("public, max-age=60");
    expect(await res.text()).toBe("v0.9.0\nv1.0.0\nv1.1.0-rc.1\n");
  });

  it("serves .info, .mod and .zip of a canonical version as immutable", async () => {
    const info = await get("/example.test/!upper/m/@v/v1.0.0.info");
    expect(info.headers.get("content-type")).toBe("application/json");
    expect(info.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(await info.json()).toEqual({ Version: "v1.0.0", Time: "2024-01-02T03:04:05Z" });
    const mod = await get("/example.test/!upper/m/@v/v1.0.0.mod");
    expect(await mod.text()).toBe("module example.test/Upper/m\n");
    const zip = await get("/example.test/!upper/m/@v/v1.0.0.zip");
    expect(zip.headers.get("content-type")).toBe("application/zip");
    expect(zip.headers.get("content-length")).toBe(String(ZIP.length));
    expect(Buffer.from(await zip.arrayBuffer()).equals(ZIP)).toBe(true);
  });

  it("answers @latest and version queries by asking the upstream", async () => {
    const latest = await get("/example.test/!upper/m/@latest");
    expect(await latest.json()).toMatchObject({ Version: "v1.0.0" });
    expect(upstream.count("example.test/!upper/m/@latest")).toBe(1);
    const query = await get("/example.test/!upper/m/@v/v1.info");
    expect(query.status).toBe(404); // the static upstream cannot resolve queries: its 404 passes through
    expect(upstream.count("example.test/!upper/m/@v/v1.info")).toBe(1);
  });

  it("with the default prefetch, a cold .mod brings its version's .info and zip along", async () => {
    expect(await (await get("/example.test/!upper/m/@v/v1.0.0.mod")).text()).toBe(
      "module example.test/Upper/m\n",
    );
    let metrics = "";
    for (
      let i = 0;
      i < 500 && !/gomirror_prefetches_total\{kind="zip",outcome="fetched"\} 1/.test(metrics);
      i++
    ) {
      if (i > 0) await new Promise((resolve) => setTimeout(resolve, 10));
      metrics = await (await get("/metrics")).text();
    }
    expect(metrics).toMatch(/gomirror_prefetches_total\{kind="info",outcome="fetched"\} 1/);
    expect(metrics).toMatch(/gomirror_prefetches_total\{kind="zip",outcome="fetched"\} 1/);
    expect(await (await get("/example.test/!upper/m/@v/v1.0.0.info")).json()).toMatchObject({
      Version: "v1.0.0",
    });
    expect(
      Buffer.from(await (await get("/example.test/!upper/m/@v/v1.0.0.zip")).arrayBuffer()).equals(ZIP),
    ).toBe(true);
    for (const ext of ["info", "mod", "zip"])
      expect(upstream.count(`example.test/!upper/m/@v/v1.0.0.${ext}`)).toBe(1);
  });

  it("serves the second request from its cache without asking the upstream", async () => {
    // Without prefetching, so that each file is a miss once and a hit once.
    await proxy.close();
    proxy = await start({ GOMIRROR_PREFETCH: "off" });
    const storedZip = path.join(work, "cache", "example.test", "!upper", "m", "@v", "v1.0.0.zip");
    for (let i = 0; i < 2; i++) {
      await (await get("/example.test/!upper/m/@v/v1.0.0.mod")).text();
      await (await get("/example.test/!upper/m/@v/v1.0.0.zip")).arrayBuffer();
      await (await get("/example.test/!upper/m/@v/list")).text();
      // The zip is stored after its answer went out (a request meanwhile joins that fetch).
      for (let j = 0; j < 100 && !existsSync(storedZip); j++) await new Promise((r) => setTimeout(r, 10));
    }
    expect(upstream.count("example.test/!upper/m/@v/v1.0.0.mod")).toBe(1);
    expect(upstream.count("example.test/!upper/m/@v/v1.0.0.zip")).toBe(1);
    expect(upstream.count("example.test/!upper/m/@v/list")).toBe(1);
    // A request is counted when its response finishes, which may come just after the client (in
    // this same process) has read the last byte.
    let metrics = "";
    for (let i = 0; i < 50 && !/endpoint="zip",code="200"\} 2/.test(metrics); i++) {
      if (i > 0) await new Promise((resolve) => setTimeout(resolve, 10));
      metrics = await (await get("/metrics")).text();
    }
    expect(metrics).toMatch(/gomirror_cache_hits_total\{kind="zip"\} 1/);
    expect(metrics).toMatch(/gomirror_cache_misses_total\{kind="zip"\} 1/);
    expect(metrics).toMatch(/gomirror_http_requests_total\{endpoint="zip",code="200"\} 2/);
    expect(metrics).toMatch(new RegExp(`gomirror_bytes_served_total\\{kind="zip"\\} ${ZIP.length * 2}`));
    expect(metrics).toMatch(
      /gomirror_upstream_requests_total\{upstream="http:\/\/127.0.0.1:\d+",outcome="ok"\} 3/,
    );
  });

  it("makes one upstream request for 32 concurrent requests of a missing zip", async () => {
    upstream.faults.set("example.test/!upper/m/@v/v1.0.0.zip", { delayMs: 200 });
    const bodies = await Promise.all(
      Array.from({ length: 32 }, async () =>
        Buffer.from(await (await get("/example.test/!upper/m/@v/v1.0.0.zip")).arrayBuffer()),
      ),
    );
    expect(upstream.count("example.test/!upper/m/@v/v1.0.0.zip")).toBe(1);
    const want = createHash("sha256").update(ZIP).digest("hex");
    for (const b of bodies) expect(createHash("sha256").update(b).digest("hex")).toBe(want);
  });

  it("follows an upstream's redirect, as the go command does (a zip handed out from storage)", async () => {
    const redirector = createServer((req, res) => {
      res.writeHead(302, { location: `${upstream.url}${req.url}` });
      res.end();
    });
    await new Promise<void>((resolve) => redirector.listen(0, "127.0.0.1", resolve));
    try {
      await proxy.close();
      proxy = await start({ GOPROXY: `http://127.0.0.1:${(redirector.address() as AddressInfo).port}` });
      const zip = Buffer.from(await (await get("/example.test/!upper/m/@v/v1.0.0.zip")).arrayBuffer());
      expect(zip.equals(ZIP)).toBe(true);
      expect(upstream.count("example.test/!upper/m/@v/v1.0.0.zip")).toBe(1);
    } finally {
      await new Promise((resolve) => redirector.close(resolve));
    }
  });

  it("passes an upstream 404 on as 404, with a text/plain reason", async () => {
    const res = await get("/example.test/missing/@v/v1.0.0.mod");
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(await res.text()).toMatch(/not found/);
  });

  it("turns an upstream 500 into 502, so a client's GOPROXY list stops there", async () => {
    upstream.faults.set("*", { status: 500 });
    const res = await get("/example.test/other/@v/v0.1.0.mod");
    expect(res.status).toBe(502);
    expect(await res.text()).toMatch(/upstream answered 500/);
    expect(logs.lines).toContainEqual(
      expect.objectContaining({
        event: "upstream_error",
        level: 40,
        path: "example.test/other/@v/v0.1.0.mod",
      }),
    );
  });

  it("serves a stale list when the upstream is down", async () => {
    await proxy.close();
    proxy = await start({ GOMIRROR_CACHE_TTL: "0" });
    expect(await (await get("/example.test/!upper/m/@v/list")).text()).toBe("v0.9.0\nv1.0.0\nv1.1.0-rc.1\n");
    await upstream.close();
    const res = await get("/example.test/!upper/m/@v/list");
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("v0.9.0\nv1.0.0\nv1.1.0-rc.1\n");
    expect(logs.lines.some((l) => l.event === "serving_stale")).toBe(true);
  });

  it("never caches a truncated zip, and serves the whole one once the upstream recovers", async () => {
    upstream.faults.set("example.test/!upper/m/@v/v1.0.0.zip", { truncate: true, times: 1 });
    // A zip this small answers only once it is checked: the client gets an error status.
    expect((await get("/example.test/!upper/m/@v/v1.0.0.zip")).status).toBe(502);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const keys: string[] = [];
    for await (const key of new DiskStorage(path.join(work, "cache")).list("")) keys.push(key);
    expect(keys.filter((k) => k.endsWith(".zip"))).toEqual([]);
    const again = Buffer.from(await (await get("/example.test/!upper/m/@v/v1.0.0.zip")).arrayBuffer());
    expect(again.equals(ZIP)).toBe(true);
  });

  it("refuses garbage .info from an upstream without caching it", async () => {
    upstream.faults.set("example.test/!upper/m/@v/v0.9.0.info", { garbage: true, times: 1 });
    expect((await get("/example.test/!upper/m/@v/v0.9.0.info")).status).toBe(502);
    expect((await get("/example.test/!upper/m/@v/v0.9.0.info")).status).toBe(200);
  });

  it.each([
    ["/example.test/%2e%2e/%2e%2e/etc/@v/list", 400],
    ["/example.test/m/@v/-u.info", 400],
    ["/example.test/m/@v/v1.0.0%00.mod", 400],
    ["/favicon.ico", 404],
  ])("refuses bad input %s with %d, asking no upstream", async (target, status) => {
    const res = await get(target);
    expect(res.status).toBe(status);
    expect(res.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(upstream.requests).toEqual([]);
  });

  it("answers HEAD without a body and refuses other methods", async () => {
    const head = await get("/example.test/other/@v/v0.1.0.mod", { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-length")).toBe("26");
    const post = await get("/example.test/other/@v/v0.1.0.mod", { method: "POST" });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
  });

  it("never asks an upstream for a GOPRIVATE path: it goes to the git source", async () => {
    await proxy.close();
    proxy = await start({ GOPRIVATE: "example.test/!upper,example.test/Upper" });
    const res = await get("/example.test/!upper/m/@v/list");
    // The git source looks for the repository at example.test itself, which does not exist.
    expect(res.status).toBe(502);
    expect(await res.text()).toMatch(/^https:\/\/example\.test\/Upper\/m: request failed/);
    expect(upstream.requests).toEqual([]);
  });

  it("refuses everything with GOPROXY=off", async () => {
    await proxy.close();
    proxy = await start({ GOPROXY: "off" });
    const res = await get("/example.test/other/@v/list");
    expect(res.status).toBe(403);
    expect(await res.text()).toBe("module lookup disabled by GOPROXY=off: example.test/other\n");
  });

  it("removes download spools an interrupted process left behind, and only old ones", async () => {
    const stale = mkdtempSync(path.join(tmpdir(), "gomirror-zip-"));
    const fresh = mkdtempSync(path.join(tmpdir(), "gomirror-zip-"));
    const twoHoursAgo = new Date(Date.now() - 2 * 3600 * 1000);
    utimesSync(stale, twoHoursAgo, twoHoursAgo);
    await proxy.close();
    proxy = await start();
    for (let i = 0; i < 50 && existsSync(stale); i++) await new Promise((r) => setTimeout(r, 20));
    expect(existsSync(stale)).toBe(false);
    expect(existsSync(fresh)).toBe(true);
    rmSync(fresh, { recursive: true, force: true });
  });

  it("removes at start the spools of processes that are gone, however fresh", async () => {
    // 99999999 is above Linux's largest pid: no such process can be running.
    const dead = path.join(tmpdir(), `gomirror-spool-99999999-1-${process.pid}`);
    mkdirSync(path.join(dead), { recursive: true });
    writeFileSync(path.join(dead, "1.zip"), Buffer.alloc(1024));
    await proxy.close();
    proxy = await start();
    expect(existsSync(dead)).toBe(false);
    expect(logs.lines).toContainEqual(expect.objectContaining({ event: "spool_swept", dir: dead }));
  });

  it("answers health, readiness and request ids; logs each request as JSON", async () => {
    expect(await (await get("/healthz")).text()).toBe("ok\n");
    expect((await get("/readyz")).status).toBe(200);
    const res = await get("/example.test/other/@v/list", { headers: { "x-request-id": "abc-123" } });
    expect(res.headers.get("x-request-id")).toBe("abc-123");
    await res.text();
    expect(logs.lines).toContainEqual(
      expect.objectContaining({ event: "request", reqId: "abc-123", status: 200, endpoint: "list" }),
    );
  });

  it("sends a request id with every kind of answer, served from memory, storage or upstream", async () => {
    const m = "/example.test/!upper/m/@v";
    // Twice each: the first from the upstream, the second a cached hit (the zip from memory).
    const paths = [
      `${m}/v1.0.0.info`,
      `${m}/v1.0.0.mod`,
      `${m}/v1.0.0.zip`,
      `${m}/list`,
      "/example.test/!upper/m/@latest",
    ];
    for (const p of [...paths, ...paths, `${m}/v9.0.0.mod`, "/healthz", "/no/such/route"]) {
      const res = await get(p, { headers: { "x-request-id": "id-1" } });
      await res.arrayBuffer();
      expect([p, res.headers.get("x-request-id")]).toEqual([p, "id-1"]);
    }
    const head = await get(`${m}/v1.0.0.zip`, { method: "HEAD" });
    expect(head.headers.get("content-length")).toBe(String(ZIP.length));
    expect(head.headers.get("x-request-id")).toMatch(/^[0-9a-f]{8}-/);
    const post = await get(`${m}/v1.0.0.zip`, { method: "POST" });
    expect([post.status, post.headers.get("allow")]).toEqual([405, "GET, HEAD"]);
    expect(post.headers.get("x-request-id")).toMatch(/^[0-9a-f]{8}-/);
  });

  it("answers zips with a redirect to a presigned URL of the stored object in redirect mode", async () => {
    await proxy.close();
    const disk = new DiskStorage(path.join(work, "cache"));
    const presigning = Object.assign(Object.create(disk) as DiskStorage, {
      presignedGetUrl: async (key: string, seconds: number) =>
        `https://bucket.example.test/${key}?expires=${seconds}`,
    });
    const config = loadConfig({
      env: {
        GOPROXY: upstream.url,
        GOSUMDB: "off",
        GOMIRROR_LISTEN: "127.0.0.1:0",
        GOMIRROR_STORAGE: "s3://bucket/prefix",
        GOMIRROR_ZIP_REDIRECT: "true",
      },
      argv: [],
    });
    proxy = await startProxy(config, {
      logger: createLogger("silent"),
      metrics: new ProxyMetrics(),
      storage: presigning,
    });
    for (let i = 0; i < 2; i++) {
      const res = await get("/example.test/!upper/m/@v/v1.0.0.zip", { redirect: "manual" });
      expect(res.status).toBe(302);
      expect(res.headers.get("location")).toBe(
        "https://bucket.example.test/example.test/!upper/m/@v/v1.0.0.zip?expires=300",
      );
    }
    expect(upstream.count("example.test/!upper/m/@v/v1.0.0.zip")).toBe(1);
    expect((await disk.stat("example.test/!upper/m/@v/v1.0.0.zip"))?.size).toBe(ZIP.length);
  });

  it("refuses redirect mode with a storage that cannot presign", async () => {
    const config = loadConfig({
      env: {
        GOMIRROR_LISTEN: "127.0.0.1:0",
        GOMIRROR_STORAGE: "s3://bucket/p",
        GOMIRROR_ZIP_REDIRECT: "true",
      },
      argv: [],
    });
    await expect(startProxy(config, { storage: new DiskStorage(path.join(work, "x")) })).rejects.toThrow(
      /GOMIRROR_ZIP_REDIRECT=true needs a storage that can presign URLs/,
    );
  });

  it("keeps serving for GOMIRROR_SHUTDOWN_DELAY after close, with readiness failing", async () => {
    await proxy.close();
    proxy = await start({ GOMIRROR_SHUTDOWN_DELAY: "1" });
    const closed = proxy.close();
    const ready = await get("/readyz");
    expect(ready.status).toBe(503);
    expect(ready.headers.get("connection")).toBe("close");
    expect((await get("/healthz")).status).toBe(200);
    await closed;
    await expect(get("/healthz")).rejects.toThrow();
  });

  it("finishes an in-flight download on close, refuses readiness, then stops", async () => {
    upstream.faults.set("example.test/!upper/m/@v/v1.0.0.zip", { delayMs: 300 });
    const inflight = get("/example.test/!upper/m/@v/v1.0.0.zip").then(async (r) =>
      Buffer.from(await r.arrayBuffer()),
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    const closed = proxy.close();
    const body = await inflight;
    await closed;
    expect(body.equals(ZIP)).toBe(true);
    await expect(get("/healthz")).rejects.toThrow();
    const stored = await new DiskStorage(path.join(work, "cache")).stat(
      "example.test/!upper/m/@v/v1.0.0.zip",
    );
    expect(stored?.size).toBe(ZIP.length);
  });
});
