import {
  NetworkPolicyV1,
  type NetworkPolicyV1SpecEgress,
  type NetworkPolicyV1SpecEgressTo,
  type NetworkPolicyV1SpecIngress,
  type NetworkPolicyV1SpecIngressFrom,
} from "@cdktf/provider-kubernetes/lib/network-policy-v1";
import type { Construct } from "constructs";
import { CONTAINER_PORT } from "../image-contract";
import { namespaceNameSelector } from "./labels";
import type { StorageEndpoint } from "./storage";
import { checkDnsLabel, checkLabels, checkPort, cidrStrictlyContains, fail, parseCidr } from "./validation";

/**
 * Somewhere the proxy may connect to: CIDR blocks and/or namespaces of the cluster, on the
 * given TCP ports.
 */
export interface EgressTarget {
  /**
   * CIDR blocks, e.g. `["10.20.0.0/16"]`.
   * @default none
   */
  readonly cidrs?: string[];
  /**
   * Blocks inside `cidrs` that stay forbidden.
   * @default none
   */
  readonly except?: string[];
  /**
   * Namespaces of this cluster (e.g. where an in-cluster MinIO or Athens runs).
   * @default none
   */
  readonly namespaces?: string[];
  /**
   * TCP ports.
   * @default [443]
   */
  readonly ports?: number[];
}

/** The private and link-local ranges; the default upstream rule keeps them closed. */
export const PRIVATE_RANGES = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"];

/** Public internet on HTTPS: where proxy.golang.org, sum.golang.org and public git hosts live. */
export const PUBLIC_HTTPS: EgressTarget = { cidrs: ["0.0.0.0/0"], except: PRIVATE_RANGES, ports: [443] };

/**
 * A NetworkPolicy that denies everything not listed. Ingress is open only to the proxy port from
 * the allowlisted sources; egress only to DNS and the listed destinations.
 */
export interface NetworkPolicyOptions {
  /**
   * Set false to create no NetworkPolicy (e.g. when a service mesh or cluster-wide policy decides).
   * @default true
   */
  readonly enabled?: boolean;
  /**
   * Client CIDR blocks allowed to reach the proxy port directly (NodePort/LoadBalancer
   * clients, or pods by IP).
   * @default none
   */
  readonly allowFromCidrs?: string[];
  /**
   * Namespaces whose pods may reach the proxy port (e.g. CI runners).
   * @default none
   */
  readonly allowFromNamespaces?: string[];
  /**
   * Pods of every namespace may reach the proxy port: in-cluster clients use `goproxyUrl`'s
   * cluster address. Set false to admit only what the options above list.
   * @default true when no Ingress, `allowFromCidrs` or `allowFromNamespaces` admits clients, else false
   */
  readonly allowFromCluster?: boolean;
  /**
   * Namespace of the ingress controller, allowed in when `ingress` is set.
   * @default "ingress-nginx"
   */
  readonly ingressControllerNamespace?: string;
  /**
   * Labels of the ingress controller's pods within its namespace.
   * @default every pod of that namespace
   */
  readonly ingressControllerPodLabels?: Record<string, string>;
  /**
   * Namespace of the cluster DNS pods.
   * @default "kube-system"
   */
  readonly dnsNamespace?: string;
  /**
   * Labels of the cluster DNS pods.
   * @default { "k8s-app": "kube-dns" } (CoreDNS keeps this label)
   */
  readonly dnsPodLabels?: Record<string, string>;
  /**
   * Extra DNS server addresses, e.g. NodeLocal DNSCache's `169.254.20.10/32`.
   * @default none
   */
  readonly dnsCidrs?: string[];
  /**
   * Upstream proxies and the checksum database (the GOPROXY list and GOSUMDB).
   * @default the public internet on port 443, private ranges excluded
   */
  readonly upstreamEgress?: EgressTarget;
  /**
   * Git servers of private modules (GOPRIVATE / `direct`). Add port 22 when using SSH.
   * @default none beyond `upstreamEgress` (which covers public git hosts on 443)
   */
  readonly gitEgress?: EgressTarget;
  /**
   * The S3 endpoint. Required when the storage has an explicit `endpoint`: the construct cannot
   * know where that host lives.
   * @default the public internet on port 443 for AWS S3; nothing for volume storage
   */
  readonly objectStorageEgress?: EgressTarget;
}

