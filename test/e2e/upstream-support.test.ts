import http from "node:http";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { startStaticUpstream, type StaticUpstream } from "../support/upstream";

/** The static GOPROXY upstream the e2e tests stand on: files, request log, faults. */
describe("static upstream (test support)", () => {
  let root: string;
  let upstream: StaticUpstream;
  const zip = Buffer.alloc(10_000, 7);

  beforeAll(async () => {
    root = mkdtempSync(path.join(tmpdir(), "gomirror-upstream-"));
    const v = path.join(root, "example.test/!upper/@v");
    mkdirSync(v, { recursive: true });
    writeFileSync(path.join(v, "list"), "v1.0.0\n");
    writeFileSync(path.join(v, "v1.0.0.info"), '{"Version":"v1.0.0"}');
    writeFileSync(path.join(v, "v1.0.0.zip"), zip);
    upstream = await startStaticUpstream({ root });
  });
  afterAll(async () => {
    await upstream.close();
    rmSync(root, { recursive: true, force: true });
  });
  beforeEach(() => {
    upstream.faults.clear();
    upstream.resetRequests();
  });

  it("serves files by their escaped path with a content type, and logs requests in order", async () => {
    const list = await fetch(`${upstream.url}/example.test/!upper/@v/list`);
    expect(list.status).toBe(200);
    expect(await list.text()).toBe("v1.0.0\n");
    const info = await fetch(`${upstream.url}/example.test/!upper/@v/v1.0.0.info`);
    expect(info.headers.get("content-type")).toBe("application/json");
    expect(await info.json()).toEqual({ Version: "v1.0.0" });
    expect((await fetch(`${upstream.url}/example.test/!upper/@v/v9.9.9.info`)).status).toBe(404);
    expect(upstream.requests).toEqual([
      { method: "GET", path: "example.test/!upper/@v/list" },
      { method: "GET", path: "example.test/!upper/@v/v1.0.0.info" },
      { method: "GET", path: "example.test/!upper/@v/v9.9.9.info" },
    ]);
    expect(upstream.count("example.test/!upper/@v/list")).toBe(1);
    expect(upstream.count(/\.info$/)).toBe(2);
  });

  it("logs and serves a percent-encoded '!' as the escaped path it stands for", async () => {
    expect((await fetch(`${upstream.url}/example.test/%21upper/@v/list`)).status).toBe(200);
    expect(upstream.count("example.test/!upper/@v/list")).toBe(1);
  });

  it("refuses traversal", async () => {
    // fetch() would normalise the dots away; send the raw path
    const status = await new Promise<number>((resolve, reject) => {
      http
        .get(`${upstream.url}/`, { path: "/example.test/../../etc/passwd" }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        })
        .on("error", reject);
    });
    expect(status).toBe(400);
    expect(upstream.requests).toEqual([{ method: "GET", path: "example.test/../../etc/passwd" }]);
  });

  it("injects status faults per path, globally, and for a limited number of requests", async () => {
    upstream.faults.set("example.test/!upper/@v/list", { status: 410, times: 1 });
    upstream.faults.set("*", { status: 500 });
    expect((await fetch(`${upstream.url}/example.test/!upper/@v/list`)).status).toBe(410);
    // the exact-path fault is spent; the global one applies now
    expect((await fetch(`${upstream.url}/example.test/!upper/@v/list`)).status).toBe(500);
    upstream.faults.clear("*");
    expect((await fetch(`${upstream.url}/example.test/!upper/@v/list`)).status).toBe(200);
  });

  it("delays an answer", async () => {
    upstream.faults.set(/list$/, { delayMs: 300 });
    const start = Date.now();
    await (await fetch(`${upstream.url}/example.test/!upper/@v/list`)).text();
    expect(Date.now() - start).toBeGreaterThanOrEqual(280);
  });

  it("truncates a body after the headers promised the full length", async () => {
    upstream.faults.set("example.test/!upper/@v/v1.0.0.zip", { truncate: true });
    const res = await fetch(`${upstream.url}/example.test/!upper/@v/v1.0.0.zip`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-length")).toBe(String(zip.length));
    await expect(res.arrayBuffer()).rejects.toThrow();
  });

  it("answers garbage of the same length", async () => {
    upstream.faults.set("example.test/!upper/@v/v1.0.0.zip", { garbage: true });
    const body = Buffer.from(
      await (await fetch(`${upstream.url}/example.test/!upper/@v/v1.0.0.zip`)).arrayBuffer(),
    );
    expect(body.length).toBe(zip.length);
    expect(body.equals(zip)).toBe(false);
  });

  it("cuts, stalls and resets an answer after some bytes, or promises more than it sends", async () => {
    const zipPath = "example.test/!upper/@v/v1.0.0.zip";
    for (const fault of [{ cutAt: 100 }, { resetAt: 100 }, { extraLength: 10 }]) {
      upstream.faults.set(zipPath, fault);
      const res = await fetch(`${upstream.url}/${zipPath}`);
      expect(res.status).toBe(200);
      await expect(res.arrayBuffer()).rejects.toThrow();
    }
    upstream.faults.set(zipPath, { stallAt: 100 });
    const stalled = await fetch(`${upstream.url}/${zipPath}`, { signal: AbortSignal.timeout(300) });
    await expect(stalled.arrayBuffer()).rejects.toThrow(/abort|timeout/i);
  });

  it("sends an endless body, and redirects to itself", async () => {
    upstream.faults.set("example.test/!upper/@v/list", { oversized: 1_000_000 });
    const res = await fetch(`${upstream.url}/example.test/!upper/@v/list`);
    expect(res.headers.get("content-length")).toBeNull();
    expect((await res.arrayBuffer()).byteLength).toBe(1_000_000);
    upstream.faults.set("example.test/!upper/@v/list", { redirectLoop: true });
    await expect(fetch(`${upstream.url}/example.test/!upper/@v/list`)).rejects.toThrow();
  });

  it("lives under a base path when asked", async () => {
    const based = await startStaticUpstream({ root, basePath: "/goproxy" });
    try {
      expect(based.url).toMatch(/\/goproxy$/);
      expect((await fetch(`${based.url}/example.test/!upper/@v/list`)).status).toBe(200);
      expect(based.requests).toEqual([{ method: "GET", path: "example.test/!upper/@v/list" }]);
    } finally {
      await based.close();
    }
  });
});
