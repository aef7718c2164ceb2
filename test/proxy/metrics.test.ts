import { Histogram, Registry } from "prom-client";
import { EndpointHistogram, ProxyMetrics } from "../../lib/proxy/metrics";

describe("EndpointHistogram", () => {
  it("exports exactly what prom-client's Histogram exports for the same observations", async () => {
    const buckets = [0.001, 0.01, 0.1, 1];
    const ours = new Registry();
    const theirs = new Registry();
    const h = new EndpointHistogram("x_seconds", "help text", buckets, ours);
    const ref = new Histogram({
      name: "x_seconds",
      help: "help text",
      labelNames: ["endpoint"],
      buckets,
      registers: [theirs],
    });
    const observations: [string, number][] = [
      ["info", 0.0004],
      ["info", 0.001],
      ["info", 0.05],
      ["zip", 3],
      ["mod", 0.2],
      ["info", 0.0011],
    ];
    for (const [endpoint, v] of observations) {
      h.observe(endpoint, v);
      ref.observe({ endpoint }, v);
    }
    expect(await ours.metrics()).toBe(await theirs.metrics());
    h.reset();
    ref.reset();
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });
});

describe("ProxyMetrics", () => {
  it("adds the requests and hits counted on the hot path to the exported counters", async () => {
    const m = new ProxyMetrics();
    m.recordRequest("info", 200, 0.002, 50);
    m.recordRequest("info", 200, 0.002, 50);
    m.recordRequest("zip", 404, 0.002, 0);
    m.recordHit("info");
    const text = await m.registry.metrics();
    expect(text).toContain('gomirror_http_requests_total{endpoint="info",code="200"} 2');
    expect(text).toContain('gomirror_http_requests_total{endpoint="zip",code="404"} 1');
    expect(text).toContain('gomirror_bytes_served_total{kind="info"} 100');
    expect(text).not.toContain('gomirror_bytes_served_total{kind="zip"}');
    expect(text).toContain('gomirror_cache_hits_total{kind="info"} 1');
    expect(text).toContain('gomirror_http_request_duration_seconds_count{endpoint="info"} 2');
    // Counted once: a second read adds nothing new.
    m.recordRequest("info", 200, 0.002, 50);
    const again = await m.registry.metrics();
    expect(again).toContain('gomirror_http_requests_total{endpoint="info",code="200"} 3');
    expect(again).toContain('gomirror_bytes_served_total{kind="info"} 150');
    expect(again).toContain('gomirror_cache_hits_total{kind="info"} 1');
  });
});
