import { ProxyError } from "../../../lib/proxy/errors";
import { SumdbClient } from "../../../lib/proxy/sumdb/client";
import { StorageSumdbStore } from "../../../lib/proxy/sumdb/store";
import { parseTilePath } from "../../../lib/proxy/sumdb/tlog";
import { describeWithTools } from "../../support/tools";
import { MemoryStorage } from "./memory-storage";
import { refGenerateKey, startRefSumdb, type RefRecord, type RefSumdb } from "./ref";

const NAME = "sumdb.example.test";
const h = (s: string): string => `h1:${Buffer.alloc(32, s).toString("base64")}`;
const RECORDS: RefRecord[] = Array.from({ length: 300 }, (_, i) => ({
  path: `example.test/off${i}`,
  version: "v1.0.0",
  zip: h(`z${i}`),
  mod: h(`m${i}`),
}));
/** Nothing listens here: connections are refused at once. */
const DEAD = "http://127.0.0.1:9";

describeWithTools({ go: true }, "checksum database answers kept for when the database is unreachable", () => {
  let key: { signer: string; verifier: string };
  let db: RefSumdb;
  let storage: MemoryStorage;

  beforeAll(async () => {
    key = refGenerateKey(NAME);
    db = await startRefSumdb(key.signer, RECORDS);
    storage = new MemoryStorage();
    const online = new SumdbClient({ config: { name: NAME, key: key.verifier, url: db.url }, storage });
    await online.lookup("example.test/off3", "v1.0.0");
    await online.lookup("example.test/off290", "v1.0.0");
    // The reference database is a Go program built on first use: minutes on a busy machine.
  }, 300_000);
  afterAll(() => db?.stop());

  const offline = (alsoVia?: string[]): SumdbClient =>
    new SumdbClient({
      config: { name: NAME, key: key.verifier, url: DEAD },
      storage,
      alsoVia,
      timeoutMs: 5000,
    });

  it("keeps the partial tiles it authenticated, the widest at each position", async () => {
    const keys = [...storage.objects.keys()];
    expect(keys).toContain(`sumdb/${NAME}/tile/8/0/000`);
    // 300 records: tile 1 of level 0 is partial (44 hashes), and so is tile 0 of level 1 (1 hash).
    expect(storage.objects.get(`sumdb/${NAME}/partial/8/0/001`)?.data.length).toBe(44 * 32);
    expect(storage.objects.get(`sumdb/${NAME}/partial/8/1/000`)?.data.length).toBe(32);
    const store = new StorageSumdbStore(storage, NAME);
    await store.saveTile(parseTilePath("tile/8/0/001.p/10"), Buffer.alloc(10 * 32));
    expect(storage.objects.get(`sumdb/${NAME}/partial/8/0/001`)?.data.length).toBe(44 * 32);
  });

  it("verifies kept lookups without the database", async () => {
    const got = await offline().lookup("example.test/off290", "v1.0.0");
    expect(got).toMatchObject({ id: 290, zipHash: RECORDS[290].zip });
  });

  it("answers latest and partial tiles from the storage with the time they were kept", async () => {
    const c = offline();
    const latest = await c.fetchLatest();
    expect(latest.body.toString()).toMatch(/^go\.sum database tree\n300\n/);
    expect(latest.savedAt).toBeInstanceOf(Date);
    const direct = await fetch(`${db.url}/tile/8/0/001.p/20`).then(async (r) =>
      Buffer.from(await r.arrayBuffer()),
    );
    const narrower = await c.fetchTile(parseTilePath("tile/8/0/001.p/20"));
    expect(narrower.body.equals(direct)).toBe(true);
    expect(narrower.savedAt).toBeInstanceOf(Date);
    expect(narrower.immutable).toBe(false);
    // Wider than anything kept, or never kept: not made up.
    const wider = await c.fetchTile(parseTilePath("tile/8/0/001.p/45")).catch((e: unknown) => e);
    expect(wider).toBeInstanceOf(ProxyError);
    expect((wider as ProxyError).kind).toBe("upstream");
  });

  it("a lookup it never kept fails as unreachable, and reaches the database through alsoVia", async () => {
    const err = await offline()
      .lookup("example.test/off7", "v1.0.0")
      .catch((e: unknown) => e);
    expect((err as ProxyError).kind).toBe("upstream");
    const via = await offline([db.url]).lookup("example.test/off7", "v1.0.0");
    expect(via.modHash).toBe(RECORDS[7].mod);
  });
});
