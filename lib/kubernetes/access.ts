import { SCHEMA } from "../proxy/settings/schema";
import { AUTH_DIR, METRICS_PORT, TLS_DIR } from "./image-contract";
import type { EnvVar, PodParts, Volume, VolumeMount } from "./pod-parts";
import { checkDnsSubdomain, checkSecretKey, parseCidr } from "./validation";

/**
 * Client tokens: the token file (`gomirror token add --file` writes it; it holds salted hashes,
 * never tokens) kept in an existing Secret. It is mounted as a directory, not with `subPath`, so
 * that the kubelet's updates reach the pod: a token added or revoked with `kubectl apply` counts
 * within the kubelet's sync period plus the proxy's few seconds, with no restart.
 */
export interface ClientTokensOptions {
  /** Name of the existing Secret. */
  readonly secretName: string;
  /**
   * The key holding the token file.
   * @default "tokens"
   */
  readonly key?: string;
}

/**
 * HTTPS served by the proxy itself, for a Service reached without a TLS-terminating ingress: an
 * existing `kubernetes.io/tls` Secret (cert-manager can keep it renewed; the proxy re-reads the
 * files when they change).
 */
export interface ProxyTlsOptions {
  /** Name of the existing Secret, with the keys `tls.crt` and `tls.key`. */
  readonly secretName: string;
}

/** The pod network's usual ranges, where an ingress controller's pods get their addresses. */
export const POD_NETWORK_RANGES = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fd00::/8"];

export interface AccessContext {
  readonly auth?: ClientTokensOptions;
  readonly tls?: ProxyTlsOptions;
  /** Where requests come from through the ingress controller, when there is one. */
  readonly trustedProxies?: string[];
}

/**
 * Whether `/metrics` gets a listener of its own: with tokens or TLS on the proxy port, Prometheus
 * could not scrape it plainly.
 */
export function separateMetricsListener(ctx: AccessContext): boolean {
  return ctx.auth !== undefined || ctx.tls !== undefined;
}

export function checkAccessOptions(ctx: AccessContext): void {
  if (ctx.auth !== undefined) {
    checkDnsSubdomain(ctx.auth.secretName, "auth.secretName");
    if (ctx.auth.key !== undefined) checkSecretKey(ctx.auth.key, "auth.key");
  }
  if (ctx.tls !== undefined) checkDnsSubdomain(ctx.tls.secretName, "tls.secretName");
  (ctx.trustedProxies ?? []).forEach((c, i) => parseCidr(c, `ingress.controllerCidrs[${i}]`));
}

/** Env, volumes and mounts for tokens, TLS, the metrics listener and the trusted proxies. */
export function accessPodParts(ctx: AccessContext): PodParts {
  const env: EnvVar[] = [];
  const volumes: Volume[] = [];
  const volumeMounts: VolumeMount[] = [];
  // 0440: the kubelet makes the files group-owned by the pod's fsGroup (the proxy's group).
  if (ctx.auth !== undefined) {
    volumes.push({
      name: "auth-tokens",
      secret: {
        secretName: ctx.auth.secretName,
        items: [{ key: ctx.auth.key ?? "tokens", path: "tokens", mode: "0440" }],
      },
    });
    volumeMounts.push({ name: "auth-tokens", mountPath: AUTH_DIR, readOnly: true });
    env.push({ name: SCHEMA.authFile.env, value: `${AUTH_DIR}/tokens` });
  }
  if (ctx.tls !== undefined) {
    volumes.push({
      name: "tls",
      secret: {
        secretName: ctx.tls.secretName,
        items: [
          { key: "tls.crt", path: "tls.crt", mode: "0440" },
          { key: "tls.key", path: "tls.key", mode: "0440" },
        ],
      },
    });
    volumeMounts.push({ name: "tls", mountPath: TLS_DIR, readOnly: true });
    env.push({ name: SCHEMA.tlsCert.env, value: `${TLS_DIR}/tls.crt` });
    env.push({ name: SCHEMA.tlsKey.env, value: `${TLS_DIR}/tls.key` });
  }
  if (separateMetricsListener(ctx)) {
    env.push({ name: SCHEMA.metricsListen.env, value: `0.0.0.0:${METRICS_PORT}` });
  }
  if (ctx.trustedProxies !== undefined && ctx.trustedProxies.length > 0) {
    env.push({ name: SCHEMA.trustedProxies.env, value: ctx.trustedProxies.join(",") });
  }
  return { env, volumes, volumeMounts };
}
