import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Pool } from "undici";
import { checkStorageKey } from "../../lib/proxy/storage/storage";
import { Random, MIXED_ALPHABET, randomPath, randomVersion } from "../proxy/module/vectors";
import { refGenerateKey, startRefSumdb, type RefSumdb } from "../proxy/sumdb/ref";
import { startGomirrorProcess, type GomirrorProcess } from "../support/gomirror-process";
import { makeModuleZip } from "../support/module-zip";
import { writeFiles } from "../support/proxy";
import { describeWithTools } from "../support/tools";
import { startStaticUpstream, type StaticUpstream } from "../support/upstream";

/**
 * Request paths from a seeded generator (GOMIRROR_FUZZ_SEED picks another; GOMIRROR_FUZZ_COUNT
 * more), thrown at gomirror running as its own process: no 500, no crash, and no file written
 * anywhere but its storage and spool directories, whatever the path holds.
 */

const SEED = Number(process.env.GOMIRROR_FUZZ_SEED ?? 20261130);
const COUNT = Number(process.env.GOMIRROR_FUZZ_COUNT ?? 12_000);
const SUMDB = "sumdb.example.test";
const REAL = "example.test/fz/!upper";

const TRICKS = [
  "..",
  ".",
  "%2e%2e",
  "%2E%2e",
  "%2f",
  "%2F",
  "%5c",
  "%00",
  "%0a",
  "%20",
  "%25",
  "%ff",
  "%c0%ae",
  "%",
  "%zz",
  "!",
  "!!",
  "!A",
  "~",
  "@",
  "@v",
  "@latest",
  "//",
  "/./",
  "/../",
  "?x=1",
  "#frag",
  "+incompatible",
  ".tmp",
  "sumdb",
  "@hashed",
];

/** A string the request line can carry: anything outside printable ASCII percent-encoded. */
function wire(s: string): string {
  let out = "";
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    out +=
      c > 0x20 && c < 0x7f
        ? ch
        : [...Buffer.from(ch)].map((b) => `%${b.toString(16).padStart(2, "0")}`).join("");
  }
  return out;
}

function piece(rng: Random): string {
  switch (rng.int(6)) {
    case 0:
      return rng.pick(TRICKS);
    case 1:
      return randomPath(rng);
    case 2:
      return Array.from({ length: 1 + rng.int(12) }, () => rng.pick(MIXED_ALPHABET)).join("");
    case 3:
      return rng.chance(0.5) ? "a".repeat(200 + rng.int(200)) : "b".repeat(19);
    case 4:
      return REAL;
    default:
      return `example.test/${rng.pick(["fz", "x", "Y", "z/v2", "q/v3"])}`;
  }
}

/** A valid module path of `bytes` bytes or so, in elements of up to `element` bytes. */
function longPath(rng: Random, bytes: number, element: number): string {
  let p = "example.test";
  while (p.length < bytes - 2) {
    const n = Math.min(1 + rng.int(element), bytes - p.length - 1);
    p += `/${Array.from({ length: n }, () => rng.pick([..."abcdefghijklmnopqrstuvwxyz0123456789-_"])).join("")}`;
  }
  return p.replace(/[-_]+$/, "");
}

function modulePart(rng: Random): string {
  // Valid paths at the edges of what storage keys can hold: long elements, long paths.
  if (rng.chance(0.1)) return longPath(rng, rng.pick([300, 700, 1000, 1024]), rng.pick([20, 255, 300]));
  const parts = Array.from({ length: 1 + rng.int(rng.chance(0.05) ? 60 : 4) }, () => piece(rng));
  return parts.join(rng.chance(0.9) ? "/" : rng.pick(["//", "/./", "%2f"]));
}

function versionPart(rng: Random): string {
  return rng.pick([
    () => randomVersion(rng),
    () => rng.pick(["v1.0.0", "v1.0.0+incompatible", "v2.0.0", "v01.0.0", "v1.0.0-", "v1", "main", "master"]),
    () => rng.pick(TRICKS),
    () => Array.from({ length: rng.int(300) }, () => rng.pick(["v", "1", ".", "-", "!", "a", "Z"])).join(""),
    () => `v1.0.0-${"r".repeat(1 + rng.int(400))}`,
  ])();
}

/** One request target. */
export function fuzzTarget(rng: Random): string {
  const mod = modulePart(rng);
  let target: string;
  switch (rng.int(10)) {
    case 0:
      target = `/${mod}/@v/list`;
      break;
    case 1:
      target = `/${mod}/@latest`;
      break;
    case 2:
      target = `/${mod}/@v/${versionPart(rng)}.${rng.pick(["info", "mod", "zip", "txt", ""])}`;
      break;
    case 3:
      target = `/sumdb/${rng.pick([SUMDB, "sum.golang.org", piece(rng)])}/lookup/${mod}@${versionPart(rng)}`;
      break;
    case 4:
      target = `/sumdb/${SUMDB}/${rng.pick(["latest", "supported", "tile/8/0/000", "tile/8/1/000.p/1", `tile/${rng.int(40)}/${rng.int(5)}/${piece(rng)}`, piece(rng)])}`;
      break;
    case 5:
      target = `/${rng.pick(["healthz", "readyz", "metrics", "", ".tmp/x", "@v/list", "%2e%2e/%2e%2e/etc/passwd"])}`;
      break;
    default:
      target = `/${mod}/${rng.pick(["@v/", "@v/v1.0.0.zip", "@v/v1.0.0.info", "@v/list", "@latest", ""])}${rng.chance(0.1) ? rng.pick(TRICKS) : ""}`;
  }
  return wire(target);
}

