import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import pino from "pino";
import { Counter, Registry } from "prom-client";
import { ProxyError } from "../../../lib/proxy/errors";
import { SumdbClient } from "../../../lib/proxy/sumdb/client";
import { VerifyingSource } from "../../../lib/proxy/sumdb/verify";
import { FakeSource, readChecked } from "../../support/fake-source";
import { describeWithTools } from "../../support/tools";
import { MemoryStorage } from "./memory-storage";
import { refGenerateKey, refHashMod, refHashZip, startRefSumdb, writeModuleZip, type RefSumdb } from "./ref";

const NAME = "sumdb.example.test";

interface Fixture {
  readonly path: string;
  readonly version: string;
  readonly mod: string;
  readonly zip: Buffer;
}

async function fixture(dir: string, modPath: string, version: string, extra = ""): Promise<Fixture> {
  const prefix = `${modPath}@${version}/`;
  const mod = `module ${modPath}\n\ngo 1.21\n`;
  const file = path.join(dir, `${modPath.replace(/\//g, "_")}-${version}${extra ? "-x" : ""}.zip`);
  await writeModuleZip(file, { [`${prefix}go.mod`]: mod, [`${prefix}a.go`]: `package a\n${extra}` });
  return { path: modPath, version, mod, zip: readFileSync(file) };
}

