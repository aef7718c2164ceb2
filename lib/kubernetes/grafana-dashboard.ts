import { ConfigMapV1 } from "@cdktf/provider-kubernetes/lib/config-map-v1";
import type { Construct } from "constructs";
import type { MonitoringContext } from "./monitoring";
import { checkDnsLabel, checkLabels, fail } from "./validation";

/**
 * A Grafana dashboard as a ConfigMap, for Grafana's dashboard sidecar (kube-prometheus-stack's
 * grafana chart runs one): the sidecar loads every ConfigMap that carries its label.
 */
export interface GrafanaDashboardOptions {
  /**
   * Namespace of the ConfigMap: the one the sidecar watches (with `searchNamespace: ALL` any).
   * @default the mirror's namespace
   */
  readonly namespace?: string;
  /**
   * Labels the sidecar selects dashboards by (its `label` and `labelValue`).
   * @default { grafana_dashboard: "1" }
   */
  readonly labels?: Record<string, string>;
  /**
   * Grafana folder, as the `grafana_folder` annotation (the sidecar's `folderAnnotation`).
   * @default no annotation: the sidecar's default folder
   */
  readonly folder?: string;
  /** @default "gomirror <namespace>/<name>" */
  readonly title?: string;
}

export function checkGrafanaDashboardOptions(o: GrafanaDashboardOptions): void {
  if (o.namespace !== undefined) checkDnsLabel(o.namespace, "monitoring.grafanaDashboard.namespace");
  if (o.labels !== undefined) {
    checkLabels(o.labels, "monitoring.grafanaDashboard.labels");
    if (Object.keys(o.labels).length === 0) {
      fail(
        'monitoring.grafanaDashboard.labels is empty; the sidecar finds dashboards by a label, e.g. { grafana_dashboard: "1" }',
      );
    }
  }
  for (const [what, value] of [
    ["folder", o.folder],
    ["title", o.title],
  ] as const) {
    if (value !== undefined && (value.trim() === "" || /[\0-\x1f]/.test(value))) {
      fail(
        `monitoring.grafanaDashboard.${what} ${JSON.stringify(value)} is empty or holds a control character`,
      );
    }
  }
}

interface Panel {
  readonly title: string;
  readonly unit: string;
  readonly targets: readonly { readonly expr: string; readonly legend: string }[];
  readonly description?: string;
  /** Value names for a state series, e.g. 0 -> "in use". */
  readonly mappings?: Readonly<Record<string, string>>;
}

/** The panels, three to a row; every series is selected by the mirror's namespace and job. */
function panels(sel: string): Panel[] {
  const rate = (metric: string, by = "") =>
    `sum${by ? ` by (${by})` : ""} (rate(${metric}{${sel}}[$__rate_interval]))`;
  const quantile = (q: number, metric: string, by: string) =>
    `histogram_quantile(${q}, sum by (le, ${by}) (rate(${metric}_bucket{${sel}}[$__rate_interval])))`;
  return [
    {
      title: "Requests by endpoint",
      unit: "reqps",
      targets: [{ expr: rate("gomirror_http_requests_total", "endpoint"), legend: "{{endpoint}}" }],
    },
    {
      title: "p95 latency by endpoint",
      unit: "s",
      description: "Until the last byte: zip downloads weigh in.",
      targets: [
        {
          expr: quantile(0.95, "gomirror_http_request_duration_seconds", "endpoint"),
          legend: "{{endpoint}}",
        },
      ],
    },
    {
      title: "5xx answers",
      unit: "percent",
      targets: [
        {
          expr: `100 * sum(rate(gomirror_http_requests_total{${sel},code=~"5.."}[$__rate_interval])) / ${rate("gomirror_http_requests_total")}`,
          legend: "5xx",
        },
      ],
    },
    {
      title: "Cache hit ratio by kind",
      unit: "percentunit",
      targets: [
        {
          expr:
            `${rate("gomirror_cache_hits_total", "kind")} / (${rate("gomirror_cache_hits_total", "kind")}` +
            ` + ${rate("gomirror_cache_misses_total", "kind")})`,
          legend: "{{kind}}",
        },
      ],
    },
    {
      title: "Upstream state",
      unit: "none",
      description: "GOMIRROR_UPSTREAM_MAX_FAILS failures within the fail window make an upstream skipped.",
      targets: [{ expr: `max by (upstream) (gomirror_upstream_state{${sel}})`, legend: "{{upstream}}" }],
      mappings: { "0": "in use", "1": "probing", "2": "skipped" },
    },
    {
      title: "Upstream errors and skipped requests",
      unit: "reqps",
      targets: [
        { expr: rate("gomirror_upstream_errors_total", "upstream"), legend: "errors {{upstream}}" },
        { expr: rate("gomirror_upstream_skipped_total", "upstream"), legend: "skipped {{upstream}}" },
      ],
    },
    {
      title: "p95 upstream latency",
      unit: "s",
      targets: [
        {
          expr: quantile(0.95, "gomirror_upstream_request_duration_seconds", "upstream"),
          legend: "{{upstream}}",
        },
      ],
    },
    {
      title: "Checksum mismatches",
      unit: "short",
      description:
        "Downloads refused because they differ from the checksum database: an upstream served tampered content.",
      targets: [
        {
          expr: `sum(increase(gomirror_checksum_mismatches_total{${sel}}[$__rate_interval]))`,
          legend: "mismatches",
        },
      ],
    },
    {
      title: "Disk store",
      unit: "bytes",
      description: "With GOMIRROR_DISK_MAX set: bytes stored and the limit.",
      targets: [
        { expr: `max(gomirror_storage_bytes{${sel}})`, legend: "stored" },
        { expr: `max(gomirror_storage_limit_bytes{${sel}})`, legend: "limit" },
      ],
    },
    {
      title: "Evicted zips",
      unit: "short",
      targets: [
        { expr: `sum(increase(gomirror_storage_evictions_total{${sel}}[$__rate_interval]))`, legend: "zips" },
      ],
    },
    {
      title: "Spool in use",
      unit: "bytes",
      description:
        "Downloads being spooled and checked before they are stored (bounded by GOMIRROR_SPOOL_MAX).",
      targets: [{ expr: `sum by (pod) (gomirror_spool_bytes{${sel}})`, legend: "{{pod}}" }],
    },
  ];
}

