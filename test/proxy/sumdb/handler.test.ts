import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import type { AddressInfo } from "node:net";
import { request } from "undici";
import { createRequestHandler } from "../../../lib/proxy/http/handler";
import { createLogger, silentLogger } from "../../../lib/proxy/logger";
import { DiskStorage } from "../../../lib/proxy/storage/disk";
import { ProxyMetrics } from "../../../lib/proxy/metrics";
import { SumdbClient } from "../../../lib/proxy/sumdb/client";
import { createSumdbHandler, type SumdbHandler } from "../../../lib/proxy/sumdb/handler";
import { FakeSource } from "../../support/fake-source";
import { LogLines } from "../../support/proxy";
import { describeWithTools } from "../../support/tools";
import { MemoryStorage } from "./memory-storage";
import { refGenerateKey, startRefSumdb, type RefRecord, type RefSumdb } from "./ref";

const NAME = "sumdb.example.test";
const h = (s: string): string => `h1:${Buffer.alloc(32, s).toString("base64")}`;
const RECORDS: RefRecord[] = Array.from({ length: 260 }, (_, i) => ({
  path: `example.test/m${i}`,
  version: "v1.0.0",
  zip: h(`z${i}`),
  mod: h(`m${i}`),
}));

describeWithTools({ go: true }, "the /sumdb/ proxy endpoint", () => {
  let db: RefSumdb;
  let badDb: RefSumdb;
  let server: http.Server;
  let base: string;
  let storage: MemoryStorage;
  let verifier: string;

  beforeAll(async () => {
    const key = refGenerateKey(NAME);
    verifier = key.verifier;
    const other = refGenerateKey("other.example.test");
    db = await startRefSumdb(key.signer, RECORDS);
    badDb = await startRefSumdb(refGenerateKey(NAME).signer, RECORDS.slice(0, 2));
    storage = new MemoryStorage();
    const good = new SumdbClient({ config: { name: NAME, key: key.verifier, url: db.url }, storage });
    const bad = new SumdbClient({
      config: { name: "other.example.test", key: other.verifier, url: badDb.url },
      storage: new MemoryStorage(),
    });
    const handler = createSumdbHandler({
      databases: [good, bad],
      noSumdb: "example.test/private,*.corp.example",
    });
    server = mirrorServing(handler);
    base = `${await listen(server)}/sumdb`;
  });
  afterAll(async () => {
    server.close();
    await Promise.all([db.stop(), badDb.stop()]);
  });

  // node:http sends the path exactly as given (no dot-segment normalisation, unlike fetch/undici).
  const get = (p: string, from = base): Promise<{ status: number; body: Buffer; cache: string }> =>
    new Promise((resolve, reject) => {
      const u = new URL(from);
      http
        .get({ host: u.hostname, port: u.port, path: `${u.pathname}/${p}` }, (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () =>
            resolve({
              status: res.statusCode ?? 0,
              body: Buffer.concat(chunks),
              cache: String(res.headers["cache-control"] ?? ""),
            }),
          );
        })
        .on("error", reject);
    });
  const direct = async (p: string): Promise<Buffer> =>
    Buffer.from(await (await request(`${db.url}/${p}`)).body.arrayBuffer());

  it("says supported for configured databases and 404 for others", async () => {
    expect((await get(`${NAME}/supported`)).status).toBe(200);
    const unknown = await get("sum.golang.org/supported");
    expect(unknown.status).toBe(404);
    expect(unknown.body.toString()).toMatch(/"sum.golang.org" is not proxied here/);
    expect((await get(`${NAME}/nonsense`)).status).toBe(404);
  });

  it("relays verified lookups byte for byte and keeps them for good", async () => {
    const res = await get(`${NAME}/lookup/example.test/m5@v1.0.0`);
    expect(res.status).toBe(200);
    expect(res.body.equals(await direct("lookup/example.test/m5@v1.0.0"))).toBe(true);
    expect(res.cache).toMatch(/immutable/);
    expect(await storage.stat(`sumdb/${NAME}/lookup/example.test/m5@v1.0.0`)).toBeDefined();
  });

  it("relays latest and tiles; full tiles are immutable, partial ones short-lived", async () => {
    const latest = await get(`${NAME}/latest`);
    expect(latest.status).toBe(200);
    expect(latest.body.toString()).toMatch(/^go\.sum database tree\n260\n/);
    const full = await get(`${NAME}/tile/8/0/000`);
    expect(full.status).toBe(200);
    expect(full.body.equals(await direct("tile/8/0/000"))).toBe(true);
    expect(full.cache).toMatch(/immutable/);
    const partial = await get(`${NAME}/tile/8/0/001.p/4`);
    expect(partial.status).toBe(200);
    expect(partial.body.length).toBe(4 * 32);
    expect(partial.cache).toMatch(/max-age=60$/);
  });

  it("refuses lookups of private paths without asking the database", async () => {
    const before = db.requests.length;
    for (const p of ["example.test/private/x@v1.0.0", "git.corp.example/team/x@v1.0.0"]) {
      const res = await get(`${NAME}/lookup/${p}`);
      expect(res.status).toBe(403);
      expect(res.body.toString()).toMatch(/matches GONOSUMDB\/GOPRIVATE/);
    }
    expect(db.requests.slice(before).filter((r) => r.includes("private") || r.includes("corp"))).toEqual([]);
  });

  it.each([
    ["a malformed tile path", `${NAME}/tile/8/0/1`],
    ["a tile path with traversal", `${NAME}/tile/8/../../x`],
    ["an encoded traversal", `${NAME}/tile/8/%2e%2e/%2e%2e/x`],
    ["a lookup without a version", `${NAME}/lookup/example.test/m1`],
    ["a lookup with a bad escape", `${NAME}/lookup/example.test/M1@v1.0.0`],
  ])("answers 400 for %s", async (_what, p) => {
    expect((await get(p)).status).toBe(400);
  });

  it.each([
    ["a version that is not canonical", `${NAME}/lookup/example.test/m1@v01.0.0`],
    ["a version with an empty pre-release", `${NAME}/lookup/example.test/m1@v1.0.0-`],
    ["a major version the path does not allow", `${NAME}/lookup/example.test/m1@v2.0.0`],
  ])("refuses %s with 400, the way the GOPROXY routes do, without asking the database", async (_w, p) => {
    const before = db.requests.length;
    const res = await get(p);
    expect(res.status).toBe(400);
    expect(db.requests.slice(before).filter((r) => r.startsWith("lookup"))).toEqual([]);
  });

  it("looks up paths up to the length limit with any path element length, on disk storage", async () => {
    const root = mkdtempSync(path.join(tmpdir(), "gomirror-sumdb-disk-"));
    const logs = new LogLines();
    const client = new SumdbClient({
      config: { name: NAME, key: verifier, url: db.url },
      storage: new DiskStorage(root),
    });
    const mirror = mirrorServing(createSumdbHandler({ databases: [client] }), createLogger("info", logs));
    const mirrorBase = `${await listen(mirror)}/sumdb`;
    try {
      const longElement = `example.test/${"a".repeat(300)}@v1.0.0`;
      const nearLimit = `example.test/${Array.from({ length: 50 }, () => "b".repeat(19)).join("/")}@v1.0.0`;
      for (const modVer of [longElement, nearLimit]) {
        const res = await get(`${NAME}/lookup/${modVer}`, mirrorBase);
        // The database has no such module: "not found", never a storage failure.
        expect([404, 410]).toContain(res.status);
      }
      expect(logs.lines.filter((l) => (l.level as number) >= 50)).toEqual([]);
      // An ordinary lookup is kept where it always was.
      expect((await get(`${NAME}/lookup/example.test/m7@v1.0.0`, mirrorBase)).status).toBe(200);
      expect(await new DiskStorage(root).stat(`sumdb/${NAME}/lookup/example.test/m7@v1.0.0`)).toBeDefined();
    } finally {
      mirror.close();
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("answers 502 naming the problem when the database signs with another key", async () => {
    const res = await get("other.example.test/latest");
    expect(res.status).toBe(502);
    expect(res.body.toString()).toMatch(/no verifiable signatures/);
  });

  it("refuses a full tile that does not match the verified tree", async () => {
    // A database front that flips one byte of tile 8/0/000 and relays everything else.
    const front = http.createServer((req, res) => {
      void request(`${db.url}${req.url ?? "/"}`).then(async (r) => {
        const body = Buffer.from(await r.body.arrayBuffer());
        if (req.url === "/tile/8/0/000") body[0] ^= 1;
        res.writeHead(r.statusCode).end(body);
      });
    });
    const client = new SumdbClient({
      config: { name: NAME, key: verifier, url: await listen(front) },
      storage: new MemoryStorage(),
    });
    const handler = createSumdbHandler({ databases: [client] });
    const mirror = mirrorServing(handler);
    const mirrorBase = `${await listen(mirror)}/sumdb`;
    try {
      const res = await get(`${NAME}/tile/8/0/000`, mirrorBase);
      expect(res.status).toBe(502);
      expect(res.body.toString()).toMatch(
        /tile\/8\/0\/000 from the database does not match its verified tree/,
      );
    } finally {
      front.close();
      mirror.close();
    }
  });
});

/** The checksum database proxy as gomirror's HTTP layer serves it. */
function mirrorServing(sumdb: SumdbHandler, logger = silentLogger()): http.Server {
  return http.createServer(
    createRequestHandler({
      source: new FakeSource(),
      logger,
      metrics: new ProxyMetrics(),
      ttlSeconds: 60,
      ready: async () => true,
      sumdb,
    }),
  );
}

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
