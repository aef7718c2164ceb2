import { ProxyError } from "../../../lib/proxy/errors";
import { ProxyMetrics } from "../../../lib/proxy/metrics";
import { UpstreamBreaker, type BreakerOptions } from "../../../lib/proxy/sources/breaker";
import { ProxyChainSource } from "../../../lib/proxy/sources/chain";
import type { Download } from "../../../lib/proxy/sources/source";
import { brokenDownload, FakeSource, readStream } from "../../support/fake-source";
import { LogCapture } from "../../support/log-capture";

const M = "example.test/m";
const LABEL = "https://a.example.test";

/** A fake upstream and its breaker, driven by a clock the test moves by hand. */
function setup(options: Partial<BreakerOptions> = {}) {
  let now = 1_000_000;
  const upstream = new FakeSource({
    [M]: { versions: ["v1.0.0"], mods: { "v1.0.0": "module example.test/m\n" } },
  });
  const metrics = new ProxyMetrics();
  const logs = new LogCapture();
  const breaker = new UpstreamBreaker(upstream, {
    label: LABEL,
    maxFails: 3,
    failWindowMs: 30_000,
    failTimeoutMs: 30_000,
    now: () => now,
    metrics,
    logger: logs.logger,
    ...options,
  });
  return {
    upstream,
    breaker,
    metrics,
    logs,
    advance: (ms: number) => (now += ms),
    fail: () => (upstream.failure = new ProxyError("upstream", `${LABEL}/x: timed out`)),
    heal: () => (upstream.failure = undefined),
    /** One list request; its error, or undefined when it succeeded. */
    attempt: () =>
      breaker.list(M).then(
        () => undefined,
        (err: unknown) => err as ProxyError,
      ),
    gauge: async () =>
      (await metrics.upstreamState.get()).values.find((v) => v.labels.upstream === LABEL)?.value,
    trips: async () =>
      (await metrics.upstreamTrips.get()).values.find((v) => v.labels.upstream === LABEL)?.value,
    skipped: async () =>
      (await metrics.upstreamSkipped.get()).values.find((v) => v.labels.upstream === LABEL)?.value ?? 0,
  };
}

