import { NetworkPolicyV1 } from "@cdktf/provider-kubernetes/lib/network-policy-v1";
import { Testing } from "cdktf";
import { GoMirrorStorage, type GoMirrorKubernetesProps } from "../../lib/kubernetes";
import { type Json, only, synth } from "./synth";

Testing.setupJest();

const PROXY_PORT = [{ port: "8080", protocol: "TCP" }];
const PRIVATE = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"];
const byName = (ns: string) => ({ match_labels: { "kubernetes.io/metadata.name": ns } });

function policy(props: Partial<GoMirrorKubernetesProps> = {}): Json {
  return only(synth(props).tf, "kubernetes_network_policy_v1");
}

describe("NetworkPolicy by default", () => {
  const p = policy();

  test("selects the proxy pods and governs both directions", () => {
    const deployment = only(synth().tf, "kubernetes_deployment_v1");
    expect(p.spec.pod_selector).toEqual({ match_labels: deployment.spec.selector.match_labels });
    expect(p.spec.policy_types).toEqual(["Ingress", "Egress"]);
  });

  test("ingress: with nothing else listed, pods of every namespace reach the proxy port (the cluster URL works)", () => {
    expect(p.spec.ingress).toEqual([{ from: [{ namespace_selector: {} }], ports: PROXY_PORT }]);
  });

  test("egress: cluster DNS on port 53 over UDP and TCP", () => {
    expect(p.spec.egress[0]).toEqual({
      to: [
        {
          namespace_selector: byName("kube-system"),
          pod_selector: { match_labels: { "k8s-app": "kube-dns" } },
        },
      ],
      ports: [
        { port: "53", protocol: "UDP" },
        { port: "53", protocol: "TCP" },
      ],
    });
  });

  test("egress: HTTPS to the public internet only, private and link-local ranges excluded", () => {
    expect(p.spec.egress[1]).toEqual({
      to: [{ ip_block: { cidr: "0.0.0.0/0", except: PRIVATE } }],
      ports: [{ port: "443", protocol: "TCP" }],
    });
    expect(p.spec.egress).toHaveLength(2);
  });
});

