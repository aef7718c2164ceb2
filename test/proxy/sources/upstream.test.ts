import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { ProxyError } from "../../../lib/proxy/errors";
import { UpstreamProxySource } from "../../../lib/proxy/sources/upstream";
import { readStream } from "../../support/fake-source";
import { writeFiles } from "../../support/proxy";
import { startStaticUpstream, type StaticUpstream } from "../../support/upstream";

describe("UpstreamProxySource", () => {
  const M = "example.test/m";
  const ZIP = Buffer.alloc(300 * 1024, 1);
  let root: string;
  let upstream: StaticUpstream;
  let source: UpstreamProxySource;

  beforeAll(async () => {
    root = mkdtempSync(path.join(tmpdir(), "gomirror-upstream-source-"));
    writeFiles(root, { [`${M}/@v/v1.0.0.zip`]: ZIP });
    upstream = await startStaticUpstream({ root });
    source = new UpstreamProxySource(upstream.url, { timeoutMs: 1000, retries: 0 });
  });
  afterAll(async () => {
    await upstream.close();
    rmSync(root, { recursive: true, force: true });
  });
  beforeEach(() => upstream.faults.clear());

  it("fails a zip body that breaks off before anyone reads it when it is read, not the process", async () => {
    upstream.faults.set(`${M}/@v/v1.0.0.zip`, { cutAt: 1000 });
    const download = await source.zip(M, "v1.0.0");
    // Nobody listens while the connection drops.
    await delay(200);
    const err = await readStream(download.body).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProxyError);
    expect(err).toMatchObject({ kind: "upstream" });
  });

  it("fails a zip body that ends before its Content-Length as an upstream fault", async () => {
    upstream.faults.set(`${M}/@v/v1.0.0.zip`, { extraLength: 5 });
    const download = await source.zip(M, "v1.0.0");
    await expect(readStream(download.body)).rejects.toMatchObject({ kind: "upstream" });
  });

  it("says an upstream that stops sending timed out, and does not ask it again", async () => {
    writeFiles(root, { [`${M}/@v/v1.0.0.mod`]: `module ${M}\n` });
    upstream.faults.set(`${M}/@v/v1.0.0.mod`, { stallAt: 3 });
    const patient = new UpstreamProxySource(upstream.url, { timeoutMs: 300, retries: 2 });
    const before = upstream.requests.length;
    const err = await patient.mod(M, "v1.0.0").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProxyError);
    expect(err).toMatchObject({ kind: "upstream" });
    expect((err as Error).message).toMatch(/v1\.0\.0\.mod: timed out$/);
    expect(upstream.requests.length - before).toBe(1);
  });

  it("releases the connection when a reader stops early", async () => {
    const download = await source.zip(M, "v1.0.0");
    download.body.destroy();
    await delay(50);
    const again = await source.zip(M, "v1.0.0");
    expect((await readStream(again.body)).equals(ZIP)).toBe(true);
  });
});