describe("UpstreamBreaker: skipping an upstream that keeps failing", () => {
  it("passes everything through while the upstream is healthy", async () => {
    const t = setup();
    await expect(t.breaker.list(M)).resolves.toEqual(["v1.0.0"]);
    await expect(t.breaker.mod(M, "v1.0.0")).resolves.toEqual(Buffer.from("module example.test/m\n"));
    expect(t.breaker.state).toBe("closed");
    expect(await t.gauge()).toBe(0);
  });

  it("skips the upstream after max fails within the window, without asking it", async () => {
    const t = setup();
    t.fail();
    for (let i = 0; i < 3; i++) {
      expect(await t.attempt()).toMatchObject({ kind: "upstream", message: `${LABEL}/x: timed out` });
      t.advance(1000);
    }
    expect(t.breaker.state).toBe("open");
    const asked = t.upstream.calls.length;
    const err = await t.attempt();
    expect(err).toBeInstanceOf(ProxyError);
    expect(err).toMatchObject({ kind: "upstream" });
    expect(err!.message).toBe(`${LABEL}: skipped after 3 failures within 30s; tried again in 29s`);
    expect(t.upstream.calls.length).toBe(asked);
    expect(await t.gauge()).toBe(2);
    expect(await t.skipped()).toBe(1);
  });

  it("forgets failures older than the window", async () => {
    const t = setup();
    t.fail();
    await t.attempt();
    await t.attempt();
    t.advance(30_001);
    await t.attempt();
    expect(t.breaker.state).toBe("closed");
    await t.attempt();
    expect(t.breaker.state).toBe("closed");
    await t.attempt();
    expect(t.breaker.state).toBe("open");
  });

  it("never counts not found, a refused path or an oversized zip as failures", async () => {
    const t = setup();
    for (const err of [
      new ProxyError("not-found", "not found: example.test/m@v9.9.9"),
      new ProxyError("invalid", "bad path"),
      new ProxyError("too-large", "zip too large"),
    ]) {
      t.upstream.failure = err;
      for (let i = 0; i < 3; i++) await t.attempt();
    }
    expect(t.breaker.state).toBe("closed");
    expect(await t.skipped()).toBe(0);
  });

  it("counts an error that is no ProxyError (a bug, a socket error) as a failure", async () => {
    const t = setup({ maxFails: 1 });
    t.upstream.failure = new Error("ECONNRESET");
    await t.attempt();
    expect(t.breaker.state).toBe("open");
  });

  it("after the timeout lets exactly one probe through; others stay skipped until it answers", async () => {
    const t = setup();
    t.fail();
    for (let i = 0; i < 3; i++) await t.attempt();
    t.advance(29_999);
    expect(await t.attempt()).toMatchObject({ message: expect.stringContaining("tried again in 1s") });
    t.advance(1);
    t.heal();
    let release!: () => void;
    t.upstream.gate = new Promise((resolve) => (release = resolve));
    const asked = t.upstream.calls.length;
    const probe = t.breaker.list(M);
    expect(t.breaker.state).toBe("half-open");
    expect(await t.gauge()).toBe(1);
    const meanwhile = await t.attempt();
    expect(meanwhile!.message).toBe(
      `${LABEL}: skipped after 3 failures within 30s; a probe request is checking whether it is back`,
    );
    expect(t.upstream.calls.length).toBe(asked + 1);
    release();
    await expect(probe).resolves.toEqual(["v1.0.0"]);
    expect(t.breaker.state).toBe("closed");
    expect(await t.gauge()).toBe(0);
    expect(await t.attempt()).toBeUndefined();
  });

  it("a failed probe skips the upstream for another timeout, a not-found probe ends the skipping", async () => {
    const t = setup();
    expect(await t.trips()).toBe(0);
    t.fail();
    for (let i = 0; i < 3; i++) await t.attempt();
    t.advance(30_000);
    await t.attempt(); // the probe, failing
    expect(t.breaker.state).toBe("open");
    expect(await t.trips()).toBe(2);
    t.advance(29_000);
    expect((await t.attempt())!.message).toContain("tried again in 1s");
    t.advance(1000);
    t.upstream.failure = new ProxyError("not-found", "not found");
    await t.attempt();
    expect(t.breaker.state).toBe("closed");
  });

  it("after closing again needs max fails anew", async () => {
    const t = setup();
    t.fail();
    for (let i = 0; i < 3; i++) await t.attempt();
    t.advance(30_000);
    t.heal();
    await t.attempt();
    t.fail();
    await t.attempt();
    await t.attempt();
    expect(t.breaker.state).toBe("closed");
    await t.attempt();
    expect(t.breaker.state).toBe("open");
  });

  it("with max fails 0 never skips", async () => {
    const t = setup({ maxFails: 0 });
    t.fail();
    for (let i = 0; i < 10; i++) await t.attempt();
    expect(t.breaker.state).toBe("closed");
    expect(t.upstream.count("list")).toBe(10);
  });

  it("counts a zip body that breaks off after a good start", async () => {
    const t = setup({ maxFails: 2 });
    const good = Buffer.alloc(1000, 1);
    t.upstream.zip = (): Promise<Download> => Promise.resolve(brokenDownload(good.subarray(0, 10), 1000));
    for (let i = 0; i < 2; i++) {
      const download = await t.breaker.zip(M, "v1.0.0");
      await expect(readStream(download.body)).rejects.toMatchObject({ kind: "upstream" });
    }
    expect(t.breaker.state).toBe("open");
    await expect(t.breaker.zip(M, "v1.0.0")).rejects.toMatchObject({
      message: expect.stringContaining("skipped after 2 failures"),
    });
  });

  it("logs every change of state, with the upstream's label only", async () => {
    const t = setup({ maxFails: 1 });
    t.fail();
    await t.attempt();
    t.advance(30_000);
    t.heal();
    await t.attempt();
    expect(t.logs.events("upstream_state")).toEqual([
      expect.objectContaining({ upstream: LABEL, state: "open", previous: "closed", level: 40 }),
      expect.objectContaining({ upstream: LABEL, state: "half-open", previous: "open", level: 30 }),
      expect.objectContaining({ upstream: LABEL, state: "closed", previous: "half-open", level: 30 }),
    ]);
  });
});

describe("UpstreamBreaker in a GOPROXY chain: a skip is the failure it stands for", () => {
  const skippedFirst = async (fallBackOnError: boolean) => {
    const t = setup({ maxFails: 1 });
    t.fail();
    await t.attempt();
    const next = new FakeSource({ [M]: { versions: ["v2.0.0"] } });
    const chain = new ProxyChainSource([
      { source: t.breaker, fallBackOnError },
      { source: next, fallBackOnError: false },
    ]);
    return { chain, next, t };
  };

  it("after `,` the chain stops with the skip, and the next entry is never asked", async () => {
    const { chain, next } = await skippedFirst(false);
    await expect(chain.list(M)).rejects.toMatchObject({
      kind: "upstream",
      message: expect.stringContaining("skipped after 1 failures"),
    });
    expect(next.calls).toEqual([]);
  });

  it("after `|` the next entry answers at once", async () => {
    const { chain, next, t } = await skippedFirst(true);
    const asked = t.upstream.calls.length;
    await expect(chain.list(M)).resolves.toEqual(["v2.0.0"]);
    expect(next.count("list")).toBe(1);
    expect(t.upstream.calls.length).toBe(asked);
  });
});
