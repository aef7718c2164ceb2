import { IngressV1 } from "@cdktf/provider-kubernetes/lib/ingress-v1";
import type { Construct } from "constructs";
import { checkDnsSubdomain, checkHostname, fail, parseCidr } from "./validation";

/** ingress-nginx's client IP allowlist annotation (a comma-separated list of CIDR blocks). */
export const NGINX_ALLOWLIST_ANNOTATION = "nginx.ingress.kubernetes.io/whitelist-source-range";

export interface IngressOptions {
  /** Host name clients use, e.g. `goproxy.example.com`; GOPROXY becomes `https://<host>`. */
  readonly host: string;
  /**
   * IngressClass that serves it.
   * @default "nginx"
   */
  readonly className?: string;
  /**
   * Secret (type kubernetes.io/tls) with the certificate for `host`; cert-manager can fill it
   * (add its annotation through `annotations`).
   * @default none: plain HTTP, so private module code crosses the network unencrypted
   */
  readonly tlsSecretName?: string;
  /**
   * Client CIDR blocks allowed through the controller. Written as ingress-nginx's
   * `whitelist-source-range` annotation; other controllers need their own mechanism through
   * `annotations`. Keep the NetworkPolicy in mind too: it admits the controller, not the clients.
   * @default none: every client the controller accepts
   */
  readonly allowedSourceRanges?: string[];
  /**
   * Where the ingress controller's pods get their addresses (the cluster's pod network). The
   * proxy believes `X-Forwarded-For` only from these (GOMIRROR_TRUSTED_PROXIES), so its logs,
   * allowlist and rate limits see the real client. Narrow it to your pod CIDR: any pod admitted
   * by the NetworkPolicy from inside these ranges could name another client.
   * @default the private ranges 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 and fd00::/8
   */
  readonly controllerCidrs?: string[];
  /**
   * More annotations for the Ingress (timeouts, cert-manager issuer, other controllers' allowlists).
   * @default none
   */
  readonly annotations?: Record<string, string>;
}

export interface IngressContext {
  readonly name: string;
  readonly namespace: string;
  readonly labels: Record<string, string>;
  readonly serviceName: string;
  readonly servicePort: number;
}

export function checkIngressOptions(o: IngressOptions): void {
  checkHostname(o.host, "ingress.host");
  if (o.className !== undefined) checkDnsSubdomain(o.className, "ingress.className");
  if (o.tlsSecretName !== undefined) checkDnsSubdomain(o.tlsSecretName, "ingress.tlsSecretName");
  (o.allowedSourceRanges ?? []).forEach((c, i) => parseCidr(c, `ingress.allowedSourceRanges[${i}]`));
  if (o.allowedSourceRanges !== undefined && o.annotations?.[NGINX_ALLOWLIST_ANNOTATION] !== undefined) {
    fail(
      `ingress sets the client allowlist twice: allowedSourceRanges and the annotation ${NGINX_ALLOWLIST_ANNOTATION}; keep one`,
    );
  }
}

export function createIngress(scope: Construct, o: IngressOptions, ctx: IngressContext): IngressV1 {
  const annotations: Record<string, string> = { ...(o.annotations ?? {}) };
  if (o.allowedSourceRanges !== undefined && o.allowedSourceRanges.length > 0) {
    annotations[NGINX_ALLOWLIST_ANNOTATION] = o.allowedSourceRanges.join(",");
  }
  return new IngressV1(scope, "Ingress", {
    metadata: {
      name: ctx.name,
      namespace: ctx.namespace,
      labels: ctx.labels,
      annotations: Object.keys(annotations).length > 0 ? annotations : undefined,
    },
    spec: {
      ingressClassName: o.className ?? "nginx",
      rule: [
        {
          host: o.host,
          http: {
            path: [
              {
                path: "/",
                pathType: "Prefix",
                backend: { service: { name: ctx.serviceName, port: { number: ctx.servicePort } } },
              },
            ],
          },
        },
      ],
      tls: o.tlsSecretName !== undefined ? [{ hosts: [o.host], secretName: o.tlsSecretName }] : undefined,
    },
  });
}
