import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { SpoolDirectory } from "../../../lib/proxy/cache/spool-directory";
import type { SpoolFile } from "../../../lib/proxy/cache/spool";
import { DiskStorage } from "../../../lib/proxy/storage/disk";
import { FaultyStorage } from "../../support/faulty-storage";
import { makeModuleZip } from "../../support/module-zip";
import { startTestProxy, writeFiles, type TestProxy } from "../../support/proxy";
import { startStaticUpstream, type StaticUpstream } from "../../support/upstream";

/** Opens spool files whose writes fail as on a full disk, once `failing()` says so. */
function fullDisk(failing: () => boolean): (file: string) => Promise<SpoolFile> {
  return async () => {
    if (failing()) throw Object.assign(new Error("ENOSPC: no space left on device"), { code: "ENOSPC" });
    const chunks = new Map<number, Buffer>();
    return {
      read: async (buffer, offset, length, position) => {
        const data = chunks.get(position) ?? Buffer.alloc(0);
        const n = data.copy(buffer, offset, 0, length);
        return { bytesRead: n };
      },
      write: async (buffer, offset, length, position) => {
        if (failing()) throw Object.assign(new Error("ENOSPC: no space left on device"), { code: "ENOSPC" });
        chunks.set(position, Buffer.from(buffer.subarray(offset, offset + length)));
        return { bytesWritten: length };
      },
      close: async () => undefined,
    };
  };
}

/**
 * Storage and spool faults seen over HTTP: a client gets the complete, checked zip or a clear
 * error status; the metrics and the log say what happened; readiness follows what can be written.
 */