/** What the construct knows that the policy depends on. */
export interface NetworkPolicyContext {
  readonly name: string;
  readonly namespace: string;
  readonly labels: Record<string, string>;
  readonly selector: Record<string, string>;
  /** True when an Ingress is created: the controller must get in. */
  readonly ingressEnabled: boolean;
  /** Namespace of Prometheus when a ServiceMonitor is created. */
  readonly prometheusNamespace?: string;
  /** The port Prometheus scrapes, when `/metrics` has a listener of its own. */
  readonly metricsPort?: number;
  /** The storage's network endpoint, if it has one. */
  readonly storageEndpoint?: StorageEndpoint;
}

const PROXY_PORT = [{ port: String(CONTAINER_PORT), protocol: "TCP" }];

function checkTarget(target: EgressTarget, what: string): void {
  const cidrs = (target.cidrs ?? []).map((c, i) => parseCidr(c, `${what}.cidrs[${i}]`));
  (target.except ?? []).forEach((e, i) => {
    const inner = parseCidr(e, `${what}.except[${i}]`);
    if (!cidrs.some((outer) => cidrStrictlyContains(outer, inner))) {
      fail(
        `${what}.except[${i}] "${e}" is not inside any of ${what}.cidrs; Kubernetes only accepts exceptions within a block`,
      );
    }
  });
  (target.namespaces ?? []).forEach((n, i) => checkDnsLabel(n, `${what}.namespaces[${i}]`));
  if (cidrs.length === 0 && (target.namespaces ?? []).length === 0) {
    fail(`${what} allows nothing: give cidrs and/or namespaces`);
  }
  const ports = target.ports ?? [443];
  if (ports.length === 0) fail(`${what}.ports is empty; list the TCP ports to allow, e.g. [443]`);
  ports.forEach((p, i) => checkPort(p, `${what}.ports[${i}]`));
}

function egressRule(target: EgressTarget): NetworkPolicyV1SpecEgress {
  const except = target.except ?? [];
  const to: NetworkPolicyV1SpecEgressTo[] = [
    ...(target.cidrs ?? []).map((cidr) => {
      const inside = except.filter((e) =>
        cidrStrictlyContains(parseCidr(cidr, "cidr"), parseCidr(e, "except")),
      );
      return { ipBlock: { cidr, except: inside.length > 0 ? inside : undefined } };
    }),
    ...(target.namespaces ?? []).map((n) => ({ namespaceSelector: namespaceNameSelector(n) })),
  ];
  return { to, ports: (target.ports ?? [443]).map((p) => ({ port: String(p), protocol: "TCP" })) };
}

/** Whether pods of every namespace are admitted: asked for, or nothing else admits clients. */
function admitsCluster(o: NetworkPolicyOptions, ingressEnabled: boolean): boolean {
  const listed =
    ingressEnabled || (o.allowFromCidrs ?? []).length > 0 || (o.allowFromNamespaces ?? []).length > 0;
  return o.allowFromCluster ?? !listed;
}

