import {
  Counter,
  Gauge,
  Histogram,
  Registry,
  collectDefaultMetrics,
  type Metric,
  type MetricObjectWithValues,
  type MetricValueWithName,
} from "prom-client";

/**
 * A histogram with one label, `endpoint`, in the format prom-client's own Histogram exports,
 * observed with an array lookup and two additions: prom-client's validates and hashes the
 * labels on every observation, a measurable share of the cost of a cached hit.
 */
export class EndpointHistogram {
  readonly type = "histogram";
  readonly aggregator = "sum";
  readonly labelNames: readonly string[] = ["endpoint"];
  private readonly series = new Map<string, { buckets: number[]; sum: number; count: number }>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly bounds: readonly number[],
    registry: Registry,
  ) {
    registry.registerMetric(this as unknown as Metric);
  }

  observe(endpoint: string, value: number): void {
    let series = this.series.get(endpoint);
    if (!series) {
      series = { buckets: this.bounds.map(() => 0), sum: 0, count: 0 };
      this.series.set(endpoint, series);
    }
    let i = 0;
    while (i < this.bounds.length && value > this.bounds[i]!) i++;
    if (i < this.bounds.length) series.buckets[i]!++;
    series.sum += value;
    series.count++;
  }

  get(): Promise<MetricObjectWithValues<MetricValueWithName<string>>> {
    const values: MetricValueWithName<string>[] = [];
    for (const [endpoint, s] of this.series) {
      let cumulative = 0;
      this.bounds.forEach((le, i) => {
        cumulative += s.buckets[i]!;
        values.push({ metricName: `${this.name}_bucket`, labels: { le, endpoint }, value: cumulative });
      });
      values.push(
        { metricName: `${this.name}_bucket`, labels: { le: "+Inf", endpoint }, value: s.count },
        { metricName: `${this.name}_sum`, labels: { endpoint }, value: s.sum },
        { metricName: `${this.name}_count`, labels: { endpoint }, value: s.count },
      );
    }
    // prom-client's declarations type `type` as a numeric enum and require `collect`; at run
    // time its registry prints `type` as given ("histogram"), as for its own histograms.
    const metric = { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
    return Promise.resolve(metric as unknown as MetricObjectWithValues<MetricValueWithName<string>>);
  }

  reset(): void {
    this.series.clear();
  }
}

/**
 * The proxy's Prometheus metrics. Each proxy instance has its own registry so that several
 * instances (tests) never mix their counts. Names are part of the operator interface: the AWS
 * alarms and the Kubernetes PrometheusRule refer to them.
 */
export class ProxyMetrics {
  readonly registry = new Registry();
  /**
   * Counts of the hot path, kept in plain maps (a lookup and an addition per request, where a
   * labelled prom-client counter validates and hashes its labels every time) and added to the
   * counters below whenever they are read.
   */
  private readonly requestTallies = new Map<string, Map<number, { requests: number; bytes: number }>>();
  private readonly hitTallies = new Map<string, number>();

