// Who may use a mirror on Kubernetes: client tokens from a Secret, HTTPS in the proxy itself,
// X-Forwarded-For trusted from the ingress controller, and /metrics on its own port for
// Prometheus once the proxy port needs a token.
import { loadConfig } from "../../lib/proxy/config";
import {
  container,
  manifestOfKind,
  mountNamed,
  only,
  resolvedEnv,
  resources,
  synth,
  volumeNamed,
  type Json,
} from "./synth";

describe("client tokens from an existing Secret", () => {
  const { tf } = synth({ auth: { secretName: "gomirror-tokens" }, monitoring: {} });

  test("the token file is mounted as a directory (so updates arrive) and named by GOMIRROR_AUTH_FILE", () => {
    expect(volumeNamed(tf, "auth-tokens")).toEqual({
      name: "auth-tokens",
      secret: { secret_name: "gomirror-tokens", items: [{ key: "tokens", path: "tokens", mode: "0440" }] },
    });
    expect(mountNamed(tf, "auth-tokens")).toEqual({
      name: "auth-tokens",
      mount_path: "/etc/gomirror/auth",
      read_only: true,
    });
    const config = loadConfig({ env: resolvedEnv(tf), argv: [] });
    expect(config.authFile).toBe("/etc/gomirror/auth/tokens");
  });

  test("/metrics moves to port 9090, which the Service, the ServiceMonitor and the NetworkPolicy follow", () => {
    expect(resolvedEnv(tf).GOMIRROR_METRICS_LISTEN).toBe("0.0.0.0:9090");
    expect(container(tf).port).toEqual([
      { name: "http", container_port: 8080, protocol: "TCP" },
      { name: "metrics", container_port: 9090, protocol: "TCP" },
    ]);
    expect(only(tf, "kubernetes_service_v1").spec.port).toContainEqual({
      name: "metrics",
      port: 9090,
      target_port: "metrics",
      protocol: "TCP",
    });
    expect(manifestOfKind(tf, "ServiceMonitor").manifest.spec.endpoints[0].port).toBe("metrics");
    const rules = only(tf, "kubernetes_network_policy_v1").spec.ingress as Json[];
    expect(rules).toContainEqual({
      from: [{ namespace_selector: { match_labels: { "kubernetes.io/metadata.name": "monitoring" } } }],
      ports: [{ port: "9090", protocol: "TCP" }],
    });
  });

  test("a key other than the default, and what the construct sets, refused from proxy.environment", () => {
    const named = synth({ auth: { secretName: "tokens", key: "team-a" } }).tf;
    expect(volumeNamed(named, "auth-tokens").secret.items).toEqual([
      { key: "team-a", path: "tokens", mode: "0440" },
    ]);
    expect(() =>
      synth({ auth: { secretName: "t" }, proxy: { environment: { GOMIRROR_AUTH_FILE: "/x" } } }),
    ).toThrow(/proxy.environment.GOMIRROR_AUTH_FILE is set by GoMirrorKubernetes itself, from auth/);
    expect(() => synth({ auth: { secretName: "Not_A_Name" } })).toThrow(/auth.secretName "Not_A_Name"/);
  });

  test("without tokens or TLS, nothing of this is added", () => {
    const plain = synth().tf;
    expect(container(plain).port).toHaveLength(1);
    expect(resolvedEnv(plain)).not.toHaveProperty("GOMIRROR_AUTH_FILE");
    expect(resolvedEnv(plain)).not.toHaveProperty("GOMIRROR_METRICS_LISTEN");
  });
});

describe("HTTPS in the proxy", () => {
  const { tf } = synth({ tls: { secretName: "gomirror-tls" } });

  test("the certificate and key come from a kubernetes.io/tls Secret", () => {
    expect(volumeNamed(tf, "tls").secret).toEqual({
      secret_name: "gomirror-tls",
      items: [
        { key: "tls.crt", path: "tls.crt", mode: "0440" },
        { key: "tls.key", path: "tls.key", mode: "0440" },
      ],
    });
    const config = loadConfig({ env: resolvedEnv(tf), argv: [] });
    expect([config.tlsCert, config.tlsKey]).toEqual([
      "/etc/gomirror/tls/tls.crt",
      "/etc/gomirror/tls/tls.key",
    ]);
  });

  test("the probes speak HTTPS", () => {
    expect(container(tf).readiness_probe.http_get).toMatchObject({ path: "/readyz", scheme: "HTTPS" });
    expect(container(tf).liveness_probe.http_get).toMatchObject({ path: "/healthz", scheme: "HTTPS" });
  });
});

describe("behind an ingress controller", () => {
  test("X-Forwarded-For is believed from the pod network by default", () => {
    const { tf } = synth({ ingress: { host: "goproxy.example.com" } });
    const config = loadConfig({ env: resolvedEnv(tf), argv: [] });
    expect(config.trustedProxies).toEqual(["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fd00::/8"]);
  });

  test("or from the controller's own range, checked at synth", () => {
    const { tf } = synth({ ingress: { host: "goproxy.example.com", controllerCidrs: ["10.244.0.0/16"] } });
    expect(resolvedEnv(tf).GOMIRROR_TRUSTED_PROXIES).toBe("10.244.0.0/16");
    expect(() =>
      synth({ ingress: { host: "goproxy.example.com", controllerCidrs: ["10.244.0.1/16"] } }),
    ).toThrow(/ingress.controllerCidrs\[0\]/);
  });

  test("without an ingress the socket's address counts", () => {
    expect(resolvedEnv(synth().tf)).not.toHaveProperty("GOMIRROR_TRUSTED_PROXIES");
    expect(Object.keys(resources(synth().tf, "kubernetes_ingress_v1"))).toEqual([]);
  });
});
