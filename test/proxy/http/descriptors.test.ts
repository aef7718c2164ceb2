import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { loadConfig } from "../../../lib/proxy/config";
import { silentLogger } from "../../../lib/proxy/logger";
import { ProxyMetrics } from "../../../lib/proxy/metrics";
import { startProxy, type RunningProxy } from "../../../lib/proxy/server";
import { DiskStorage } from "../../../lib/proxy/storage/disk";
import type { Storage, StoredObject } from "../../../lib/proxy/storage/storage";
import { WrappedStorage } from "../../support/wrapped-storage";

/**
 * Issue 11 item 7: every descriptor of a stored file is closed when its response ends, errors
 * or is aborted, at once, not when the garbage collector finds the stream.
 */

const ZIP_KEY = "example.test/m/@v/v1.0.0.zip";
/** Larger than the memory cache keeps and than socket buffers hold: read from disk, mid-body for long. */
const ZIP_BYTES = 4 * 1024 * 1024;
const CLIENTS = 32;

/** Descriptors of this process (the proxy runs in it) open on `file`. */
function descriptorsOn(file: string): number {
  let n = 0;
  for (const fd of readdirSync("/proc/self/fd")) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === file) n++;
    } catch {
      // closed while we looked
    }
  }
  return n;
}

async function until(what: string, check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A storage whose reads wait for the test's signal: the client can give up before the answer. */
class GatedStorage extends WrappedStorage {
  private open!: () => void;
  private gate = new Promise<void>((resolve) => (this.open = resolve));
  waiting = 0;
  answered = 0;

  release(): void {
    this.open();
  }

  override async get(key: string): Promise<StoredObject | undefined> {
    this.waiting++;
    await this.gate;
    try {
      return await this.inner.get(key);
    } finally {
      this.answered++;
    }
  }
}

function request(url: string, target: string): Socket {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  socket.on("error", () => undefined);
  socket.write(`GET ${target} HTTP/1.1\r\nHost: ${hostname}\r\n\r\n`);
  return socket;
}

/** Resolves once `socket` has received `bytes` bytes (headers and body), without reading further. */
function received(socket: Socket, bytes: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let got = 0;
    socket.on("data", (chunk: Buffer) => {
      got += chunk.length;
      if (got >= bytes) {
        socket.pause();
        resolve();
      }
    });
    socket.on("close", () => reject(new Error(`connection closed after ${got} bytes`)));
  });
}

describe("descriptors of stored files", () => {
  let work: string;
  let zipFile: string;
  let proxy: RunningProxy | undefined;

  beforeEach(() => {
    work = mkdtempSync(path.join(tmpdir(), "gomirror-fds-"));
    const cache = path.join(work, "cache");
    zipFile = path.join(cache, ...ZIP_KEY.split("/"));
    mkdirSync(path.dirname(zipFile), { recursive: true });
    // Hits are served as stored; the bytes need not be a real module zip here.
    writeFileSync(zipFile, Buffer.alloc(ZIP_BYTES, 7));
    zipFile = realpathSync(zipFile);
  });

  afterEach(async () => {
    await proxy?.close();
    proxy = undefined;
    rmSync(work, { recursive: true, force: true });
  });

  async function start(storage: Storage): Promise<RunningProxy> {
    const config = loadConfig({
      env: {
        GOPROXY: "off",
        GOSUMDB: "off",
        GOMIRROR_LISTEN: "127.0.0.1:0",
        GOMIRROR_STORAGE: path.join(work, "cache"),
        GOMIRROR_SHUTDOWN_GRACE: "1",
      },
      argv: [],
    });
    return startProxy(config, { logger: silentLogger(), metrics: new ProxyMetrics(), storage });
  }

  it("closes the file of every download a client abandons mid-body", async () => {
    proxy = await start(new DiskStorage(path.join(work, "cache")));
    const sockets = Array.from({ length: CLIENTS }, () => request(proxy!.url, `/${ZIP_KEY}`));
    // Each client has the headers and the first part of the body, then stops reading.
    await Promise.all(sockets.map((s) => received(s, 256 * 1024)));
    expect(descriptorsOn(zipFile)).toBeGreaterThan(0);
    for (const s of sockets) s.destroy();
    await until("every descriptor on the zip is closed", () => descriptorsOn(zipFile) === 0);
  });

  it("closes the file of every download whose client left before the answer was ready", async () => {
    const storage = new GatedStorage(new DiskStorage(path.join(work, "cache")));
    proxy = await start(storage);
    let openConnections = 0;
    proxy.server.on("connection", (socket: Socket) => {
      openConnections++;
      socket.on("close", () => openConnections--);
    });
    const sockets = Array.from({ length: CLIENTS }, () => request(proxy!.url, `/${ZIP_KEY}`));
    await until("every request waits for storage", () => storage.waiting === CLIENTS);
    for (const s of sockets) s.destroy();
    // Let the server see every connection close before storage answers.
    await until("the server has no connection left", () => openConnections === 0);
    storage.release();
    // Storage opens the file for each of them; none may stay open.
    await until("every lookup has been answered", () => storage.answered === CLIENTS);
    await until("every descriptor on the zip is closed", () => descriptorsOn(zipFile) === 0);
  });
});