  readonly requests = new Counter({
    name: "gomirror_http_requests_total",
    help: "HTTP requests by endpoint and status code",
    labelNames: ["endpoint", "code"] as const,
    registers: [this.registry],
    collect: () => this.flushRequests(),
  });
  readonly requestDuration = new EndpointHistogram(
    "gomirror_http_request_duration_seconds",
    "Time to answer an HTTP request, by endpoint",
    [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    this.registry,
  );
  readonly cacheHits = new Counter({
    name: "gomirror_cache_hits_total",
    help: "Answers served from storage, by kind (info, mod, zip, list, latest, query)",
    labelNames: ["kind"] as const,
    registers: [this.registry],
    collect: () => {
      for (const [kind, n] of this.hitTallies) if (n > 0) this.cacheHits.inc({ kind }, n);
      this.hitTallies.clear();
    },
  });
  readonly cacheMisses = new Counter({
    name: "gomirror_cache_misses_total",
    help: "Answers that needed a fetch from a source, by kind",
    labelNames: ["kind"] as const,
    registers: [this.registry],
  });
  readonly prefetches = new Counter({
    name: "gomirror_prefetches_total",
    help: "Background fetches of a version's other files after a cold .info or .mod (GOMIRROR_PREFETCH), by kind and outcome (fetched, present, skipped, dropped, not_found, failed)",
    labelNames: ["kind", "outcome"] as const,
    registers: [this.registry],
  });
  readonly cacheWriteFailures = new Counter({
    name: "gomirror_cache_write_failures_total",
    help: "Answers served but not stored because the storage refused them (full, read-only, unreachable), by kind",
    labelNames: ["kind"] as const,
    registers: [this.registry],
  });
  readonly spoolBytes = new Gauge({
    name: "gomirror_spool_bytes",
    help: "Bytes of spool space taken by downloads in progress (bounded by GOMIRROR_SPOOL_MAX)",
    registers: [this.registry],
  });
  readonly bytesServed = new Counter({
    name: "gomirror_bytes_served_total",
    help: "Response body bytes sent, by kind",
    labelNames: ["kind"] as const,
    registers: [this.registry],
    collect: () => this.flushRequests(),
  });
  readonly upstreamRequests = new Counter({
    name: "gomirror_upstream_requests_total",
    help: "Requests to upstream proxies, by upstream and outcome (ok, not_found, error)",
    labelNames: ["upstream", "outcome"] as const,
    registers: [this.registry],
  });
  readonly upstreamErrors = new Counter({
    name: "gomirror_upstream_errors_total",
    help: "Failed upstream requests (network errors, timeouts, 5xx, garbage), by upstream",
    labelNames: ["upstream"] as const,
    registers: [this.registry],
  });
  readonly upstreamDuration = new Histogram({
    name: "gomirror_upstream_request_duration_seconds",
    help: "Time an upstream took to answer (headers for zips, the whole body for small files), by upstream",
    labelNames: ["upstream"] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly checksumMismatches = new Counter({
    name: "gomirror_checksum_mismatches_total",
    help: "Modules refused because their hash disagreed with the checksum database",
    registers: [this.registry],
  });
  readonly authRequests = new Counter({
    name: "gomirror_auth_requests_total",
    help:
      "Requests through the access gate, by token name ((none): no token accepted and none refused, " +
      "(invalid): refused credentials) and outcome (ok, unauthenticated, forbidden, rate_limited)",
    labelNames: ["token", "outcome"] as const,
    registers: [this.registry],
  });
  readonly upstreamState = new Gauge({
    name: "gomirror_upstream_state",
    help: "Health of each upstream in the GOPROXY list: 0 in use, 1 one probe request in flight, 2 skipped after repeated failures",
    labelNames: ["upstream"] as const,
    registers: [this.registry],
  });
  readonly upstreamTrips = new Counter({
    name: "gomirror_upstream_trips_total",
    help: "Times an upstream was taken out of use after repeated failures (each starts a fail timeout), by upstream",
    labelNames: ["upstream"] as const,
    registers: [this.registry],
  });
  readonly upstreamSkipped = new Counter({
    name: "gomirror_upstream_skipped_total",
    help: "Requests not sent to an upstream because it is skipped after repeated failures (each counts as that upstream failing), by upstream",
    labelNames: ["upstream"] as const,
    registers: [this.registry],
  });
  readonly storageBytes = new Gauge({
    name: "gomirror_storage_bytes",
    help: "Bytes the disk store holds, kept while GOMIRROR_DISK_MAX is set",
    registers: [this.registry],
  });
  readonly storageLimitBytes = new Gauge({
    name: "gomirror_storage_limit_bytes",
    help: "GOMIRROR_DISK_MAX: past it the least recently served zips are removed",
    registers: [this.registry],
  });
  readonly storageEvictions = new Counter({
    name: "gomirror_storage_evictions_total",
    help: "Zips removed from the disk store to stay under GOMIRROR_DISK_MAX",
    registers: [this.registry],
  });
  readonly storageEvictedBytes = new Counter({
    name: "gomirror_storage_evicted_bytes_total",
    help: "Bytes of the zips removed to stay under GOMIRROR_DISK_MAX",
    registers: [this.registry],
  });

  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics) collectDefaultMetrics({ register: this.registry, prefix: "gomirror_" });
  }

  /** Counts a finished HTTP request: requests by endpoint and code, its duration, body bytes. */
  recordRequest(endpoint: string, status: number, seconds: number, bytes: number): void {
    let byStatus = this.requestTallies.get(endpoint);
    if (!byStatus) this.requestTallies.set(endpoint, (byStatus = new Map()));
    const tally = byStatus.get(status);
    if (tally) {
      tally.requests++;
      tally.bytes += bytes;
    } else byStatus.set(status, { requests: 1, bytes });
    this.requestDuration.observe(endpoint, seconds);
  }

  /** Counts an answer served from the cache, by kind (info, mod, zip, list, latest, query). */
  recordHit(kind: string): void {
    this.hitTallies.set(kind, (this.hitTallies.get(kind) ?? 0) + 1);
  }

  private flushRequests(): void {
    for (const [endpoint, byStatus] of this.requestTallies) {
      for (const [status, tally] of byStatus) {
        if (tally.requests > 0) this.requests.inc({ endpoint, code: String(status) }, tally.requests);
        if (tally.bytes > 0) this.bytesServed.inc({ kind: endpoint }, tally.bytes);
      }
    }
    this.requestTallies.clear();
  }
}
