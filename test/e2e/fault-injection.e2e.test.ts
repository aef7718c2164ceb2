import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseList } from "../../lib/proxy/module/info";
import { refGenerateKey, refHashMod, refHashZip, startRefSumdb, type RefSumdb } from "../proxy/sumdb/ref";
import { startGomirrorProcess, type GomirrorProcess } from "../support/gomirror-process";
import { makeModuleZip } from "../support/module-zip";
import { writeFiles } from "../support/proxy";
import { describeWithTools } from "../support/tools";
import { startStaticUpstream, type Fault, type StaticUpstream } from "../support/upstream";

/**
 * Every way an upstream misbehaves, against every endpoint, with and without the checksum
 * database, on gomirror running as its own process: it stays up, answers the status the fault
 * calls for, keeps nothing wrong, and serves the right answer once the upstream heals. Each case
 * has a module of its own, so that nothing one case caches hides another's fault.
 */

type Endpoint = "list" | "info" | "latest" | "mod" | "zip" | "large zip";

/** What a client must see: an error status, or (a zip past its first MiB) a body cut short. */
type Outcome = "502" | "cut" | "list";

interface Misbehaviour {
  readonly name: string;
  /** The fault for a file of `size` bytes, whose limit is `limit`. */
  fault(size: number, limit: number): Fault;
  /** What the client sees at `endpoint`. */
  outcome(endpoint: Endpoint): Outcome;
}

/** gomirror streams a zip to its clients once this much is in (CachedSource's default). */
const STREAM_AFTER = 1024 * 1024;
const SPOOL_MAX = 8 * 1024 * 1024;
const LIMITS: Record<Endpoint, number> = {
  list: 16 << 20,
  info: 1 << 20,
  latest: 1 << 20,
  mod: 16 << 20,
  zip: SPOOL_MAX,
  "large zip": SPOOL_MAX,
};

/** A large zip is cut short once the fault comes after its first MiB; any other answer is a 502. */
const byOffset =
  (offset: (size: number) => number) =>
  (size: number) =>
  (endpoint: Endpoint): Outcome =>
    endpoint === "large zip" && offset(size) >= STREAM_AFTER ? "cut" : "502";

const LARGE_ZIP_BYTES = 1536 * 1024;

const MISBEHAVIOURS: readonly Misbehaviour[] = [
  { name: "closes right after the headers", fault: () => ({ cutAt: 0 }), outcome: () => "502" },
  { name: "closes after one byte", fault: () => ({ cutAt: 1 }), outcome: () => "502" },
  {
    name: "closes halfway",
    fault: (size) => ({ cutAt: Math.floor(size / 2) }),
    outcome: byOffset((size) => size / 2)(LARGE_ZIP_BYTES),
  },
  {
    name: "closes one byte short",
    fault: (size) => ({ cutAt: size - 1 }),
    outcome: byOffset((size) => size - 1)(LARGE_ZIP_BYTES),
  },
  {
    name: "promises more than it sends",
    fault: () => ({ extraLength: 1000 }),
    outcome: byOffset((size) => size)(LARGE_ZIP_BYTES),
  },
  {
    name: "resets halfway",
    fault: (size) => ({ resetAt: Math.floor(size / 2) }),
    outcome: byOffset((size) => size / 2)(LARGE_ZIP_BYTES),
  },
  {
    name: "stalls halfway",
    fault: (size) => ({ stallAt: Math.floor(size / 2) }),
    outcome: byOffset((size) => size / 2)(LARGE_ZIP_BYTES),
  },
  {
    name: "answers garbage",
    fault: () => ({ garbage: true }),
    outcome: (endpoint) => (endpoint === "list" ? "list" : endpoint === "large zip" ? "cut" : "502"),
  },
  {
    name: "answers more than the limit",
    fault: (_size, limit) => ({ oversized: limit + 64 * 1024 }),
    outcome: (endpoint) => (endpoint === "large zip" || endpoint === "zip" ? "cut" : "502"),
  },
  { name: "redirects to itself", fault: () => ({ redirectLoop: true }), outcome: () => "502" },
  { name: "answers 500", fault: () => ({ status: 500 }), outcome: () => "502" },
];

