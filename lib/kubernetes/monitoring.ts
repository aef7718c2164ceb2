import { Manifest } from "@cdktf/provider-kubernetes/lib/manifest";
import type { ITerraformDependable } from "cdktf";
import type { Construct } from "constructs";
import { METRICS_PATH } from "../image-contract";
import { checkGrafanaDashboardOptions, type GrafanaDashboardOptions } from "./grafana-dashboard";
import { checkDnsLabel, checkInteger, checkLabels, checkPrometheusDuration, fail } from "./validation";

/**
 * Prometheus Operator objects: a ServiceMonitor that scrapes `/metrics` and a PrometheusRule
 * with the same alarms the AWS construct raises. Both are custom resources, created through
 * `kubernetes_manifest`, so their CRDs must be installed before `terraform plan`. Optionally a
 * Grafana dashboard beside them (a plain ConfigMap).
 */
export interface MonitoringOptions {
  /** @default true */
  readonly serviceMonitor?: boolean;
  /** @default true */
  readonly prometheusRule?: boolean;
  /**
   * Labels your Prometheus selects ServiceMonitors and rules by, e.g. `{ release: "kube-prometheus-stack" }`.
   * @default none
   */
  readonly labels?: Record<string, string>;
  /** @default "30s" */
  readonly scrapeInterval?: string;
  /**
   * Namespace Prometheus runs in; the NetworkPolicy lets it scrape the proxy port.
   * @default "monitoring"
   */
  readonly prometheusNamespace?: string;
  /** @default see PrometheusAlertThresholds */
  readonly alertThresholds?: PrometheusAlertThresholds;
  /**
   * Extra labels on every alert, for routing in Alertmanager (e.g. `{ team: "platform" }`).
   * @default none
   */
  readonly alertLabels?: Record<string, string>;
  /**
   * A Grafana dashboard (a ConfigMap for Grafana's dashboard sidecar): requests and latency by
   * endpoint, cache hit ratio, upstream state and errors, checksum mismatches, disk store and
   * evictions, spool use.
   * @default no dashboard
   */
  readonly grafanaDashboard?: GrafanaDashboardOptions;
}

/**
 * When the alerts fire. Names and defaults follow the AWS construct's alarm thresholds, so a
 * team running both sees the same limits.
 */
export interface PrometheusAlertThresholds {
  /**
   * 5xx answers as a percentage of requests over 5 minutes, sustained for 3 minutes.
   * @default 5
   */
  readonly http5xxRatePercent?: number;
  /**
   * p95 request latency in seconds over 5 minutes, sustained for 3 minutes. `.zip` answers
   * stream, and the histogram measures until the last byte, so large modules weigh in.
   * @default 2
   */
  readonly latencyP95Seconds?: number;
  /**
   * Failed upstream requests (proxies, git, checksum database) per 5 minutes, per upstream.
   * At or above fires.
   * @default 10
   */
  readonly upstreamErrorsPer5Minutes?: number;
  /**
   * Times an upstream was skipped after repeated failures (GOMIRROR_UPSTREAM_MAX_FAILS), per
   * 5 minutes, per upstream. At or above fires.
   * @default 1
   */
  readonly upstreamSkipsPer5Minutes?: number;
  /**
   * Checksum mismatches per 5 minutes; one suffices, as it means an upstream served content
   * that differs from the checksum database. At or above fires.
   * @default 1
   */
  readonly checksumMismatchesPer5Minutes?: number;
}

/** One Prometheus alerting rule, as PrometheusRule's `spec.groups[].rules[]` holds it. */
export interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly for: string;
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
}

export interface MonitoringContext {
  readonly name: string;
  /** For `metadata.namespace`: may be a token, so the objects wait for a created namespace. */
  readonly namespace: string;
  /** The namespace as plain text, for PromQL selectors. */
  readonly namespaceName: string;
  readonly labels: Record<string, string>;
  readonly selector: Record<string, string>;
  /** The Service the ServiceMonitor selects; Prometheus sets `job` to its name. */
  readonly serviceName: string;
}