describe("storage and spool faults", () => {
  const M = "example.test/m";
  let root: string;
  let work: string;
  let zip: Buffer;
  let other: Buffer;
  /** Over 1 MiB: spooled to a file, where smaller zips are fetched into memory. */
  let large: Buffer;
  let upstream: StaticUpstream;
  let mirror: TestProxy | undefined;

  beforeAll(async () => {
    root = mkdtempSync(path.join(tmpdir(), "gomirror-storage-faults-"));
    zip = await makeModuleZip(M, "v1.0.0", { fillerBytes: 300 * 1024 });
    other = await makeModuleZip(M, "v1.1.0", { fillerBytes: 300 * 1024 });
    large = await makeModuleZip(M, "v1.2.0", { fillerBytes: 1536 * 1024 });
    writeFiles(root, {
      [`${M}/@v/v1.0.0.zip`]: zip,
      [`${M}/@v/v1.1.0.zip`]: other,
      [`${M}/@v/v1.2.0.zip`]: large,
    });
    upstream = await startStaticUpstream({ root });
  });
  afterAll(async () => {
    await upstream.close();
    rmSync(root, { recursive: true, force: true });
  });
  beforeEach(() => {
    upstream.faults.clear();
    work = mkdtempSync(path.join(tmpdir(), "gomirror-storage-faults-work-"));
  });
  afterEach(async () => {
    await mirror?.close();
    mirror = undefined;
    rmSync(work, { recursive: true, force: true });
  });

  const zipUrl = (version: string): string => `${mirror!.url}/${M}/@v/${version}.zip`;

  it("answers a cold zip over 1 MiB 503 with Retry-After when the spool disk is full, and records a 503", async () => {
    const spools = new SpoolDirectory({ root: work, open: fullDisk(() => true) });
    mirror = await startTestProxy({ GOPROXY: upstream.url }, { spools });
    // A smaller zip never touches the spool disk: it is fetched into memory.
    const small = await fetch(zipUrl("v1.0.0"));
    expect(small.status).toBe(200);
    expect(Buffer.from(await small.arrayBuffer()).equals(zip)).toBe(true);
    const res = await fetch(zipUrl("v1.2.0"));
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("5");
    expect(await res.text()).toMatch(/spool directory is full \(ENOSPC\); try again shortly/);
    expect(await mirror.metric("gomirror_http_requests_total", { endpoint: "zip", code: "503" })).toBe(1);
    expect(mirror.logs.events("request")).toContainEqual(
      expect.objectContaining({ endpoint: "zip", status: 503 }),
    );
    expect(await new DiskStorage(mirror.storage).stat(`${M}/@v/v1.2.0.zip`)).toBeUndefined();
    // The event the AWS construct's SpoolFull alarm counts.
    expect(mirror.logs.events("spool_full")).toContainEqual(
      expect.objectContaining({ key: `${M}/@v/v1.2.0.zip` }),
    );
  });

  it("answers a cold zip 503 with Retry-After while downloads in progress fill GOMIRROR_SPOOL_MAX", async () => {
    mirror = await startTestProxy({
      GOPROXY: upstream.url,
      GOMIRROR_SPOOL_MAX: `${zip.length}`,
      GOMIRROR_UPSTREAM_TIMEOUT: "2",
    });
    // The first download holds its spool space while its upstream stalls halfway.
    upstream.faults.set(`${M}/@v/v1.0.0.zip`, { stallAt: 100 * 1024 });
    const first = fetch(zipUrl("v1.0.0")).then((r) => r.arrayBuffer().then(() => r.status));
    first.catch(() => undefined);
    for (let i = 0; i < 500 && (await mirror.metric("gomirror_spool_bytes")) < zip.length; i++)
      await delay(10);
    const res = await fetch(zipUrl("v1.1.0"));
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("5");
    expect(await res.text()).toMatch(/GOMIRROR_SPOOL_MAX/);
    expect(upstream.count(`${M}/@v/v1.1.0.zip`)).toBe(0); // refused before asking the upstream
    expect(mirror.logs.events("spool_full")).toContainEqual(
      expect.objectContaining({ key: `${M}/@v/v1.1.0.zip` }),
    );
  });

  it("answers 502 for a zip larger than GOMIRROR_SPOOL_MAX lets one download spool", async () => {
    mirror = await startTestProxy({ GOPROXY: upstream.url, GOMIRROR_SPOOL_MAX: "64KiB" });
    const res = await fetch(zipUrl("v1.0.0"));
    expect(res.status).toBe(502);
    expect(await res.text()).toMatch(/GOMIRROR_SPOOL_MAX=65536/);
  });

  it("gives a slow client the whole zip although the storage refuses it", async () => {
    const storage = new FaultyStorage(new DiskStorage(path.join(work, "cache")));
    storage.fault = "read-only";
    mirror = await startTestProxy({ GOPROXY: upstream.url }, { storage });
    const res = await fetch(zipUrl("v1.0.0"));
    const reader = res.body!.getReader();
    const chunks: Uint8Array[] = [];
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      await delay(5); // slower than the store fails
    }
    expect(Buffer.concat(chunks).equals(zip)).toBe(true);
    expect(storage.failedPuts).toBeGreaterThanOrEqual(1);
    expect(mirror.logs.events("cache_write_failed")).toContainEqual(
      expect.objectContaining({ level: 50, key: `${M}/@v/v1.0.0.zip` }),
    );
  });

  it("fails readiness while the storage cannot be written, and recovers when it can", async () => {
    const storage = new FaultyStorage(new DiskStorage(path.join(work, "cache")));
    mirror = await startTestProxy({ GOPROXY: upstream.url }, { storage });
    expect((await fetch(`${mirror.url}/readyz`)).status).toBe(200);
    storage.fault = "read-only";
    await delay(5100); // the probe's result stands for 5 s
    expect((await fetch(`${mirror.url}/readyz`)).status).toBe(503);
    expect(mirror.logs.events("storage_unready")).toHaveLength(1);
    storage.fault = undefined;
    await delay(5100);
    expect((await fetch(`${mirror.url}/readyz`)).status).toBe(200);
  }, 20_000);

  it("fails readiness while the spool directory cannot be written", async () => {
    const spools = new SpoolDirectory({ root: work, open: fullDisk(() => true) });
    mirror = await startTestProxy({ GOPROXY: upstream.url }, { spools });
    expect((await fetch(`${mirror.url}/readyz`)).status).toBe(503);
    expect(mirror.logs.events("spool_unready")).toHaveLength(1);
  });
});
