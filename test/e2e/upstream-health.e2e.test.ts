import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { writeProxyTree } from "../support/fixtures";
import { removeTree } from "../support/gocmd";
import { request } from "../support/http-client";
import { describeWithTools } from "../support/tools";
import { startStaticUpstream, type StaticUpstream } from "../support/upstream";
import { startTestMirror, type TestMirror } from "./gomirror";

/**
 * A mirror with two upstreams, the first of which stops answering mid-run (it accepts
 * connections and never replies, the costliest way to die): after the configured number of
 * timeouts it is skipped, requests answer without waiting for its timeout, and once the fail
 * timeout has passed one probe brings it back.
 */

const M = "example.test/health";
const LIST = `${M}/@v/list`;
const TIMEOUT_SECONDS = 3;
/** Far below the upstream timeout: a skipped upstream costs nothing like it. */
const FAST_MS = 1000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function timed(url: string): Promise<{ status: number; ms: number; body: string }> {
  const started = Date.now();
  const res = await request(url);
  return { status: res.status, ms: Date.now() - started, body: res.body };
}

/** The value of a metric series on the mirror's /metrics, or undefined. */
async function metric(mirror: TestMirror, name: string, upstream: string): Promise<number | undefined> {
  const text = (await request(`${mirror.url}/metrics`)).body;
  const line = text.split("\n").find((l) => l.startsWith(`${name}{upstream="${upstream}"}`));
  return line === undefined ? undefined : Number(line.split(" ").pop());
}

describeWithTools({ go: true }, "upstream health: a dead upstream is skipped", () => {
  let root: string;
  let a: StaticUpstream;
  let b: StaticUpstream;
  let mirror: TestMirror | undefined;

  beforeAll(async () => {
    root = mkdtempSync(path.join(tmpdir(), "gomirror-e2e-health-"));
    writeProxyTree(root, [{ path: M, version: "v1.0.0", files: { "go.mod": `module ${M}\n` } }]);
    a = await startStaticUpstream({ root });
    b = await startStaticUpstream({ root });
  }, 300_000);

  afterEach(async () => {
    await mirror?.close();
    mirror = undefined;
    a.faults.clear();
    a.resetRequests();
    b.resetRequests();
  });

  afterAll(async () => {
    await a?.close();
    await b?.close();
    if (root) removeTree(root);
  });

  const start = (goproxy: string, failTimeoutSeconds: number) =>
    startTestMirror({
      goproxy,
      env: {
        GOMIRROR_UPSTREAM_TIMEOUT: String(TIMEOUT_SECONDS),
        GOMIRROR_UPSTREAM_MAX_FAILS: "2",
        GOMIRROR_UPSTREAM_FAIL_WINDOW: "60",
        GOMIRROR_UPSTREAM_FAIL_TIMEOUT: String(failTimeoutSeconds),
        // Every list request goes to the upstreams, so each one meets the breaker.
        GOMIRROR_CACHE_TTL: "0",
      },
    });

  it("after `|`: skipped within the window, answered by the next upstream at once, back after a probe", async () => {
    mirror = await start(`${a.url}|${b.url}`, 8);
    expect((await timed(`${mirror.url}/${LIST}`)).status).toBe(200);
    expect([a.count(LIST), b.count(LIST)]).toEqual([1, 0]);

    a.faults.set("*", { delayMs: 120_000 });
    for (let i = 0; i < 2; i++) {
      const slow = await timed(`${mirror.url}/${LIST}`);
      expect(slow).toMatchObject({ status: 200, body: "v1.0.0\n" });
      expect(slow.ms).toBeGreaterThanOrEqual(TIMEOUT_SECONDS * 1000 - 100);
    }
    const openedAt = Date.now();
    expect(await metric(mirror, "gomirror_upstream_state", a.url)).toBe(2);

    const askedOfA = a.count(LIST);
    for (let i = 0; i < 4; i++) {
      const fast = await timed(`${mirror.url}/${LIST}`);
      expect(fast.status).toBe(200);
      expect(fast.ms).toBeLessThan(FAST_MS);
    }
    expect(a.count(LIST)).toBe(askedOfA);
    expect(b.count(LIST)).toBe(6);
    expect(await metric(mirror, "gomirror_upstream_skipped_total", a.url)).toBe(4);
    expect(await metric(mirror, "gomirror_upstream_state", b.url)).toBe(0);

    // A comes back; after the fail timeout one request probes it and it is used again.
    a.faults.clear();
    await sleep(Math.max(0, openedAt + 8000 - Date.now()));
    expect((await timed(`${mirror.url}/${LIST}`)).status).toBe(200);
    expect(a.count(LIST)).toBe(askedOfA + 1);
    expect(await metric(mirror, "gomirror_upstream_state", a.url)).toBe(0);
    expect((await timed(`${mirror.url}/${LIST}`)).status).toBe(200);
    expect(b.count(LIST)).toBe(6);
  }, 60_000);

  it("after `,`: a skipped upstream fails the request at once, as its timeout would have, and the next one is never asked", async () => {
    mirror = await start(`${a.url},${b.url}`, 60);
    a.faults.set("*", { delayMs: 120_000 });
    for (let i = 0; i < 2; i++) expect((await timed(`${mirror.url}/${LIST}`)).status).toBe(502);
    for (let i = 0; i < 3; i++) {
      const fast = await timed(`${mirror.url}/${LIST}`);
      expect(fast.status).toBe(502);
      expect(fast.body).toContain(`${a.url}: skipped after 2 failures within 60s`);
      expect(fast.ms).toBeLessThan(FAST_MS);
    }
    expect(b.requests).toEqual([]);
  }, 60_000);
});
