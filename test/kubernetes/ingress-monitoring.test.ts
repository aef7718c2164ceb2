import { IngressV1 } from "@cdktf/provider-kubernetes/lib/ingress-v1";
import { Testing } from "cdktf";
import { GoMirrorStorage, goMirrorAlertRules } from "../../lib/kubernetes";
import { Counter, Gauge, Histogram } from "prom-client";
import { EndpointHistogram, ProxyMetrics } from "../../lib/proxy/metrics";
import { type Json, manifestOfKind, only, resources, synth } from "./synth";

Testing.setupJest();

const ALLOWLIST = "nginx.ingress.kubernetes.io/whitelist-source-range";

describe("Ingress", () => {
  test("a host routed to the Service's port, class nginx, no TLS and no annotations by default", () => {
    const { tf } = synth({ ingress: { host: "goproxy.example.com" } });
    const ingress = only(tf, "kubernetes_ingress_v1");
    expect(ingress.metadata.annotations).toBeUndefined();
    expect(ingress.spec).toEqual({
      ingress_class_name: "nginx",
      rule: [
        {
          host: "goproxy.example.com",
          http: {
            path: [
              {
                path: "/",
                path_type: "Prefix",
                backend: {
                  service: {
                    name: "${kubernetes_service_v1.Mirror_Service_B8C9ADC7.metadata[0].name}",
                    port: { number: 80 },
                  },
                },
              },
            ],
          },
        },
      ],
    });
    expect(Object.keys(resources(tf, "kubernetes_service_v1"))).toEqual(["Mirror_Service_B8C9ADC7"]);
  });

  test("class, TLS secret, IP allowlist annotation and free annotations", () => {
    const { json } = synth({
      service: { port: 8080 },
      ingress: {
        host: "goproxy.example.com",
        className: "nginx-internal",
        tlsSecretName: "goproxy-tls",
        allowedSourceRanges: ["10.0.0.0/8", "2001:db8::/32"],
        annotations: { "cert-manager.io/cluster-issuer": "internal-ca" },
      },
    });
    expect(json).toHaveResourceWithProperties(IngressV1, {
      metadata: expect.objectContaining({
        annotations: {
          [ALLOWLIST]: "10.0.0.0/8,2001:db8::/32",
          "cert-manager.io/cluster-issuer": "internal-ca",
        },
      }),
      spec: expect.objectContaining({
        ingress_class_name: "nginx-internal",
        tls: [{ hosts: ["goproxy.example.com"], secret_name: "goproxy-tls" }],
      }),
    });
  });

  test("other controllers' allowlists go through the annotations map untouched", () => {
    const { tf } = synth({
      ingress: {
        host: "goproxy.example.com",
        className: "traefik",
        annotations: {
          "traefik.ingress.kubernetes.io/router.middlewares": "gomirror-allowlist@kubernetescrd",
        },
      },
    });
    expect(only(tf, "kubernetes_ingress_v1").metadata.annotations).toEqual({
      "traefik.ingress.kubernetes.io/router.middlewares": "gomirror-allowlist@kubernetescrd",
    });
  });

  test.each([
    [
      { host: "https://goproxy.example.com" },
      /ingress.host "https:\/\/goproxy.example.com" is not a host name/,
    ],
    [
      { host: "goproxy.example.com", allowedSourceRanges: ["10.0.0.1/8"] },
      /allowedSourceRanges\[0\]: "10.0.0.1\/8" has bits set after the \/8 prefix; did you mean 10.0.0.0\/8\?/,
    ],
    [
      {
        host: "goproxy.example.com",
        allowedSourceRanges: ["10.0.0.0/8"],
        annotations: { [ALLOWLIST]: "10.0.0.0/8" },
      },
      /ingress sets the client allowlist twice/,
    ],
    [
      { host: "goproxy.example.com", tlsSecretName: "TLS" },
      /ingress.tlsSecretName "TLS" is not a valid Kubernetes object name/,
    ],
  ])("refuses %j", (ingress, message) => {
    expect(() => synth({ ingress })).toThrow(message);
  });
});

