import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { FIXTURE, standardFixtures, writeProxyTree, type FixtureSet } from "../support/fixtures";
import {
  createGoWorkspace,
  expectGoSuccess,
  parseGoJson,
  removeTree,
  type GoWorkspace,
} from "../support/gocmd";
import { describeWithTools } from "../support/tools";
import { startStaticUpstream, type StaticUpstream } from "../support/upstream";
import { startTestMirror, type TestMirror } from "./gomirror";

/**
 * gomirror's GOPROXY list under upstream faults, seen from the real go command: `,` falls
 * through only on "not found" (404/410), `|` on any error; a broken download is never cached.
 * Two static upstreams serve the same fixtures; each test gets a fresh gomirror and GOPATH.
 */
describeWithTools({ go: true }, "gomirror's upstream list under faults", () => {
  let root: string;
  let fixtures: FixtureSet;
  let a: StaticUpstream;
  let b: StaticUpstream;
  let mirror: TestMirror | undefined;
  let ws: GoWorkspace | undefined;

  const [MOD, VER] = [FIXTURE.upper, "v1.0.0"];

  beforeAll(async () => {
    root = mkdtempSync(path.join(tmpdir(), "gomirror-e2e-faults-"));
    fixtures = writeProxyTree(root, standardFixtures());
    a = await startStaticUpstream({ root });
    b = await startStaticUpstream({ root });
  }, 300_000);
  afterAll(async () => {
    await a?.close();
    await b?.close();
    if (root) removeTree(root);
  });
  beforeEach(() => {
    for (const u of [a, b]) {
      u.faults.clear();
      u.resetRequests();
    }
  });
  afterEach(async () => {
    ws?.cleanup();
    ws = undefined;
    await mirror?.close();
    mirror = undefined;
  });

  async function startMirror(goproxy: string, env: Record<string, string> = {}): Promise<TestMirror> {
    mirror = await startTestMirror({ goproxy, env });
    return mirror;
  }

  /** `go mod download -json M@V` in a fresh GOPATH against gomirror. */
  async function download(m: TestMirror, modulePath = MOD, version = VER) {
    ws?.cleanup();
    ws = createGoWorkspace({ goproxy: m.url, timeoutMs: 60_000 });
    const res = await ws.run(["mod", "download", "-json", `${modulePath}@${version}`], { cwd: ws.dir });
    const json = res.stdout.trim() ? parseGoJson<{ Sum?: string; Error?: string }>(res.stdout)[0] : undefined;
    return { ...res, sum: json?.Sum, error: json?.Error };
  }

  it.each([404, 410])("',': an upstream answering %i makes gomirror ask the next one", async (status) => {
    a.faults.set("*", { status });
    const m = await startMirror(`${a.url},${b.url}`);
    const res = await download(m);
    expectGoSuccess(res, "go mod download");
    expect(res.sum).toBe(fixtures.get(MOD, VER).zipHash);
    expect(a.requests.length).toBeGreaterThan(0);
    expect(b.count(fixtures.urlPath(MOD, VER, "zip"))).toBe(1);
  });

  it("an upstream URL with a path: gomirror keeps the path when it asks", async () => {
    const based = await startStaticUpstream({ root, basePath: "/mirror/go" });
    try {
      const m = await startMirror(based.url);
      const res = await download(m);
      expectGoSuccess(res, "go mod download via an upstream under /mirror/go");
      expect(res.sum).toBe(fixtures.get(MOD, VER).zipHash);
      expect(based.count(fixtures.urlPath(MOD, VER, "zip"))).toBe(1);
    } finally {
      await based.close();
    }
  });

  it("',': an upstream answering 500 fails the download and the next upstream is never asked", async () => {
    a.faults.set("*", { status: 500 });
    const m = await startMirror(`${a.url},${b.url}`);
    const res = await download(m);
    expect(res.code).not.toBe(0);
    expect(a.requests.length).toBeGreaterThan(0);
    expect(b.requests).toEqual([]);
    // and gomirror must not turn it into a 404/410, which would let a client's own list fall through
    const direct = await fetch(`${m.url}/${fixtures.urlPath(MOD, VER, "info")}`);
    expect(direct.status).toBeGreaterThanOrEqual(500);
    expect(b.requests).toEqual([]);
  });

  it("'|': an upstream answering 500 makes gomirror ask the next one", async () => {
    a.faults.set("*", { status: 500 });
    const m = await startMirror(`${a.url}|${b.url}`);
    const res = await download(m);
    expectGoSuccess(res, "go mod download");
    expect(res.sum).toBe(fixtures.get(MOD, VER).zipHash);
    expect(a.requests.length).toBeGreaterThan(0);
    expect(b.count(fixtures.urlPath(MOD, VER, "zip"))).toBe(1);
  });

  it("'|': an upstream slower than GOMIRROR_UPSTREAM_TIMEOUT makes gomirror ask the next one", async () => {
    a.faults.set("*", { delayMs: 6_000 });
    const m = await startMirror(`${a.url}|${b.url}`, { GOMIRROR_UPSTREAM_TIMEOUT: "1" });
    const started = Date.now();
    const res = await download(m);
    expectGoSuccess(res, "go mod download");
    expect(res.sum).toBe(fixtures.get(MOD, VER).zipHash);
    expect(b.count(fixtures.urlPath(MOD, VER, "zip"))).toBe(1);
    // every file waited at most about the timeout on a, not the 6 s a takes
    expect(Date.now() - started).toBeLessThan(15_000);
  }, 60_000);

  it("a zip body cut short by the upstream fails the download, and nothing truncated is cached", async () => {
    const zipPath = fixtures.urlPath(MOD, VER, "zip");
    a.faults.set(zipPath, { truncate: true });
    const m = await startMirror(a.url);
    const broken = await download(m);
    expect(broken.code).not.toBe(0);
    expect(a.count(zipPath)).toBeGreaterThanOrEqual(1);

    a.faults.clear();
    const asked = a.count(zipPath);
    const retry = await download(m);
    expectGoSuccess(retry, "go mod download after the fault is cleared");
    expect(retry.sum).toBe(fixtures.get(MOD, VER).zipHash);
    expect(a.count(zipPath)).toBe(asked + 1); // fetched again, not served from a cached half
  });

  it("a zip that is not a zip fails the download, and is not cached", async () => {
    const zipPath = fixtures.urlPath(MOD, VER, "zip");
    a.faults.set(zipPath, { garbage: true });
    const m = await startMirror(a.url);
    const broken = await download(m);
    expect(broken.code).not.toBe(0);

    a.faults.clear();
    const retry = await download(m);
    expectGoSuccess(retry, "go mod download after the fault is cleared");
    expect(retry.sum).toBe(fixtures.get(MOD, VER).zipHash);
  });

  it("an upstream's 500 is not cached: once the upstream recovers, the download succeeds", async () => {
    const modPath = fixtures.urlPath(MOD, VER, "mod");
    a.faults.set(modPath, { status: 500 });
    const m = await startMirror(a.url);
    expect((await download(m)).code).not.toBe(0);
    const asked = a.count(modPath);
    expect(asked).toBeGreaterThanOrEqual(1);

    a.faults.clear();
    const retry = await download(m);
    expectGoSuccess(retry, "go mod download after the upstream recovered");
    expect(retry.sum).toBe(fixtures.get(MOD, VER).zipHash);
    expect(a.count(modPath)).toBeGreaterThan(asked);
  });
});