const ENDPOINTS: readonly Endpoint[] = ["list", "info", "latest", "mod", "zip", "large zip"];

interface Case {
  readonly id: number;
  readonly misbehaviour: Misbehaviour;
  readonly endpoint: Endpoint;
  readonly verified: boolean;
  readonly path: string;
  readonly mod: Buffer;
  readonly zip: Buffer;
  readonly info: string;
}

const VERSION = "v1.0.0";

/** The URL path (and storage key) of the case's file at its endpoint. */
function fileOf(c: Case): string {
  switch (c.endpoint) {
    case "list":
      return `${c.path}/@v/list`;
    case "latest":
      return `${c.path}/@latest`;
    case "info":
      return `${c.path}/@v/${VERSION}.info`;
    case "mod":
      return `${c.path}/@v/${VERSION}.mod`;
    default:
      return `${c.path}/@v/${VERSION}.zip`;
  }
}

function rightAnswer(c: Case): Buffer {
  switch (c.endpoint) {
    case "list":
      return Buffer.from(`${VERSION}\n`);
    case "latest":
    case "info":
      return Buffer.from(c.info);
    case "mod":
      return c.mod;
    default:
      return c.zip;
  }
}

/** A response's status and body, or "cut" when the body broke off. */
async function ask(url: string): Promise<{ status: number; body?: Buffer }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(30_000) });
  try {
    return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
  } catch {
    return { status: res.status };
  }
}