describe("NetworkPolicy ingress rules", () => {
  test("allowlisted CIDR blocks (IPv4 and IPv6) reach only the proxy port", () => {
    const p = policy({ networkPolicy: { allowFromCidrs: ["10.1.0.0/16", "2001:db8::/32"] } });
    expect(p.spec.ingress).toEqual([
      {
        from: [{ ip_block: { cidr: "10.1.0.0/16" } }, { ip_block: { cidr: "2001:db8::/32" } }],
        ports: PROXY_PORT,
      },
    ]);
  });

  test("allowlisted namespaces, selected by their metadata.name label", () => {
    const p = policy({ networkPolicy: { allowFromNamespaces: ["ci-runners", "dev"] } });
    expect(p.spec.ingress).toEqual([
      {
        from: [{ namespace_selector: byName("ci-runners") }, { namespace_selector: byName("dev") }],
        ports: PROXY_PORT,
      },
    ]);
  });

  test("with an Ingress, the controller's namespace gets in", () => {
    const p = policy({ ingress: { host: "goproxy.example.com" } });
    expect(p.spec.ingress).toEqual([
      { from: [{ namespace_selector: byName("ingress-nginx") }], ports: PROXY_PORT },
    ]);
  });

  test("the controller's namespace and pod labels combine in one peer (both must match)", () => {
    const p = policy({
      ingress: { host: "goproxy.example.com", className: "traefik" },
      networkPolicy: {
        ingressControllerNamespace: "traefik",
        ingressControllerPodLabels: { "app.kubernetes.io/name": "traefik" },
      },
    });
    expect(p.spec.ingress).toEqual([
      {
        from: [
          {
            namespace_selector: byName("traefik"),
            pod_selector: { match_labels: { "app.kubernetes.io/name": "traefik" } },
          },
        ],
        ports: PROXY_PORT,
      },
    ]);
  });

  test("without an Ingress the controller namespace setting lets no controller in", () => {
    const p = policy({
      networkPolicy: { ingressControllerNamespace: "traefik", allowFromNamespaces: ["ci"] },
    });
    expect(p.spec.ingress).toEqual([{ from: [{ namespace_selector: byName("ci") }], ports: PROXY_PORT }]);
  });

  test("admits the whole cluster only by default or when asked, and refuses a policy that admits nobody", () => {
    const everyone = { from: [{ namespace_selector: {} }], ports: PROXY_PORT };
    expect(policy({ networkPolicy: { allowFromNamespaces: ["ci"] } }).spec.ingress).not.toContainEqual(
      everyone,
    );
    expect(policy({ ingress: { host: "goproxy.example.com" } }).spec.ingress).not.toContainEqual(everyone);
    expect(
      policy({ networkPolicy: { allowFromNamespaces: ["ci"], allowFromCluster: true } }).spec.ingress,
    ).toContainEqual(everyone);
    expect(() => policy({ networkPolicy: { allowFromCluster: false } })).toThrow(
      /the NetworkPolicy would admit no client: with allowFromCluster false, add networkPolicy.allowFromNamespaces/,
    );
  });

  test("with a ServiceMonitor, Prometheus' namespace may scrape", () => {
    const ci = { allowFromNamespaces: ["ci"] };
    expect(policy({ monitoring: {}, networkPolicy: ci }).spec.ingress).toContainEqual({
      from: [{ namespace_selector: byName("monitoring") }],
      ports: PROXY_PORT,
    });
    expect(
      policy({ monitoring: { prometheusNamespace: "observability" }, networkPolicy: ci }).spec.ingress,
    ).toContainEqual({ from: [{ namespace_selector: byName("observability") }], ports: PROXY_PORT });
    expect(policy({ monitoring: { serviceMonitor: false }, networkPolicy: ci }).spec.ingress).toHaveLength(1);
  });

  test("all sources together, one rule each", () => {
    const p = policy({
      ingress: { host: "goproxy.example.com" },
      monitoring: {},
      networkPolicy: { allowFromCidrs: ["192.0.2.0/24"], allowFromNamespaces: ["ci"] },
    });
    expect(p.spec.ingress.map((r: Json) => r.from)).toEqual([
      [{ ip_block: { cidr: "192.0.2.0/24" } }],
      [{ namespace_selector: byName("ci") }],
      [{ namespace_selector: byName("ingress-nginx") }],
      [{ namespace_selector: byName("monitoring") }],
    ]);
  });
});

describe("NetworkPolicy egress rules", () => {
  test("DNS elsewhere: another namespace and labels, plus NodeLocal DNSCache's address", () => {
    const p = policy({
      networkPolicy: {
        dnsNamespace: "dns",
        dnsPodLabels: { app: "coredns" },
        dnsCidrs: ["169.254.20.10/32"],
      },
    });
    expect(p.spec.egress[0].to).toEqual([
      { namespace_selector: byName("dns"), pod_selector: { match_labels: { app: "coredns" } } },
      { ip_block: { cidr: "169.254.20.10/32" } },
    ]);
  });

  test("upstream proxies on an internal network replace the public default", () => {
    const p = policy({
      networkPolicy: {
        upstreamEgress: { cidrs: ["10.40.0.0/16"], except: ["10.40.9.0/24"], ports: [3000, 443] },
      },
    });
    expect(p.spec.egress[1]).toEqual({
      to: [{ ip_block: { cidr: "10.40.0.0/16", except: ["10.40.9.0/24"] } }],
      ports: [
        { port: "3000", protocol: "TCP" },
        { port: "443", protocol: "TCP" },
      ],
    });
    expect(p.spec.egress).toHaveLength(2);
  });

  test("git hosts get their own rule, e.g. SSH and HTTPS to an internal GitLab", () => {
    const p = policy({ networkPolicy: { gitEgress: { cidrs: ["10.20.30.40/32"], ports: [22, 443] } } });
    expect(p.spec.egress[2]).toEqual({
      to: [{ ip_block: { cidr: "10.20.30.40/32" } }],
      ports: [
        { port: "22", protocol: "TCP" },
        { port: "443", protocol: "TCP" },
      ],
    });
  });

  test("an in-cluster S3 endpoint through its namespace", () => {
    const p = policy({
      storage: GoMirrorStorage.s3({ bucket: "mods", endpoint: "http://minio.minio.svc:9000" }),
      networkPolicy: { objectStorageEgress: { namespaces: ["minio"], ports: [9000] } },
    });
    expect(p.spec.egress[2]).toEqual({
      to: [{ namespace_selector: byName("minio") }],
      ports: [{ port: "9000", protocol: "TCP" }],
    });
  });

  test("AWS S3 without an endpoint: public HTTPS, the default", () => {
    const p = policy({ storage: GoMirrorStorage.s3({ bucket: "mods" }) });
    expect(p.spec.egress[2]).toEqual({
      to: [{ ip_block: { cidr: "0.0.0.0/0", except: PRIVATE } }],
      ports: [{ port: "443", protocol: "TCP" }],
    });
  });

  test("an S3 endpoint without objectStorageEgress is refused, with the port to allow in the message", () => {
    expect(() =>
      policy({ storage: GoMirrorStorage.s3({ bucket: "mods", endpoint: "http://10.0.5.9:9000" }) }),
    ).toThrow(
      /storage uses the S3 endpoint http:\/\/10.0.5.9:9000, but the NetworkPolicy cannot know where it lives; set networkPolicy.objectStorageEgress, e.g. \{ cidrs: \["10.0.5.0\/24"\], ports: \[9000\] \}/,
    );
  });

  test("objectStorageEgress with volume storage is refused", () => {
    expect(() => policy({ networkPolicy: { objectStorageEgress: { cidrs: ["10.0.0.0/8"] } } })).toThrow(
      /objectStorageEgress is set, but the storage is a volume, not S3/,
    );
  });
});

