import { createHash } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import yazl from "yazl";

/**
 * The soak's upstream GOPROXY on 127.0.0.1: an endless supply of modules
 * (`example.test/soak/m<k>` at `v1.0.<n>`), each version's files computed from its name so the
 * soak can check every body it gets, and a share of answers that go wrong the ways upstreams do.
 */

export const MODULES = 24;
const TIME = "2024-01-02T03:04:05Z";

export type SoakFault = "cut" | "reset" | "stall" | "garbage" | "status" | "overlong";
const FAULTS: readonly SoakFault[] = ["cut", "reset", "stall", "garbage", "status", "overlong"];

export function modulePath(k: number): string {
  return `example.test/soak/m${k}`;
}

/** Deterministic bytes for a seed (xorshift; incompressible enough to make real zip sizes). */
function filler(seed: string, bytes: number): Buffer {
  const out = Buffer.alloc(bytes);
  let x = createHash("sha256").update(seed).digest().readUInt32LE(0) | 1;
  for (let i = 0; i < bytes; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Most zips are small; one module in eight has zips past the 1 MiB where gomirror streams. */
function zipSize(k: number, n: number): number {
  if (k % 8 === 7) return 1_200_000 + ((n * 7919) % 1_000_000);
  return 4_000 + ((k * 131 + n * 977) % 60_000);
}

export function goMod(k: number): Buffer {
  return Buffer.from(`module ${modulePath(k)}\n\ngo 1.21\n`);
}

export function info(n: number): Buffer {
  return Buffer.from(JSON.stringify({ Version: `v1.0.${n}`, Time: TIME }));
}

const zips = new Map<string, Promise<Buffer>>();

/** The module zip of `m<k>@v1.0.<n>` (the last 256 built are remembered). */
export function moduleZip(k: number, n: number): Promise<Buffer> {
  const key = `${k}@${n}`;
  let zip = zips.get(key);
  if (!zip) {
    zip = (async () => {
      const file = new yazl.ZipFile();
      const prefix = `${modulePath(k)}@v1.0.${n}/`;
      const mtime = new Date(Date.UTC(2024, 0, 1));
      file.addBuffer(goMod(k), `${prefix}go.mod`, { mtime });
      file.addBuffer(Buffer.from(`package m${k}\n`), `${prefix}m.go`, { mtime });
      file.addBuffer(filler(key, zipSize(k, n)), `${prefix}data.bin`, { mtime, compress: false });
      file.end();
      const chunks: Buffer[] = [];
      for await (const chunk of file.outputStream) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    })();
    zips.set(key, zip);
    if (zips.size > 256) zips.delete(zips.keys().next().value as string);
  }
  return zip;
}

export interface SoakUpstream {
  readonly url: string;
  /** Files that were answered wrongly at least once (a client failure there is expected). */
  readonly faulted: ReadonlySet<string>;
  readonly requests: number;
  readonly faults: Readonly<Record<SoakFault, number>>;
  close(): Promise<void>;
}

/** Starts the upstream; a share `faultRate` of its answers misbehave (seeded: `seed`). */
export async function startSoakUpstream(faultRate: number, seed: number): Promise<SoakUpstream> {
  let state = seed >>> 0 || 1;
  const random = (): number => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4294967296;
  };
  const faulted = new Set<string>();
  const counts = Object.fromEntries(FAULTS.map((f) => [f, 0])) as Record<SoakFault, number>;
  let requests = 0;
  const sockets = new Set<import("node:net").Socket>();

  async function body(file: string): Promise<Buffer | undefined> {
    const m = /^example\.test\/soak\/m(\d+)\/(@latest|@v\/list|@v\/v1\.0\.(\d+)\.(info|mod|zip))$/.exec(file);
    if (!m) return undefined;
    const k = Number(m[1]);
    if (k >= MODULES) return undefined;
    if (m[2] === "@latest") return info(19);
    if (m[2] === "@v/list") return Buffer.from(Array.from({ length: 20 }, (_, i) => `v1.0.${i}\n`).join(""));
    const n = Number(m[3]);
    if (m[4] === "info") return info(n);
    if (m[4] === "mod") return goMod(k);
    return moduleZip(k, n);
  }

  const server = http.createServer((req, res) => {
    requests++;
    const file = decodeURIComponent((req.url ?? "/").slice(1));
    void body(file).then((data) => {
      if (!data) {
        res.writeHead(404, { "content-type": "text/plain" }).end(`not found: ${file}\n`);
        return;
      }
      if (random() >= faultRate) {
        res.writeHead(200, { "content-length": data.length }).end(data);
        return;
      }
      const fault = FAULTS[Math.floor(random() * FAULTS.length)];
      counts[fault]++;
      faulted.add(file);
      const socket = req.socket;
      const head = (length: number): void =>
        void socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${length}\r\n\r\n`);
      const part = data.subarray(0, Math.floor(random() * data.length));
      switch (fault) {
        case "status":
          res.writeHead(500).end("injected\n");
          return;
        case "garbage":
          res.writeHead(200, { "content-length": data.length }).end(filler(file, data.length));
          return;
        case "overlong":
          head(data.length + 100);
          socket.write(data, () => setTimeout(() => socket.destroy(), 10));
          return;
        case "cut":
          head(data.length);
          socket.write(part, () => setTimeout(() => socket.destroy(), 10));
          return;
        case "reset":
          head(data.length);
          socket.write(part, () => setTimeout(() => socket.resetAndDestroy(), 10));
          return;
        case "stall":
          head(data.length);
          socket.write(part);
          return; // gomirror's upstream timeout ends it
      }
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    faulted,
    get requests() {
      return requests;
    },
    faults: counts,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}