describe("monitoring through kubernetes_manifest", () => {
  const { tf } = synth({
    monitoring: { labels: { release: "kube-prometheus-stack" }, scrapeInterval: "15s" },
  });
  const serviceMonitor = manifestOfKind(tf, "ServiceMonitor");
  const rule = manifestOfKind(tf, "PrometheusRule");
  const service = only(tf, "kubernetes_service_v1");

  test("a ServiceMonitor scraping /metrics on the Service's named port", () => {
    expect(serviceMonitor.manifest.apiVersion).toBe("monitoring.coreos.com/v1");
    expect(serviceMonitor.manifest.spec).toEqual({
      selector: { matchLabels: service.spec.selector },
      namespaceSelector: { matchNames: ["gomirror"] },
      endpoints: [{ port: "http", path: "/metrics", interval: "15s" }],
    });
    expect(service.spec.port.map((p: Json) => p.name)).toContain("http");
    // The ServiceMonitor selects Services by their labels: the Service must carry the selector.
    expect(service.metadata.labels).toEqual(
      expect.objectContaining(serviceMonitor.manifest.spec.selector.matchLabels),
    );
    expect(serviceMonitor.depends_on).toEqual(["kubernetes_service_v1.Mirror_Service_B8C9ADC7"]);
  });

  test("both objects carry the labels Prometheus selects on", () => {
    for (const m of [serviceMonitor, rule]) {
      expect(m.manifest.metadata.labels).toEqual(
        expect.objectContaining({ release: "kube-prometheus-stack" }),
      );
      expect(m.manifest.metadata.namespace).toBe(
        "${kubernetes_namespace_v1.Mirror_Namespace_04E3C5D8.metadata[0].name}",
      );
    }
  });

  test("the PrometheusRule's alerts match the AWS alarms, with the same default thresholds", () => {
    const rules = rule.manifest.spec.groups[0].rules;
    expect(rules.map((r: Json) => r.alert)).toEqual([
      "GoMirrorHigh5xxRate",
      "GoMirrorHighLatencyP95",
      "GoMirrorUpstreamFailures",
      "GoMirrorUpstreamSkipped",
      "GoMirrorChecksumMismatch",
      "GoMirrorDiskOverLimit",
      "GoMirrorTargetDown",
    ]);
    const sel = `namespace="gomirror",job="gomirror"`;
    expect(rules[0].expr).toBe(
      `100 * sum(rate(gomirror_http_requests_total{${sel},code=~"5.."}[5m]))` +
        ` / sum(rate(gomirror_http_requests_total{${sel}}[5m])) > 5`,
    );
    expect(rules[1].expr).toBe(
      `histogram_quantile(0.95, sum by (le) (rate(gomirror_http_request_duration_seconds_bucket{${sel}}[5m]))) > 2`,
    );
    expect(rules[2].expr).toBe(
      `sum by (upstream) (increase(gomirror_upstream_errors_total{${sel}}[5m])) >= 10`,
    );
    expect(rules[3].expr).toBe(
      `sum by (upstream) (increase(gomirror_upstream_trips_total{${sel}}[5m])) >= 1`,
    );
    expect(rules[4].expr).toBe(`sum(increase(gomirror_checksum_mismatches_total{${sel}}[5m])) >= 1`);
    expect(rules[4].labels.severity).toBe("critical");
    expect(rules[4].for).toBe("0m");
    expect(rules[5].expr).toBe(
      `max(gomirror_storage_bytes{${sel}}) > max(gomirror_storage_limit_bytes{${sel}})` +
        ` and max(gomirror_storage_limit_bytes{${sel}}) > 0`,
    );
  });

  test("every metric and label the alerts use is one the proxy exports", () => {
    // Labels Prometheus adds to every scraped series, on top of the proxy's own.
    const targetLabels = ["namespace", "job", "pod", "service"];
    const known = new Map<string, string[]>();
    for (const value of Object.values(new ProxyMetrics())) {
      const histogram = value instanceof Histogram || value instanceof EndpointHistogram;
      if (!(value instanceof Counter || value instanceof Gauge || histogram)) continue;
      const { name, labelNames } = value as unknown as { name: string; labelNames: string[] };
      known.set(name, [...labelNames, ...targetLabels]);
      if (histogram) known.set(`${name}_bucket`, [...labelNames, "le", ...targetLabels]);
    }
    known.set("up", targetLabels);
    const rules = goMirrorAlertRules({
      name: "g",
      namespace: "ns",
      namespaceName: "ns",
      labels: {},
      selector: {},
      serviceName: "g",
    });
    for (const r of rules) {
      const selectors = [...r.expr.matchAll(/([a-z_]+)\{([^}]*)\}/g)];
      expect(selectors.length).toBeGreaterThan(0);
      const usable = new Set<string>();
      for (const [, metric, matchers] of selectors) {
        expect([r.alert, metric, known.has(metric!)]).toEqual([r.alert, metric, true]);
        known.get(metric!)!.forEach((l) => usable.add(l));
        for (const [, label] of matchers!.matchAll(/([a-z_]+)\s*(?:=~|!=|=)/g)) {
          expect([r.alert, metric, label, known.get(metric!)!.includes(label!)]).toEqual([
            r.alert,
            metric,
            label,
            true,
          ]);
        }
      }
      for (const [, grouping] of r.expr.matchAll(/by \(([^)]*)\)/g)) {
        for (const label of grouping!.split(",").map((l) => l.trim())) {
          expect([r.alert, label, usable.has(label)]).toEqual([r.alert, label, true]);
        }
      }
    }
  });

  test("thresholds and alert labels are configurable", () => {
    const { tf: custom } = synth({
      monitoring: {
        alertThresholds: {
          http5xxRatePercent: 1,
          latencyP95Seconds: 0.5,
          upstreamErrorsPer5Minutes: 3,
          upstreamSkipsPer5Minutes: 4,
          checksumMismatchesPer5Minutes: 2,
        },
        alertLabels: { team: "platform" },
      },
    });
    const rules = manifestOfKind(custom, "PrometheusRule").manifest.spec.groups[0].rules;
    expect(rules[0].expr).toMatch(/ > 1$/);
    expect(rules[1].expr).toMatch(/ > 0.5$/);
    expect(rules[2].expr).toMatch(/ >= 3$/);
    expect(rules[3].expr).toMatch(/ >= 4$/);
    expect(rules[4].expr).toMatch(/ >= 2$/);
    for (const r of rules) expect(r.labels.team).toBe("platform");
  });

  test("a named instance in its own namespace is selected by that job and namespace", () => {
    const { tf: named } = synth({
      name: "mirror-b",
      namespace: "tools",
      createNamespace: false,
      monitoring: {},
    });
    const expr: string = manifestOfKind(named, "PrometheusRule").manifest.spec.groups[0].rules[0].expr;
    expect(expr).toContain(`namespace="tools",job="mirror-b"`);
    expect(only(named, "kubernetes_service_v1").metadata.name).toBe("mirror-b");
  });

  test("either object can be left out", () => {
    const noMonitor = synth({ monitoring: { serviceMonitor: false } }).tf;
    expect(manifestOfKind(noMonitor, "ServiceMonitor")).toBeUndefined();
    expect(manifestOfKind(noMonitor, "PrometheusRule")).toBeDefined();
    const noRule = synth({
      storage: GoMirrorStorage.s3({ bucket: "mods" }),
      monitoring: { prometheusRule: false },
    }).tf;
    expect(manifestOfKind(noRule, "PrometheusRule")).toBeUndefined();
    expect(manifestOfKind(noRule, "ServiceMonitor")).toBeDefined();
  });

  test.each([
    [{ scrapeInterval: "30 seconds" }, /monitoring.scrapeInterval "30 seconds" is not a Prometheus duration/],
    [{ alertThresholds: { http5xxRatePercent: 0 } }, /http5xxRatePercent is 0; want a percentage above 0/],
    [{ alertThresholds: { latencyP95Seconds: -1 } }, /latencyP95Seconds is -1/],
    [
      { alertThresholds: { upstreamSkipsPer5Minutes: 0.5 } },
      /upstreamSkipsPer5Minutes is 0.5; want a whole number at least 1/,
    ],
    [
      { alertThresholds: { upstreamErrorsPer5Minutes: 0 } },
      /upstreamErrorsPer5Minutes is 0; want a whole number at least 1/,
    ],
    [
      { prometheusNamespace: "Monitoring" },
      /monitoring.prometheusNamespace "Monitoring" is not a valid Kubernetes name/,
    ],
  ])("refuses %j", (monitoring, message) => {
    expect(() => synth({ monitoring })).toThrow(message);
  });
});