describe("NetworkPolicy switched off", () => {
  test("no NetworkPolicy, and an S3 endpoint needs no egress description", () => {
    const { json } = synth({
      storage: GoMirrorStorage.s3({ bucket: "mods", endpoint: "http://minio:9000" }),
      networkPolicy: { enabled: false },
    });
    expect(json).not.toHaveResource(NetworkPolicyV1);
  });
});

describe("NetworkPolicy props are checked", () => {
  test.each([
    [
      { allowFromCidrs: ["10.1.2.3/8"] },
      /allowFromCidrs\[0\]: "10.1.2.3\/8" has bits set after the \/8 prefix; did you mean 10.0.0.0\/8\?/,
    ],
    [{ allowFromCidrs: ["2001:db8::1/32"] }, /did you mean 2001:db8::\/32\?/],
    [
      { allowFromCidrs: ["10.0.0.0"] },
      /allowFromCidrs\[0\]: "10.0.0.0" has no prefix length; write it like 10.0.0.0\/32/,
    ],
    [{ allowFromCidrs: ["10.0.0.0/33"] }, /"10.0.0.0\/33" has prefix length "33"; want 0 to 32/],
    [{ allowFromCidrs: ["300.0.0.0/8"] }, /"300.0.0.0" in "300.0.0.0\/8" is not an IPv4 or IPv6 address/],
    [{ allowFromNamespaces: ["CI"] }, /allowFromNamespaces\[0\] "CI" is not a valid Kubernetes name/],
    [{ dnsCidrs: ["nodelocal"] }, /dnsCidrs\[0\]: "nodelocal" has no prefix length/],
    [
      { upstreamEgress: { cidrs: ["10.0.0.0/8"], ports: [70000] } },
      /upstreamEgress.ports\[0\] 70000 is not a TCP port/,
    ],
    [{ upstreamEgress: { cidrs: ["10.0.0.0/8"], ports: [] } }, /upstreamEgress.ports is empty/],
    [{ upstreamEgress: {} }, /upstreamEgress allows nothing: give cidrs and\/or namespaces/],
    [
      { upstreamEgress: { cidrs: ["10.0.0.0/16"], except: ["10.1.0.0/24"] } },
      /upstreamEgress.except\[0\] "10.1.0.0\/24" is not inside any of networkPolicy.upstreamEgress.cidrs/,
    ],
    [{ gitEgress: { cidrs: ["10.0.0.0/8"], ports: [0] } }, /gitEgress.ports\[0\] 0 is not a TCP port/],
    [
      { ingressControllerPodLabels: { "bad key!": "x" } },
      /ingressControllerPodLabels key "bad key!" is not a valid label key/,
    ],
  ])("refuses %j", (networkPolicy, message) => {
    expect(() => policy({ networkPolicy })).toThrow(message);
  });
});
