import http from "node:http";
import type { AddressInfo } from "node:net";
import { request } from "undici";
import { ProxyError } from "../../../lib/proxy/errors";
import { SumdbClient } from "../../../lib/proxy/sumdb/client";
import { parseGosumdb } from "../../../lib/proxy/sumdb/config";
import { describeWithTools } from "../../support/tools";
import { MemoryStorage } from "./memory-storage";
import { refGenerateKey, startRefSumdb, type RefRecord, type RefSumdb } from "./ref";

const NAME = "sumdb.example.test";
const fakeHash = (s: string): string => `h1:${Buffer.alloc(32, s).toString("base64")}`;
const record = (i: number): RefRecord => ({
  path: `example.test/mod${i}`,
  version: `v1.${i}.0`,
  zip: fakeHash(`zip${i}`),
  mod: fakeHash(`mod${i}`),
});
const RECORDS = Array.from({ length: 300 }, (_, i) => record(i)); // more than one full tile (256)

function errorOf(p: Promise<unknown>): Promise<ProxyError> {
  return p.then(
    () => {
      throw new Error("expected a rejection");
    },
    (err: unknown) => err as ProxyError,
  );
}

describeWithTools({ go: true }, "checksum database client against x/mod's server", () => {
  let key: { signer: string; verifier: string };
  let otherKey: { signer: string; verifier: string };
  const servers: RefSumdb[] = [];
  const start = async (signer: string, records: readonly RefRecord[]): Promise<RefSumdb> => {
    const s = await startRefSumdb(signer, records);
    servers.push(s);
    return s;
  };
  const storage = (): MemoryStorage => new MemoryStorage();
  const client = (st: MemoryStorage, url: string, vkey = key.verifier): SumdbClient =>
    new SumdbClient({ config: { name: NAME, key: vkey, url }, storage: st, timeoutMs: 10_000 });

  beforeAll(() => {
    key = refGenerateKey(NAME);
    otherKey = refGenerateKey(NAME);
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
  });

  it("looks a module up, verifies it, and keeps the record, tiles and tree", async () => {
    const db = await start(key.signer, RECORDS);
    const st = storage();
    const c = client(st, db.url);
    const got = await c.lookup("example.test/mod7", "v1.7.0");
    expect(got).toMatchObject({ id: 7, zipHash: RECORDS[7].zip, modHash: RECORDS[7].mod });
    expect((await c.verifiedTree()).n).toBe(RECORDS.length);
    expect(await st.stat(`sumdb/${NAME}/latest`)).toBeDefined();
    expect(await st.stat(`sumdb/${NAME}/lookup/example.test/mod7@v1.7.0`)).toBeDefined();
    expect(await st.stat(`sumdb/${NAME}/tile/8/0/000`)).toBeDefined(); // full tiles are kept

    // A record beyond the first full tile, then the same lookup again: the record comes from storage.
    expect((await c.lookup("example.test/mod299", "v1.299.0")).zipHash).toBe(RECORDS[299].zip);
    const before = db.requests.length;
    const again = client(st, db.url);
    expect((await again.lookup("example.test/mod7", "v1.7.0")).modHash).toBe(RECORDS[7].mod);
    // Only the partial tiles (kept in memory, not stored) are asked for again.
    expect(db.requests.slice(before).every((r) => /^\/tile\/8\/\d\/\d{3}\.p\/\d+$/.test(r))).toBe(true);
  });

  it("answers not-found for a module the database does not know", async () => {
    const db = await start(key.signer, RECORDS.slice(0, 3));
    const err = await errorOf(client(storage(), db.url).lookup("example.test/unknown", "v1.0.0"));
    expect(err).toBeInstanceOf(ProxyError);
    expect(err.kind).toBe("not-found");
  });

  it("refuses a database that signs with another key", async () => {
    const db = await start(otherKey.signer, RECORDS.slice(0, 3));
    const err = await errorOf(client(storage(), db.url).lookup("example.test/mod1", "v1.1.0"));
    expect(err.kind).toBe("security");
    expect(err.message).toMatch(/no verifiable signatures/);
  });

  it("refuses a tree inconsistent with a larger one verified before (even after a restart)", async () => {
    const st = storage();
    const first = await start(key.signer, RECORDS.slice(0, 10));
    await client(st, first.url).lookup("example.test/mod3", "v1.3.0");
    await first.stop();

    // The same records logged in another order, plus one more: a forked log.
    const forked = [RECORDS[1], RECORDS[0], ...RECORDS.slice(2, 10), RECORDS[10]];
    const second = await start(key.signer, forked);
    const err = await errorOf(client(st, second.url).lookup("example.test/mod10", "v1.10.0"));
    expect(err.kind).toBe("security");
    expect(err.message).toMatch(/server misbehavior detected/);
    // A client without that history accepts the same database.
    expect((await client(storage(), second.url).lookup("example.test/mod10", "v1.10.0")).id).toBe(10);
    // Same size, other order: refused too.
    const third = await start(key.signer, forked.slice(0, 10));
    expect((await errorOf(client(st, third.url).lookup("example.test/mod3", "v1.3.0"))).kind).toBe(
      "security",
    );
  });

  it("reaches the database through a proxy that says supported, skipping one that does not", async () => {
    const db = await start(key.signer, RECORDS.slice(0, 5));
    const seen: string[] = [];
    const proxy = http.createServer((req, res) => {
      seen.push(req.url ?? "");
      const prefix = `/sumdb/${NAME}/`;
      if (!req.url?.startsWith(prefix)) {
        res.writeHead(404).end();
        return;
      }
      const rest = req.url.slice(prefix.length);
      if (rest === "supported") {
        res.writeHead(200).end();
        return;
      }
      void request(`${db.url}/${rest}`).then(async (r) => {
        res.writeHead(r.statusCode);
        res.end(Buffer.from(await r.body.arrayBuffer()));
      });
    });
    const none = http.createServer((_req, res) => res.writeHead(404).end("no sumdb here"));
    await Promise.all([proxy, none].map((s) => new Promise<void>((r) => s.listen(0, "127.0.0.1", r))));
    const url = (s: http.Server): string => `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
    try {
      const config = parseGosumdb(key.verifier);
      expect(config?.url).toBeUndefined();
      const c = new SumdbClient({
        config: config!,
        storage: storage(),
        proxyList: [
          { kind: "url", url: url(none), fallBackOnError: false },
          { kind: "url", url: url(proxy), fallBackOnError: false },
          { kind: "direct", fallBackOnError: false },
        ],
      });
      expect((await c.lookup("example.test/mod2", "v1.2.0")).zipHash).toBe(RECORDS[2].zip);
      expect(seen).toContain(`/sumdb/${NAME}/supported`);
      expect(seen).toContain(`/sumdb/${NAME}/lookup/example.test/mod2@v1.2.0`);
    } finally {
      proxy.close();
      none.close();
    }
  });
});