/** What the ServiceMonitor needs beyond the shared context: the Service port serving `/metrics`. */
export interface ServiceMonitorContext extends MonitoringContext {
  readonly portName: string;
}

export function checkMonitoringOptions(o: MonitoringOptions): void {
  if (o.grafanaDashboard !== undefined) checkGrafanaDashboardOptions(o.grafanaDashboard);
  if (o.labels !== undefined) checkLabels(o.labels, "monitoring.labels");
  if (o.alertLabels !== undefined) checkLabels(o.alertLabels, "monitoring.alertLabels");
  if (o.scrapeInterval !== undefined) checkPrometheusDuration(o.scrapeInterval, "monitoring.scrapeInterval");
  if (o.prometheusNamespace !== undefined)
    checkDnsLabel(o.prometheusNamespace, "monitoring.prometheusNamespace");
  const t = o.alertThresholds ?? {};
  if (t.http5xxRatePercent !== undefined && !(t.http5xxRatePercent > 0 && t.http5xxRatePercent <= 100)) {
    fail(
      `monitoring.alertThresholds.http5xxRatePercent is ${t.http5xxRatePercent}; want a percentage above 0, up to 100`,
    );
  }
  if (t.latencyP95Seconds !== undefined && !(t.latencyP95Seconds > 0)) {
    fail(
      `monitoring.alertThresholds.latencyP95Seconds is ${t.latencyP95Seconds}; want a positive number of seconds`,
    );
  }
  if (t.upstreamSkipsPer5Minutes !== undefined) {
    checkInteger(t.upstreamSkipsPer5Minutes, "monitoring.alertThresholds.upstreamSkipsPer5Minutes", 1);
  }
  if (t.upstreamErrorsPer5Minutes !== undefined) {
    checkInteger(t.upstreamErrorsPer5Minutes, "monitoring.alertThresholds.upstreamErrorsPer5Minutes", 1);
  }
  if (t.checksumMismatchesPer5Minutes !== undefined) {
    checkInteger(
      t.checksumMismatchesPer5Minutes,
      "monitoring.alertThresholds.checksumMismatchesPer5Minutes",
      1,
    );
  }
}

/**
 * The alerting rules, each matching one of the AWS construct's alarms: 5xx rate, p95 latency,
 * upstream failures, upstreams skipped, checksum mismatches, and targets down (the load
 * balancer's unhealthy hosts); and a disk store that stays over GOMIRROR_DISK_MAX.
 */
