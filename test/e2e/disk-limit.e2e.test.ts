import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { writeProxyTree, type FixtureSet } from "../support/fixtures";
import { removeTree } from "../support/gocmd";
import { describeWithTools } from "../support/tools";
import { startStaticUpstream, type StaticUpstream } from "../support/upstream";
import { startTestMirror, type TestMirror } from "./gomirror";

/**
 * A mirror whose disk store holds about three of the eight zips clients keep asking for, many
 * at once: every download completes with the right bytes, the store settles under
 * GOMIRROR_DISK_MAX by evicting zips (never a go.mod), and an evicted zip is fetched again.
 */

const ZIP_PADDING = 200_000;
const DISK_MAX = 700_000;
const MODULES = Array.from({ length: 8 }, (_, i) => `example.test/evict/m${i}`);

function sha256(data: Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

/** Every file under `dir` (not the disk store's temp directory), with its size. */
function filesUnder(dir: string, rel = ""): { key: string; size: number }[] {
  return readdirSync(path.join(dir, rel), { withFileTypes: true }).flatMap((entry) => {
    const key = rel === "" ? entry.name : `${rel}/${entry.name}`;
    if (key === ".tmp") return [];
    if (entry.isDirectory()) return filesUnder(dir, key);
    return [{ key, size: statSync(path.join(dir, key)).size }];
  });
}

async function download(url: string): Promise<Buffer> {
  const res = await fetch(url);
  if (res.status !== 200) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  return Buffer.from(await res.arrayBuffer());
}

describeWithTools({ go: true }, "GOMIRROR_DISK_MAX: eviction with concurrent readers", () => {
  let root: string;
  let fixtures: FixtureSet;
  let upstream: StaticUpstream;
  let mirror: TestMirror;

  beforeAll(async () => {
    root = mkdtempSync(path.join(tmpdir(), "gomirror-e2e-evict-"));
    fixtures = writeProxyTree(
      root,
      MODULES.map((m, i) => ({
        path: m,
        version: "v1.0.0",
        files: { "go.mod": `module ${m}\n` },
        padding: { file: "data.bin", bytes: ZIP_PADDING, seed: i + 1 },
      })),
    );
    upstream = await startStaticUpstream({ root });
    mirror = await startTestMirror({ goproxy: upstream.url, env: { GOMIRROR_DISK_MAX: String(DISK_MAX) } });
  }, 300_000);

  afterAll(async () => {
    await mirror?.close();
    await upstream?.close();
    if (root) removeTree(root);
  });

  it("serves every reader the right bytes while zips are evicted, and settles under the limit", async () => {
    const want = new Map(MODULES.map((m) => [m, sha256(readFileSync(fixtures.get(m, "v1.0.0").zipFile))]));
    const zipUrl = (m: string) => `${mirror.url}/${fixtures.urlPath(m, "v1.0.0", "zip")}`;
    const modUrl = (m: string) => `${mirror.url}/${fixtures.urlPath(m, "v1.0.0", "mod")}`;

    for (let wave = 0; wave < 3; wave++) {
      const readers = MODULES.flatMap((m) =>
        [0, 1, 2].map(async () => ({ m, data: await download(zipUrl(m)) })),
      );
      const mods = MODULES.map((m) => download(modUrl(m)));
      for (const { m, data } of await Promise.all(readers)) expect(sha256(data)).toBe(want.get(m));
      await Promise.all(mods);
    }

    // Eviction runs beside the requests: wait for the store to settle.
    const deadline = Date.now() + 20_000;
    const total = () => filesUnder(mirror.storage).reduce((sum, f) => sum + f.size, 0);
    while (total() > DISK_MAX && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(total()).toBeLessThanOrEqual(DISK_MAX);

    const files = filesUnder(mirror.storage).map((f) => f.key);
    // Every go.mod is kept; only zips went.
    for (const m of MODULES) expect(files).toContain(fixtures.urlPath(m, "v1.0.0", "mod"));
    const zipsLeft = files.filter((k) => k.endsWith(".zip")).length;
    expect(zipsLeft).toBeGreaterThan(0);
    expect(zipsLeft).toBeLessThan(MODULES.length);

    const metrics = await (await fetch(`${mirror.url}/metrics`)).text();
    const evictions = Number(/^gomirror_storage_evictions_total (\d+)/m.exec(metrics)?.[1]);
    expect(evictions).toBeGreaterThanOrEqual(MODULES.length - zipsLeft);
    expect(metrics).toMatch(new RegExp(`^gomirror_storage_limit_bytes ${DISK_MAX}$`, "m"));

    // An evicted zip comes back from the upstream.
    const evicted = MODULES.find((m) => !files.includes(fixtures.urlPath(m, "v1.0.0", "zip")))!;
    const before = upstream.count(fixtures.urlPath(evicted, "v1.0.0", "zip"));
    expect(sha256(await download(zipUrl(evicted)))).toBe(want.get(evicted));
    expect(upstream.count(fixtures.urlPath(evicted, "v1.0.0", "zip"))).toBe(before + 1);
  }, 120_000);
});