/** The dashboard JSON model (Grafana's schema), on a Prometheus data source chosen in the dashboard. */
export function goMirrorDashboard(ctx: MonitoringContext, title: string): Record<string, unknown> {
  const sel = `namespace="${ctx.namespaceName}",job="${ctx.serviceName}"`;
  const datasource = { type: "prometheus", uid: "${datasource}" };
  return {
    title,
    uid: `gomirror-${ctx.namespaceName}-${ctx.name}`.slice(0, 40),
    tags: ["gomirror", "go"],
    timezone: "utc",
    schemaVersion: 39,
    refresh: "1m",
    time: { from: "now-6h", to: "now" },
    templating: {
      list: [
        { name: "datasource", label: "Data source", type: "datasource", query: "prometheus", current: {} },
      ],
    },
    panels: panels(sel).map((p, i) => ({
      id: i + 1,
      type: "timeseries",
      title: p.title,
      ...(p.description ? { description: p.description } : {}),
      datasource,
      gridPos: { x: (i % 3) * 8, y: Math.floor(i / 3) * 8, w: 8, h: 8 },
      fieldConfig: {
        defaults: {
          unit: p.unit,
          ...(p.mappings
            ? {
                mappings: [
                  {
                    type: "value",
                    options: Object.fromEntries(Object.entries(p.mappings).map(([v, text]) => [v, { text }])),
                  },
                ],
              }
            : {}),
        },
        overrides: [],
      },
      targets: p.targets.map((t, j) => ({
        refId: String.fromCharCode(65 + j),
        datasource,
        expr: t.expr,
        legendFormat: t.legend,
      })),
    })),
  };
}

/**
 * Text that Terraform must take as it is: Grafana's `${datasource}` would otherwise be read as a
 * Terraform interpolation (and `%{` as a directive). Terraform writes the literal back unescaped.
 */
function terraformLiteral(text: string): string {
  return text.replace(/\$\{/g, () => "$${").replace(/%\{/g, () => "%%{");
}

export function createGrafanaDashboard(
  scope: Construct,
  o: GrafanaDashboardOptions,
  ctx: MonitoringContext,
): ConfigMapV1 {
  const title = o.title ?? `gomirror ${ctx.namespaceName}/${ctx.name}`;
  return new ConfigMapV1(scope, "GrafanaDashboard", {
    metadata: {
      name: `${ctx.name}-dashboard`,
      namespace: o.namespace ?? ctx.namespace,
      labels: { ...ctx.labels, ...(o.labels ?? { grafana_dashboard: "1" }) },
      annotations: o.folder !== undefined ? { grafana_folder: o.folder } : undefined,
    },
    data: { [`gomirror-${ctx.name}.json`]: terraformLiteral(JSON.stringify(goMirrorDashboard(ctx, title))) },
  });
}