export function goMirrorAlertRules(ctx: MonitoringContext, o: MonitoringOptions = {}): AlertRule[] {
  const t = o.alertThresholds ?? {};
  const errorPercent = t.http5xxRatePercent ?? 5;
  const latency = t.latencyP95Seconds ?? 2;
  const upstreamErrors = t.upstreamErrorsPer5Minutes ?? 10;
  const upstreamSkips = t.upstreamSkipsPer5Minutes ?? 1;
  const mismatches = t.checksumMismatchesPer5Minutes ?? 1;
  const sel = `namespace="${ctx.namespaceName}",job="${ctx.serviceName}"`;
  const labels = (severity: string): Record<string, string> => ({ ...(o.alertLabels ?? {}), severity });
  return [
    {
      alert: "GoMirrorHigh5xxRate",
      expr:
        `100 * sum(rate(gomirror_http_requests_total{${sel},code=~"5.."}[5m]))` +
        ` / sum(rate(gomirror_http_requests_total{${sel}}[5m])) > ${errorPercent}`,
      for: "3m",
      labels: labels("warning"),
      annotations: {
        summary: "gomirror answers too many requests with 5xx",
        description: `More than ${errorPercent}% of requests failed with a server error.`,
      },
    },
    {
      alert: "GoMirrorHighLatencyP95",
      expr:
        `histogram_quantile(0.95, sum by (le) (rate(gomirror_http_request_duration_seconds_bucket{${sel}}[5m])))` +
        ` > ${latency}`,
      for: "3m",
      labels: labels("warning"),
      annotations: {
        summary: "gomirror is slow",
        description: `p95 request latency is above ${latency}s.`,
      },
    },
    {
      alert: "GoMirrorUpstreamFailures",
      expr: `sum by (upstream) (increase(gomirror_upstream_errors_total{${sel}}[5m])) >= ${upstreamErrors}`,
      for: "5m",
      labels: labels("warning"),
      annotations: {
        summary: "gomirror cannot reach an upstream",
        description: `At least ${upstreamErrors} requests to upstream {{ $labels.upstream }} failed within 5 minutes.`,
      },
    },
    {
      alert: "GoMirrorUpstreamSkipped",
      expr: `sum by (upstream) (increase(gomirror_upstream_trips_total{${sel}}[5m])) >= ${upstreamSkips}`,
      for: "0m",
      labels: labels("warning"),
      annotations: {
        summary: "gomirror skips a failing upstream",
        description:
          `Upstream {{ $labels.upstream }} was taken out of use at least ${upstreamSkips} time(s) within 5 minutes ` +
          "after repeated failures; requests go to the next GOPROXY entry (after |) or fail (after ,).",
      },
    },
    {
      alert: "GoMirrorChecksumMismatch",
      expr: `sum(increase(gomirror_checksum_mismatches_total{${sel}}[5m])) >= ${mismatches}`,
      for: "0m",
      labels: labels("critical"),
      annotations: {
        summary: "gomirror refused a module whose checksum did not match",
        description:
          "A module's hash differed from the checksum database: an upstream served tampered or rewritten " +
          "content. The proxy's logs have the details under event=checksum_mismatch.",
      },
    },
    {
      alert: "GoMirrorDiskOverLimit",
      expr:
        `max(gomirror_storage_bytes{${sel}}) > max(gomirror_storage_limit_bytes{${sel}})` +
        ` and max(gomirror_storage_limit_bytes{${sel}}) > 0`,
      for: "15m",
      labels: labels("warning"),
      annotations: {
        summary: "gomirror's disk store stays above GOMIRROR_DISK_MAX",
        description:
          "Eviction cannot bring the store under its limit: what is left is go.mod and .info files and zips " +
          "being read. Raise GOMIRROR_DISK_MAX (and the volume).",
      },
    },
    {
      alert: "GoMirrorTargetDown",
      expr: `up{${sel}} == 0`,
      for: "2m",
      labels: labels("warning"),
      annotations: {
        summary: "a gomirror pod cannot be scraped",
        description: "Prometheus cannot reach {{ $labels.pod }}.",
      },
    },
  ];
}

export function createServiceMonitor(
  scope: Construct,
  o: MonitoringOptions,
  ctx: ServiceMonitorContext,
  dependsOn: ITerraformDependable[] = [],
): Manifest {
  return new Manifest(scope, "ServiceMonitor", {
    dependsOn,
    manifest: {
      apiVersion: "monitoring.coreos.com/v1",
      kind: "ServiceMonitor",
      metadata: { name: ctx.name, namespace: ctx.namespace, labels: { ...ctx.labels, ...(o.labels ?? {}) } },
      spec: {
        selector: { matchLabels: ctx.selector },
        namespaceSelector: { matchNames: [ctx.namespaceName] },
        endpoints: [{ port: ctx.portName, path: METRICS_PATH, interval: o.scrapeInterval ?? "30s" }],
      },
    },
  });
}

export function createPrometheusRule(
  scope: Construct,
  o: MonitoringOptions,
  ctx: MonitoringContext,
): Manifest {
  return new Manifest(scope, "PrometheusRule", {
    manifest: {
      apiVersion: "monitoring.coreos.com/v1",
      kind: "PrometheusRule",
      metadata: { name: ctx.name, namespace: ctx.namespace, labels: { ...ctx.labels, ...(o.labels ?? {}) } },
      spec: { groups: [{ name: `gomirror.${ctx.name}`, rules: goMirrorAlertRules(ctx, o) }] },
    },
  });
}
