import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { loadConfig } from "../../../lib/proxy/config";
import { startProxy, type RunningProxy } from "../../../lib/proxy/server";
import { makeModuleZip } from "../../support/module-zip";

/**
 * An upstream that closes the connection after every response, as python's http.server does
 * (HTTP/1.0, no keep-alive): the whole answer is written, then the socket is ended at once.
 *
 * undici 7 crashed the process on such an upstream (nodejs/undici#5360): when the response body
 * had not been read yet, its parser was paused under backpressure, and the FIN that followed
 * the body tripped an assertion in a socket 'end' handler, out of reach of any error listener.
 * A proxy fetching ~1 MiB zips died at the 2nd to 4th download.
 */

const MODULE = "example.test/closing";
const ZIP_FILLER_BYTES = 1024 * 1024;
const SEQUENTIAL = 16;
const CONCURRENT = 24;

interface ClosingUpstream {
  readonly url: string;
  /** How many requests it answered, by path. */
  readonly hits: Map<string, number>;
  close(): Promise<void>;
}

/** Serves `files` (path without the leading slash -> body) over HTTP/1.0, one request per connection. */
async function startClosingUpstream(files: ReadonlyMap<string, Buffer>): Promise<ClosingUpstream> {
  const hits = new Map<string, number>();
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    // A client that gives up early resets the connection; that is no failure of this test.
    socket.on("error", () => socket.destroy());
    let head = "";
    const onData = (chunk: Buffer): void => {
      head += chunk.toString("latin1");
      if (!head.includes("\r\n\r\n")) return;
      socket.off("data", onData);
      const target = head.split(" ")[1] ?? "/";
      const name = decodeURIComponent(target.replace(/^\//, "").split("?")[0]);
      hits.set(name, (hits.get(name) ?? 0) + 1);
      const body = files.get(name);
      const status = body ? "200 OK" : "404 Not Found";
      const payload = body ?? Buffer.from(`not found: ${name}\n`);
      const header =
        `HTTP/1.0 ${status}\r\n` +
        `Content-Type: application/octet-stream\r\n` +
        `Content-Length: ${payload.length}\r\n` +
        `Connection: close\r\n\r\n`;
      socket.end(Buffer.concat([Buffer.from(header, "latin1"), payload]));
    };
    socket.on("data", onData);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    hits,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

describe("an upstream that closes the connection after each response", () => {
  const versions = Array.from({ length: SEQUENTIAL + CONCURRENT }, (_, i) => `v1.0.${i}`);
  const zips = new Map<string, Buffer>();
  let work: string;
  let upstream: ClosingUpstream;
  let proxy: RunningProxy;

  beforeAll(async () => {
    const files = new Map<string, Buffer>();
    files.set(`${MODULE}/@v/list`, Buffer.from(versions.join("\n") + "\n"));
    for (const version of versions) {
      const zip = await makeModuleZip(MODULE, version, { fillerBytes: ZIP_FILLER_BYTES });
      zips.set(version, zip);
      files.set(`${MODULE}/@v/${version}.zip`, zip);
      files.set(`${MODULE}/@v/${version}.mod`, Buffer.from(`module ${MODULE}\n`));
      files.set(
        `${MODULE}/@v/${version}.info`,
        Buffer.from(JSON.stringify({ Version: version, Time: "2024-01-02T03:04:05Z" })),
      );
    }
    work = mkdtempSync(path.join(tmpdir(), "gomirror-closing-"));
    upstream = await startClosingUpstream(files);
    const config = loadConfig({
      env: {
        GOPROXY: upstream.url,
        GOSUMDB: "off",
        GOMIRROR_LISTEN: "127.0.0.1:0",
        GOMIRROR_STORAGE: path.join(work, "cache"),
        GOMIRROR_LOG_LEVEL: "silent",
      },
      argv: [],
    });
    proxy = await startProxy(config);
  });

  afterAll(async () => {
    await proxy?.close();
    await upstream?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  async function download(version: string): Promise<void> {
    const res = await fetch(`${proxy.url}/${MODULE}/@v/${version}.zip`);
    const body = Buffer.from(await res.arrayBuffer());
    expect({ version, status: res.status }).toEqual({ version, status: 200 });
    expect({ version, length: body.length }).toEqual({ version, length: zips.get(version)!.length });
    expect(body.equals(zips.get(version)!)).toBe(true);
  }

  it("serves ~1 MiB zips one after another and many at once, every body whole, and stays up", async () => {
    for (const version of versions.slice(0, SEQUENTIAL)) await download(version);
    await Promise.all(versions.slice(SEQUENTIAL).map((version) => download(version)));

    // Every zip came from the upstream (none was answered from somewhere else)...
    for (const version of versions) expect(upstream.hits.get(`${MODULE}/@v/${version}.zip`)).toBe(1);
    // ...and the proxy still answers, from its cache as from the upstream.
    await download(versions[0]);
    const health = await fetch(`${proxy.url}/healthz`);
    expect(health.status).toBe(200);
    await health.arrayBuffer();
  });
});
