import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/**
 * The proxy's Prometheus metrics. Each proxy instance has its own registry so that several
 * instances (tests) never mix their counts. Names are part of the operator interface: the AWS
 * alarms and the Kubernetes PrometheusRule refer to them.
 */
export class ProxyMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: "gomirror_http_requests_total",
    help: "HTTP requests by endpoint and status code",
    labelNames: ["endpoint", "code"] as const,
    registers: [this.registry],
  });
  readonly requestDuration = new Histogram({
    name: "gomirror_http_request_duration_seconds",
    help: "Time to answer an HTTP request, by endpoint",
    labelNames: ["endpoint"] as const,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly cacheHits = new Counter({
    name: "gomirror_cache_hits_total",
    help: "Answers served from storage, by kind (info, mod, zip, list, latest, query)",
    labelNames: ["kind"] as const,
    registers: [this.registry],
  });
  readonly cacheMisses = new Counter({
    name: "gomirror_cache_misses_total",
    help: "Answers that needed a fetch from a source, by kind",
    labelNames: ["kind"] as const,
    registers: [this.registry],
  });
  readonly bytesServed = new Counter({
    name: "gomirror_bytes_served_total",
    help: "Response body bytes sent, by kind",
    labelNames: ["kind"] as const,
    registers: [this.registry],
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
    help: "Time until an upstream answered with headers, by upstream",
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
}
