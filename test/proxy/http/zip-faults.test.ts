import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { setTimeout as delay } from "node:timers/promises";
import path from "node:path";
import { makeModuleZip } from "../../support/module-zip";
import { startTestProxy, writeFiles, type TestProxy } from "../../support/proxy";
import { startStaticUpstream, type Fault, type StaticUpstream } from "../../support/upstream";

/**
 * An upstream that breaks off a zip body, however early, costs the one download: the process
 * lives on, nothing is stored, and the next request gets the whole zip once the upstream heals.
 */
describe("zip bodies that break off", () => {
  const M = "example.test/m";
  let root: string;
  let zip: Buffer;
  let upstream: StaticUpstream;
  let mirror: TestProxy;

  beforeAll(async () => {
    root = mkdtempSync(path.join(tmpdir(), "gomirror-zip-faults-"));
    zip = await makeModuleZip(M, "v1.0.0", { fillerBytes: 200 * 1024 });
    writeFiles(root, { [`${M}/@v/v1.0.0.zip`]: zip });
    upstream = await startStaticUpstream({ root });
  });
  afterAll(async () => {
    await upstream.close();
    rmSync(root, { recursive: true, force: true });
  });
  beforeEach(async () => {
    upstream.faults.clear();
    // The breaker would skip this upstream after its third fault; these tests are about surviving
    // every fault, and the next good answer after them (test/proxy/sources/breaker.test.ts has the breaker).
    mirror = await startTestProxy({
      GOPROXY: upstream.url,
      GOMIRROR_UPSTREAM_TIMEOUT: "1",
      GOMIRROR_UPSTREAM_MAX_FAILS: "0",
    });
  });
  afterEach(() => mirror.close());

  const url = (): string => `${mirror.url}/${M}/@v/v1.0.0.zip`;

  it.each<[string, Fault]>([
    ["right after the headers", { cutAt: 0 }],
    ["after 1 byte", { cutAt: 1 }],
    ["after 1000 bytes", { cutAt: 1000 }],
    ["after 100 KiB", { cutAt: 100 * 1024 }],
    ["one byte short", { cutAt: -1 }],
    ["after promising 10 bytes more than it sends", { extraLength: 10 }],
    ["with a reset", { resetAt: 1000 }],
  ])("survives an upstream closing the zip %s, many times over", async (_what, fault) => {
    const cut = fault.cutAt === -1 ? { cutAt: zip.length - 1 } : fault;
    upstream.faults.set(`${M}/@v/v1.0.0.zip`, cut);
    for (let i = 0; i < 8; i++) {
      const body = await fetch(url())
        .then(async (res) => (res.status === 200 ? Buffer.from(await res.arrayBuffer()) : res.status))
        .catch((err: unknown) => err);
      expect(Buffer.isBuffer(body) && body.equals(zip)).toBe(false);
    }
    expect((await fetch(`${mirror.url}/healthz`)).status).toBe(200);
    // None of them counts or logs as a success.
    expect(await mirror.metric("gomirror_http_requests_total", { endpoint: "zip", code: "200" })).toBe(0);
    const zipLines = mirror.logs.events("request").filter((l) => l.endpoint === "zip");
    expect(zipLines.map((l) => l.status)).toEqual(Array(8).fill(502));
    upstream.faults.clear();
    expect(Buffer.from(await (await fetch(url())).arrayBuffer()).equals(zip)).toBe(true);
  });

  it("counts a client that hangs up mid-zip as no failure, cold or cached", async () => {
    const big = await makeModuleZip(M, "v1.1.0", { fillerBytes: 3 * 1024 * 1024 });
    writeFiles(root, { [`${M}/@v/v1.1.0.zip`]: big });
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${mirror.url}/${M}/@v/v1.1.0.zip`);
      expect(res.status).toBe(200);
      const reader = res.body!.getReader();
      await reader.read();
      await reader.cancel();
      // Let the first one finish its download, so that the second is a cached hit.
      await delay(i === 0 ? 1000 : 200);
    }
    const lines = mirror.logs.events("request").filter((l) => l.endpoint === "zip");
    expect(lines.map((l) => [l.status, l.cut, l.level])).toEqual([
      [200, undefined, 30],
      [200, undefined, 30],
    ]);
    expect(await mirror.metric("gomirror_http_requests_total", { endpoint: "zip", code: "500" })).toBe(0);
  });

  it("marks a failure answered with a status as such, not as a cut download", async () => {
    upstream.faults.set(`${M}/@v/v1.0.0.zip`, { status: 500 });
    expect((await fetch(url())).status).toBe(502);
    const [line] = mirror.logs.events("request").filter((l) => l.endpoint === "zip");
    expect(line).toMatchObject({ status: 502 });
    expect(line.cut).toBeUndefined();
  });
});