async function readAll(body: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describeWithTools({ go: true }, "VerifyingSource against x/mod's checksum database", () => {
  let dir: string;
  let spool: string;
  let db: RefSumdb;
  let fixtures: Record<string, Fixture>;
  let tampered: Record<string, Fixture>;
  let logLines: Record<string, unknown>[];
  let registry: Registry;
  let counter: Counter;
  let lookups: string[];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "gomirror-verify-test-"));
    spool = path.join(dir, "spool");
    mkdirSync(spool);
    fixtures = {};
    tampered = {};
    for (const p of [
      "example.test/good",
      "example.test/badzip",
      "example.test/badmod",
      "golang.org/toolchain",
    ]) {
      const v = p === "golang.org/toolchain" ? "v0.0.1-go1.23.0.linux-amd64" : "v1.0.0";
      fixtures[p] = await fixture(dir, p, v);
      tampered[p] = await fixture(dir, p, v, "// evil\n");
    }
    const records = Object.values(fixtures).map((f) => {
      const zipFile = path.join(dir, "ref.zip");
      writeFileSync(zipFile, f.zip);
      const modFile = path.join(dir, "ref.mod");
      writeFileSync(modFile, f.mod);
      return { path: f.path, version: f.version, zip: refHashZip(zipFile)[0], mod: refHashMod(modFile)[0] };
    });
    const key = refGenerateKey(NAME);
    db = await startRefSumdb(key.signer, records);
    const client = new SumdbClient({
      config: { name: NAME, key: key.verifier, url: db.url },
      storage: new MemoryStorage(),
    });
    // Count lookups by wrapping the client.
    lookups = [];
    database = {
      name: client.name,
      lookup: (p, v) => {
        lookups.push(`${p}@${v}`);
        return client.lookup(p, v);
      },
    };
    // The first use of the x/mod reference helper builds it with the go command: on a fresh
    // checkout, with another suite building at the same time, that alone can take minutes.
  }, 300_000);
  let database: ConstructorParameters<typeof VerifyingSource>[1]["database"];

  beforeEach(() => {
    logLines = [];
    registry = new Registry();
    counter = new Counter({ name: "gomirror_checksum_mismatches_total", help: "x", registers: [registry] });
  });
  afterAll(async () => {
    // Also after a setup that failed half-way: what it made is removed all the same.
    await db?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const source = (inner: FakeSource, noSumdb = ""): VerifyingSource => {
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString().split("\n").filter(Boolean))
          logLines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    return new VerifyingSource(inner, {
      database,
      noSumdb,
      logger: pino({ level: "info" }, sink),
      mismatches: counter,
    });
  };
  const serving = (files: Record<string, Fixture>): FakeSource =>
    new FakeSource(
      Object.fromEntries(
        Object.values(files).map((f) => [
          f.path,
          { versions: [f.version], mods: { [f.version]: f.mod }, zips: { [f.version]: f.zip } },
        ]),
      ),
    );
  const mismatchCount = async (): Promise<number> => (await counter.get()).values[0]?.value ?? 0;

  it("hands on a verified go.mod and zip unchanged, and spools nothing itself", async () => {
    const good = fixtures["example.test/good"];
    const s = source(serving(fixtures));
    expect((await s.mod(good.path, good.version)).toString()).toBe(good.mod);
    const dl = await s.zip(good.path, good.version);
    expect(dl.size).toBe(good.zip.length);
    expect((await readChecked(dl, spool)).equals(good.zip)).toBe(true);
    expect(readdirSync(spool)).toEqual([]);
    expect(await mismatchCount()).toBe(0);
  });

  it("refuses a tampered zip with both hashes, logs and counts it, and hands nothing on", async () => {
    const f = fixtures["example.test/badzip"];
    const s = source(serving({ ...fixtures, [f.path]: { ...f, zip: tampered[f.path].zip } }));
    const dl = await s.zip(f.path, f.version);
    const err = (await readChecked(dl, spool).catch((e: unknown) => e)) as ProxyError;
    expect(err).toBeInstanceOf(ProxyError);
    expect(err.kind).toBe("security");
    const [got] = refHashZip(writeTemp(dir, "t.zip", tampered[f.path].zip));
    const [want] = refHashZip(writeTemp(dir, "g.zip", f.zip));
    expect(err.message).toContain(`example.test/badzip@v1.0.0: verifying module: checksum mismatch`);
    expect(err.message).toContain(`downloaded: ${got}`);
    expect(err.message).toContain(`${NAME}: ${want}`);
    expect(logLines).toContainEqual(
      expect.objectContaining({
        level: 50,
        event: "checksum_mismatch",
        module: f.path,
        version: f.version,
        downloaded: got,
        expected: want,
      }),
    );
    expect(await mismatchCount()).toBe(1);
    expect(readdirSync(spool)).toEqual([]);
  });

  it("refuses a tampered go.mod", async () => {
    const f = fixtures["example.test/badmod"];
    const s = source(
      serving({ ...fixtures, [f.path]: { ...f, mod: `${f.mod}require evil.example v1.0.0\n` } }),
    );
    const err = (await s.mod(f.path, f.version).catch((e: unknown) => e)) as ProxyError;
    expect(err.kind).toBe("security");
    expect(err.message).toMatch(
      /example\.test\/badmod@v1\.0\.0: verifying go\.mod: checksum mismatch\n\tdownloaded: h1:\S+\n\tsumdb\.example\.test: h1:/,
    );
    expect(await mismatchCount()).toBe(1);
  });

  it("does not look up paths covered by GONOSUMDB, but always verifies golang.org/toolchain", async () => {
    const priv = {
      path: "private.example.test/x",
      version: "v1.0.0",
      mod: "module private.example.test/x\n",
      zip: Buffer.from("not even a zip"),
    };
    const tc = fixtures["golang.org/toolchain"];
    const s = source(
      serving({ priv, tc: { ...tc, zip: tampered[tc.path].zip } }),
      "private.example.test,golang.org",
    );
    const before = lookups.length;
    const privZip = await s.zip(priv.path, priv.version);
    expect(privZip.check).toBeUndefined();
    expect((await readAll(privZip.body)).toString()).toBe("not even a zip");
    expect(lookups.length).toBe(before);
    const err = (await readChecked(await s.zip(tc.path, tc.version), spool).catch(
      (e: unknown) => e,
    )) as ProxyError;
    expect(err.kind).toBe("security");
    expect(lookups.slice(before)).toEqual([`${tc.path}@${tc.version}`]);
  });

  it("refuses, as forbidden with a hint, a public module the database has never heard of", async () => {
    const unknown = await fixture(dir, "example.test/unknown", "v1.0.0");
    const err = (await source(serving({ unknown }))
      .mod(unknown.path, unknown.version)
      .catch((e: unknown) => e)) as ProxyError;
    expect(err.kind).toBe("forbidden");
    expect(err.message).toMatch(/no record of this version.*GONOSUMDB or GOPRIVATE/s);
  });

  it("refuses an upstream zip larger than the limit before hashing it", async () => {
    const good = fixtures["example.test/good"];
    const s = new VerifyingSource(serving(fixtures), { database, maxZipBytes: 10 });
    const err = (await s.zip(good.path, good.version).catch((e: unknown) => e)) as ProxyError;
    expect(err.kind).toBe("too-large");
    expect(readdirSync(spool)).toEqual([]);
  });
});

function writeTemp(dir: string, name: string, data: Buffer): string {
  const f = path.join(dir, name);
  writeFileSync(f, data);
  return f;
}