describeWithTools({ go: true }, "upstream fault injection, every endpoint, with and without GOSUMDB", () => {
  let work: string;
  let upstream: StaticUpstream;
  let db: RefSumdb;
  let mirror: GomirrorProcess;
  const cases: Case[] = [];

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), "gomirror-fault-injection-"));
    const files: Record<string, string | Buffer> = {};
    const records: { path: string; version: string; zip: string; mod: string }[] = [];
    const hashInputs: { zip: string; mod: string }[] = [];
    let id = 0;
    for (const verified of [true, false]) {
      for (const misbehaviour of MISBEHAVIOURS) {
        for (const endpoint of ENDPOINTS) {
          const modulePath = `example.test/${verified ? "sum" : "nosum"}/c${id}`;
          const mod = Buffer.from(`module ${modulePath}\n\ngo 1.21\n`);
          const zip = await makeModuleZip(modulePath, VERSION, {
            fillerBytes: endpoint === "large zip" ? LARGE_ZIP_BYTES : 128 * 1024,
          });
          const info = JSON.stringify({ Version: VERSION, Time: "2024-01-02T03:04:05Z" });
          const c: Case = { id: id++, misbehaviour, endpoint, verified, path: modulePath, mod, zip, info };
          cases.push(c);
          Object.assign(files, {
            [`${modulePath}/@v/list`]: `${VERSION}\n`,
            [`${modulePath}/@latest`]: info,
            [`${modulePath}/@v/${VERSION}.info`]: info,
            [`${modulePath}/@v/${VERSION}.mod`]: mod,
            [`${modulePath}/@v/${VERSION}.zip`]: zip,
          });
          if (verified) {
            const zipFile = path.join(work, `h${c.id}.zip`);
            const modFile = path.join(work, `h${c.id}.mod`);
            writeFileSync(zipFile, zip);
            writeFileSync(modFile, mod);
            hashInputs.push({ zip: zipFile, mod: modFile });
            records.push({ path: modulePath, version: VERSION, zip: "", mod: "" });
          }
        }
      }
    }
    const zipHashes = refHashZip(...hashInputs.map((h) => h.zip));
    const modHashes = refHashMod(...hashInputs.map((h) => h.mod));
    records.forEach((r, i) => Object.assign(r, { zip: zipHashes[i], mod: modHashes[i] }));
    const root = path.join(work, "upstream");
    writeFiles(root, files);
    upstream = await startStaticUpstream({ root });
    const key = refGenerateKey("sumdb.example.test");
    db = await startRefSumdb(key.signer, records);
    mirror = await startGomirrorProcess({
      GOPROXY: upstream.url,
      GOSUMDB: `${key.verifier} ${db.url}`,
      GONOSUMDB: "example.test/nosum",
      GOMIRROR_STORAGE: path.join(work, "storage"),
      GOMIRROR_UPSTREAM_TIMEOUT: "1",
      GOMIRROR_CACHE_TTL: "0",
      GOMIRROR_SPOOL_MAX: String(SPOOL_MAX),
      GOMIRROR_SHUTDOWN_GRACE: "2",
      // Every fault here is followed by a clean request to the same upstream; the breaker, which
      // would skip it after three faults, has its own tests (upstream-health.e2e.test.ts).
      GOMIRROR_UPSTREAM_MAX_FAILS: "0",
    });
  }, 300_000);

  afterAll(async () => {
    await mirror?.stop();
    await upstream?.close();
    await db?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const stored = (key: string): Buffer | undefined => {
    try {
      return readFileSync(path.join(work, "storage", key));
    } catch {
      return undefined;
    }
  };

  const title = (c: Case): string =>
    `${c.verified ? "GOSUMDB" : "GONOSUMDB"} ${c.endpoint}: an upstream that ${c.misbehaviour.name}`;

  it.each(
    MISBEHAVIOURS.flatMap((m) => ENDPOINTS.flatMap((e) => [true, false].map((v) => [m.name, e, v] as const))),
  )(
    "%s, at %s (checksum database: %s)",
    async (name, endpoint, verified) => {
      const c = cases.find(
        (x) => x.misbehaviour.name === name && x.endpoint === endpoint && x.verified === verified,
      )!;
      const file = fileOf(c);
      const right = rightAnswer(c);
      upstream.faults.set(file, c.misbehaviour.fault(right.length, LIMITS[c.endpoint]));
      const answer = await ask(`${mirror.url}/${file}`);
      const outcome = c.misbehaviour.outcome(c.endpoint);
      const seen =
        answer.status === 200 && answer.body === undefined
          ? "cut"
          : answer.status === 200
            ? "200"
            : String(answer.status);
      const context = `${title(c)}: got ${seen}\n${mirror.output().slice(-2000)}`;
      if (outcome === "list") {
        expect({ context, status: answer.status }).toEqual({ context, status: 200 });
      } else {
        expect({ context, seen }).toEqual({ context, seen: outcome });
      }

      // The process lives, and keeps nothing wrong.
      expect({ context, exit: mirror.exit }).toEqual({ context, exit: undefined });
      expect((await fetch(`${mirror.url}/healthz`)).status).toBe(200);
      const kept = stored(file);
      if (kept && c.endpoint === "list") {
        for (const v of parseList(kept)) expect(v).toBe(VERSION);
      } else if (kept) {
        expect({ context, keptRight: kept.equals(right) }).toEqual({ context, keptRight: true });
      }

      // Healed, the upstream's right answer is served.
      upstream.faults.clear();
      const healed = await ask(`${mirror.url}/${file}`);
      expect({ context, status: healed.status, right: healed.body?.equals(right) }).toEqual({
        context,
        status: 200,
        right: true,
      });
    },
    30_000,
  );

  it("logged no fatal line and ended no process along the way", () => {
    expect(mirror.exited).toBe(false);
    expect(mirror.levels[60] ?? 0).toBe(0);
    expect(mirror.output()).not.toMatch(/Unhandled 'error' event|uncaughtException/);
  });
});
