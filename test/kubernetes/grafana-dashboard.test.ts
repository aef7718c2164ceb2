import { Counter, Gauge, Histogram } from "prom-client";
import { EndpointHistogram, ProxyMetrics } from "../../lib/proxy/metrics";
import { type Json, only, resources, synth } from "./synth";

/** The dashboard as Terraform writes it to the cluster: `$${` in the Terraform JSON is a literal `${`. */
const dashboardOf = (tf: Json): { map: Json; model: Json } => {
  const map = only(tf, "kubernetes_config_map_v1");
  const [json] = Object.values(map.data as Record<string, string>);
  return { map, model: JSON.parse(json!.replace(/\$\$\{/g, "${")) };
};

describe("Grafana dashboard", () => {
  it("is opt-in", () => {
    expect(resources(synth({ monitoring: {} }).tf, "kubernetes_config_map_v1")).toEqual({});
    expect(resources(synth().tf, "kubernetes_config_map_v1")).toEqual({});
  });

  const { tf } = synth({ monitoring: { grafanaDashboard: {} } });
  const { map, model } = dashboardOf(tf);

  it("escapes Grafana's ${datasource} so that Terraform does not read it as an interpolation", () => {
    const [json] = Object.values(map.data as Record<string, string>);
    expect(json).toContain('"uid":"$${datasource}"');
    expect(json).not.toMatch(/(^|[^$])\$\{/);
  });

  it("is a ConfigMap beside the mirror with the label Grafana's sidecar watches", () => {
    expect(map.metadata.name).toBe("gomirror-dashboard");
    expect(map.metadata.namespace).toBe(
      "${kubernetes_namespace_v1.Mirror_Namespace_04E3C5D8.metadata[0].name}",
    );
    expect(map.metadata.labels).toEqual(
      expect.objectContaining({ grafana_dashboard: "1", "app.kubernetes.io/name": "gomirror" }),
    );
    expect(map.metadata.annotations).toBeUndefined();
    expect(Object.keys(map.data)).toEqual(["gomirror-gomirror.json"]);
    expect(model).toMatchObject({ title: "gomirror gomirror/gomirror", uid: "gomirror-gomirror-gomirror" });
  });

  it("shows requests, latency, cache, upstreams, checksums, disk and spool", () => {
    expect(model.panels.map((p: Json) => p.title)).toEqual([
      "Requests by endpoint",
      "p95 latency by endpoint",
      "5xx answers",
      "Cache hit ratio by kind",
      "Upstream state",
      "Upstream errors and skipped requests",
      "p95 upstream latency",
      "Checksum mismatches",
      "Disk store",
      "Evicted zips",
      "Spool in use",
    ]);
    const state = model.panels.find((p: Json) => p.title === "Upstream state");
    expect(state.fieldConfig.defaults.mappings[0].options).toEqual({
      "0": { text: "in use" },
      "1": { text: "probing" },
      "2": { text: "skipped" },
    });
    // Three panels to a row, none overlapping.
    const cells = model.panels.map((p: Json) => `${p.gridPos.x},${p.gridPos.y}`);
    expect(new Set(cells).size).toBe(cells.length);
  });

  it("selects this mirror's series only, on the data source the dashboard's variable names", () => {
    for (const panel of model.panels) {
      expect(panel.datasource).toEqual({ type: "prometheus", uid: "${datasource}" });
      for (const target of panel.targets) {
        for (const [, , matchers] of (target.expr as string).matchAll(/([a-z_]+)\{([^}]*)\}/g)) {
          expect([panel.title, matchers]).toEqual([
            panel.title,
            expect.stringContaining(`namespace="gomirror",job="gomirror"`),
          ]);
        }
      }
    }
    expect(model.templating.list).toEqual([
      expect.objectContaining({ name: "datasource", query: "prometheus" }),
    ]);
  });

  it("uses only series the proxy exports", () => {
    const known = new Set<string>();
    for (const value of Object.values(new ProxyMetrics())) {
      const histogram = value instanceof Histogram || value instanceof EndpointHistogram;
      if (!(value instanceof Counter || value instanceof Gauge || histogram)) continue;
      const { name } = value as unknown as { name: string };
      known.add(histogram ? `${name}_bucket` : name);
    }
    for (const panel of model.panels) {
      for (const target of panel.targets) {
        for (const [, metric] of (target.expr as string).matchAll(/([a-z_]+)\{/g)) {
          expect([panel.title, metric, known.has(metric!)]).toEqual([panel.title, metric, true]);
        }
      }
    }
  });

  it("takes another namespace, the sidecar's own label, a folder and a title", () => {
    const { map: custom, model: customModel } = dashboardOf(
      synth({
        name: "mirror-b",
        monitoring: {
          prometheusRule: false,
          serviceMonitor: false,
          grafanaDashboard: {
            namespace: "monitoring",
            labels: { "grafana-dashboards": "platform" },
            folder: "Go",
            title: "Go modules",
          },
        },
      }).tf,
    );
    expect(custom.metadata).toMatchObject({
      name: "mirror-b-dashboard",
      namespace: "monitoring",
      annotations: { grafana_folder: "Go" },
    });
    expect(custom.metadata.labels).toEqual(expect.objectContaining({ "grafana-dashboards": "platform" }));
    expect(custom.metadata.labels).not.toHaveProperty("grafana_dashboard");
    expect(customModel.title).toBe("Go modules");
    expect(customModel.panels[0].targets[0].expr).toContain(`namespace="gomirror",job="mirror-b"`);
  });

  it.each([
    [
      { namespace: "Monitoring" },
      /monitoring.grafanaDashboard.namespace "Monitoring" is not a valid Kubernetes name/,
    ],
    [{ labels: {} }, /monitoring.grafanaDashboard.labels is empty/],
    [{ labels: { "bad key!": "1" } }, /monitoring.grafanaDashboard.labels/],
    [{ folder: " " }, /monitoring.grafanaDashboard.folder " " is empty/],
  ])("refuses %j", (grafanaDashboard, message) => {
    expect(() => synth({ monitoring: { grafanaDashboard } })).toThrow(message);
  });
});