/** Validates the options against what the construct deploys; throws with the prop to fix. */
export function checkNetworkPolicyOptions(
  o: NetworkPolicyOptions,
  ctx: Pick<NetworkPolicyContext, "storageEndpoint" | "ingressEnabled">,
): void {
  const listed =
    ctx.ingressEnabled || (o.allowFromCidrs ?? []).length > 0 || (o.allowFromNamespaces ?? []).length > 0;
  if (o.enabled !== false && !listed && !admitsCluster(o, ctx.ingressEnabled)) {
    fail(
      `the NetworkPolicy would admit no client: with allowFromCluster false, add networkPolicy.allowFromNamespaces ` +
        `(e.g. your CI runners' namespace), networkPolicy.allowFromCidrs, or an ingress`,
    );
  }
  (o.allowFromCidrs ?? []).forEach((c, i) => parseCidr(c, `networkPolicy.allowFromCidrs[${i}]`));
  (o.allowFromNamespaces ?? []).forEach((n, i) =>
    checkDnsLabel(n, `networkPolicy.allowFromNamespaces[${i}]`),
  );
  if (o.ingressControllerNamespace !== undefined) {
    checkDnsLabel(o.ingressControllerNamespace, "networkPolicy.ingressControllerNamespace");
  }
  if (o.ingressControllerPodLabels !== undefined) {
    checkLabels(o.ingressControllerPodLabels, "networkPolicy.ingressControllerPodLabels");
  }
  if (o.dnsNamespace !== undefined) checkDnsLabel(o.dnsNamespace, "networkPolicy.dnsNamespace");
  if (o.dnsPodLabels !== undefined) checkLabels(o.dnsPodLabels, "networkPolicy.dnsPodLabels");
  (o.dnsCidrs ?? []).forEach((c, i) => parseCidr(c, `networkPolicy.dnsCidrs[${i}]`));
  if (o.upstreamEgress !== undefined) checkTarget(o.upstreamEgress, "networkPolicy.upstreamEgress");
  if (o.gitEgress !== undefined) checkTarget(o.gitEgress, "networkPolicy.gitEgress");
  if (o.objectStorageEgress !== undefined)
    checkTarget(o.objectStorageEgress, "networkPolicy.objectStorageEgress");
  const endpoint = ctx.storageEndpoint;
  if (o.objectStorageEgress !== undefined && endpoint === undefined) {
    fail(`networkPolicy.objectStorageEgress is set, but the storage is a volume, not S3; remove it`);
  }
  if (o.enabled !== false && endpoint?.url !== undefined && o.objectStorageEgress === undefined) {
    fail(
      `storage uses the S3 endpoint ${endpoint.url}, but the NetworkPolicy cannot know where it lives; ` +
        `set networkPolicy.objectStorageEgress, e.g. { cidrs: ["10.0.5.0/24"], ports: [${endpoint.port}] } ` +
        `or { namespaces: ["minio"], ports: [${endpoint.port}] }`,
    );
  }
}

export function createNetworkPolicy(
  scope: Construct,
  o: NetworkPolicyOptions,
  ctx: NetworkPolicyContext,
): NetworkPolicyV1 {
  const ingress: NetworkPolicyV1SpecIngress[] = [];
  const allow = (from: NetworkPolicyV1SpecIngressFrom[]): void => {
    if (from.length > 0) ingress.push({ from, ports: PROXY_PORT });
  };
  allow((o.allowFromCidrs ?? []).map((cidr) => ({ ipBlock: { cidr } })));
  allow((o.allowFromNamespaces ?? []).map((n) => ({ namespaceSelector: namespaceNameSelector(n) })));
  // An empty namespace selector matches every namespace.
  if (admitsCluster(o, ctx.ingressEnabled)) allow([{ namespaceSelector: {} }]);
  if (ctx.ingressEnabled) {
    // One peer with both selectors: pods matching the labels *in* that namespace.
    const podLabels = o.ingressControllerPodLabels ?? {};
    allow([
      {
        namespaceSelector: namespaceNameSelector(o.ingressControllerNamespace ?? "ingress-nginx"),
        podSelector: Object.keys(podLabels).length > 0 ? { matchLabels: podLabels } : undefined,
      },
    ]);
  }
  if (ctx.prometheusNamespace !== undefined) {
    const from = [{ namespaceSelector: namespaceNameSelector(ctx.prometheusNamespace) }];
    if (ctx.metricsPort === undefined) allow(from);
    else ingress.push({ from, ports: [{ port: String(ctx.metricsPort), protocol: "TCP" }] });
  }

  const dnsPorts = [
    { port: "53", protocol: "UDP" },
    { port: "53", protocol: "TCP" },
  ];
  const egress: NetworkPolicyV1SpecEgress[] = [
    {
      to: [
        {
          namespaceSelector: namespaceNameSelector(o.dnsNamespace ?? "kube-system"),
          podSelector: { matchLabels: o.dnsPodLabels ?? { "k8s-app": "kube-dns" } },
        },
        ...(o.dnsCidrs ?? []).map((cidr) => ({ ipBlock: { cidr } })),
      ],
      ports: dnsPorts,
    },
    egressRule(o.upstreamEgress ?? PUBLIC_HTTPS),
  ];
  if (o.gitEgress !== undefined) egress.push(egressRule(o.gitEgress));
  if (ctx.storageEndpoint !== undefined) egress.push(egressRule(o.objectStorageEgress ?? PUBLIC_HTTPS));

  return new NetworkPolicyV1(scope, "NetworkPolicy", {
    metadata: { name: ctx.name, namespace: ctx.namespace, labels: ctx.labels },
    spec: {
      podSelector: { matchLabels: ctx.selector },
      policyTypes: ["Ingress", "Egress"],
      ingress,
      egress,
    },
  });
}
