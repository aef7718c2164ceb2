import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { runProbeCommand } from "../../bin/probe";
import { formatProbeTable, rankProbeResults, type ProbeResult } from "../../lib/proxy/sources/probe";
import { startStaticUpstream, type StaticUpstream } from "../support/upstream";

const M = "example.test/probe";
const ZIP = Buffer.alloc(20_000, 7);

/** A GOPROXY tree with one module: two releases and a pre-release. */
function writeTree(root: string): void {
  const dir = path.join(root, M, "@v");
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "list"), "v1.0.0\nv1.1.0\nv1.2.0-rc.1\n");
  writeFileSync(path.join(dir, "v1.1.0.zip"), ZIP);
  writeFileSync(path.join(dir, "v1.0.0.zip"), ZIP.subarray(0, 100));
}

async function probe(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const code = await runProbeCommand(args, {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    env: {},
  });
  return { code, stdout, stderr };
}

/** The upstream column of the table, best first. */
const ranking = (stdout: string): string[] =>
  stdout
    .split("\n")
    .slice(1)
    .filter((l) => l.includes("http://"))
    .map((l) => l.split(/\s+/)[1]!);

describe("gomirror probe against loopback upstreams with injected delays", () => {
  let root: string;
  let fast: StaticUpstream;
  let slow: StaticUpstream;
  let flaky: StaticUpstream;
  let deadUrl: string;

  beforeAll(async () => {
    root = mkdtempSync(path.join(tmpdir(), "gomirror-probe-"));
    writeTree(root);
    fast = await startStaticUpstream({ root });
    slow = await startStaticUpstream({ root });
    flaky = await startStaticUpstream({ root });
    const dead = await startStaticUpstream({ root });
    deadUrl = dead.url;
    await dead.close();
  });
  beforeEach(() => {
    for (const u of [fast, slow, flaky]) {
      u.faults.clear();
      u.resetRequests();
    }
    slow.faults.set("*", { delayMs: 300 });
  });
  afterAll(async () => {
    await Promise.all([fast, slow, flaky].map((u) => u?.close()));
    rmSync(root, { recursive: true, force: true });
  });

  it("ranks the fast upstream first, the slow one next, and gives the dead one no rank", async () => {
    const run = await probe([
      "--goproxy",
      `${deadUrl},${slow.url}|${fast.url},direct`,
      "--module",
      M,
      "--rounds",
      "2",
      "--timeout",
      "5",
    ]);
    expect(run.code).toBe(0);
    expect(ranking(run.stdout)).toEqual([fast.url, slow.url, deadUrl]);
    const lines = run.stdout.split("\n");
    expect(lines[0]).toMatch(/^rank\s+upstream\s+list\s+zip\s+errors\s+last error$/);
    expect(lines.find((l) => l.includes(deadUrl))).toMatch(/^-\s+\S+\s+-\s+-\s+2\/2\s+.*ECONNREFUSED/);
    expect(lines.find((l) => l.includes(slow.url))).toMatch(/^2\s+\S+\s+\d{3,} ms\s+\d{3,} ms\s+0\/4$/);
    // The newest release, not the pre-release, and its size.
    expect(run.stdout).toContain(`probed ${M}@v1.1.0 (zip ${ZIP.length} bytes), 2 rounds per upstream`);
    expect(fast.count(`${M}/@v/list`)).toBe(2);
    expect(fast.count(`${M}/@v/v1.1.0.zip`)).toBe(2);
    expect(run.stderr).toBe("not probed: direct\n");
  });

  it("puts an upstream that failed sometimes behind a slower one that never did, without retrying", async () => {
    flaky.faults.set(`${M}/@v/v1.0.0.zip`, { status: 503, times: 1 });
    const run = await probe([
      "--goproxy",
      `${flaky.url},${slow.url}`,
      "--module",
      `${M}@v1.0.0`,
      "--rounds",
      "2",
    ]);
    expect(ranking(run.stdout)).toEqual([slow.url, flaky.url]);
    expect(run.stdout.split("\n").find((l) => l.includes(flaky.url))).toMatch(/1\/4\s+.*answered 503/);
    expect(flaky.count(`${M}/@v/v1.0.0.zip`)).toBe(2);
  });

  it("exits 1 when no upstream answered, and 2 for wrong usage", async () => {
    expect((await probe(["--goproxy", deadUrl, "--module", M, "--rounds", "1"])).code).toBe(1);
    expect(await probe(["--goproxy", "direct"])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining("no upstream URL"),
    });
    expect(await probe(["--rounds", "0"])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining("--rounds"),
    });
    expect(await probe(["--module", "Not A Path"])).toMatchObject({ code: 2 });
    expect(await probe(["--goproxy", "ftp://x.example.test"])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining("invalid proxy URL scheme"),
    });
  });
});

describe("ranking probe results", () => {
  const result = (upstream: string, errors: number, listMs?: number, zipMs?: number): ProbeResult => ({
    upstream,
    errors,
    requests: 6,
    listMs,
    zipMs,
  });

  it("orders by failure rate first, then by list plus zip time; never-answered last", () => {
    const ranked = rankProbeResults([
      result("https://never.example", 6),
      result("https://flaky-fast.example", 1, 10, 10),
      result("https://slow.example", 0, 300, 900),
      result("https://fast.example", 0, 50, 100),
    ]);
    expect(ranked.map((r) => r.upstream)).toEqual([
      "https://fast.example",
      "https://slow.example",
      "https://flaky-fast.example",
      "https://never.example",
    ]);
    expect(formatProbeTable(ranked).split("\n")[1]).toBe(
      "1     https://fast.example         50 ms  100 ms  0/6",
    );
  });
});