/** Every file under `dir`, relative, with whether it is a regular file. */
function walk(dir: string, rel = ""): { path: string; file: boolean }[] {
  const out: { path: string; file: boolean }[] = [];
  for (const entry of readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const child = rel === "" ? entry.name : `${rel}/${entry.name}`;
    if (entry.isDirectory()) out.push(...walk(dir, child));
    else out.push({ path: child, file: entry.isFile() });
  }
  return out;
}

describeWithTools({ go: true }, "request path fuzzing", () => {
  let work: string;
  let upstream: StaticUpstream;
  let db: RefSumdb;
  let mirror: GomirrorProcess;
  let before: string[];

  beforeAll(async () => {
    work = realpathSync(mkdtempSync(path.join(tmpdir(), "gomirror-fuzz-")));
    const zip = await makeModuleZip("example.test/fz/Upper", "v1.0.0");
    const info = JSON.stringify({ Version: "v1.0.0", Time: "2024-01-02T03:04:05Z" });
    writeFiles(path.join(work, "upstream"), {
      [`${REAL}/@v/list`]: "v1.0.0\n",
      [`${REAL}/@latest`]: info,
      [`${REAL}/@v/v1.0.0.info`]: info,
      [`${REAL}/@v/v1.0.0.mod`]: "module example.test/fz/Upper\n",
      [`${REAL}/@v/v1.0.0.zip`]: zip,
    });
    writeFileSync(path.join(work, "canary"), "untouched\n");
    mkdirSync(path.join(work, "tmp"));
    upstream = await startStaticUpstream({ root: path.join(work, "upstream") });
    const key = refGenerateKey(SUMDB);
    db = await startRefSumdb(key.signer, [
      {
        path: "example.test/fz/Upper",
        version: "v1.0.0",
        zip: `h1:${"A".repeat(43)}=`,
        mod: `h1:${"B".repeat(43)}=`,
      },
    ]);
    before = walk(work).map((f) => f.path);
    mirror = await startGomirrorProcess({
      GOPROXY: upstream.url,
      GOSUMDB: `${key.verifier} ${db.url}`,
      GONOSUMDB: "example.test/fz",
      GOMIRROR_STORAGE: path.join(work, "storage"),
      GOMIRROR_UPSTREAM_TIMEOUT: "2",
      GOMIRROR_LOG_LEVEL: "warn",
      TMPDIR: path.join(work, "tmp"),
    });
  }, 300_000);

  afterAll(async () => {
    await mirror?.stop();
    await upstream?.close();
    await db?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it(`answers ${COUNT} generated paths (seed ${SEED}) without a 500, a crash, or a file outside its storage`, async () => {
    const rng = new Random(SEED);
    const targets = Array.from({ length: COUNT }, () => fuzzTarget(rng));
    // The same seed makes the same paths.
    expect(fuzzTarget(new Random(SEED))).toBe(targets[0]);

    const pool = new Pool(mirror.url, { connections: 16, pipelining: 1 });
    const statuses: Record<number, number> = {};
    const serverErrors: string[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < targets.length) {
        const target = targets[next++];
        const res = await pool.request({ path: target, method: "GET" });
        await res.body.dump({ limit: 1 << 20 });
        statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
        if (res.statusCode === 500 && serverErrors.length < 10) serverErrors.push(target);
      }
    };
    try {
      await Promise.all(Array.from({ length: 16 }, worker));
    } finally {
      await pool.close();
    }

    expect({ serverErrors, exit: mirror.exit }).toEqual({ serverErrors: [], exit: undefined });
    expect(statuses[500] ?? 0).toBe(0);
    // The generator reaches every kind of answer.
    for (const status of [200, 400, 404]) expect(statuses[status] ?? 0).toBeGreaterThan(50);
    expect((await fetch(`${mirror.url}/healthz`)).status).toBe(200);

    // Nothing new outside the storage and spool directories; the canary as it was.
    const after = walk(work).map((f) => f.path);
    const added = after.filter(
      (p) => !before.includes(p) && !p.startsWith("storage/") && !p.startsWith("tmp/"),
    );
    expect(added).toEqual([]);
    expect(readFileSync(path.join(work, "canary"), "utf8")).toBe("untouched\n");
    // Inside the storage: regular files under safe keys only.
    for (const f of walk(path.join(work, "storage"))) {
      expect(f.file).toBe(true);
      if (!f.path.startsWith(".tmp/")) expect(() => checkStorageKey(f.path)).not.toThrow();
    }
    expect(mirror.levels[60] ?? 0).toBe(0);
    // No input makes the storage fail (a name too long for the file system, a key too long).
    for (const event of ["cache_read_failed", "cache_write_failed", "zip_fill_failed"]) {
      expect(`${event}: ${mirror.events[event] ?? 0}`).toBe(`${event}: 0`);
    }
  }, 240_000);
});
