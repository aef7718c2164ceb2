import type { Logger } from "pino";
import type { ProxyConfig } from "../config";
import type { CacheAudience } from "../http/cache-control";
import type { ProxyMetrics } from "../metrics";
import { CidrSet, parseCidr, cidrContains, parseIp } from "../net/cidr";
import { AccessPolicy } from "./access";
import { createAccessGate, type AccessGate } from "./gate";
import { FailureLimiter } from "./rate-limit";
import { TokenFile } from "./token-file";
import { TokenSecret, type SecretReader } from "./token-secret";

/**
 * Access control built from the configuration in one call: the token file (loaded and watched),
 * the allowlist and trusted proxies, and the gate that wraps the request handler. Undefined when
 * neither a token file nor an allowlist is set: the proxy is then open, as before.
 */
export interface AccessControl {
  readonly gate: AccessGate;
  /** Stops watching the token file. */
  close(): void;
}

type AccessConfig = Pick<
  ProxyConfig,
  | "authFile"
  | "authSecret"
  | "anonymous"
  | "allowCidrs"
  | "trustedProxies"
  | "noProxy"
  | "private"
  | "tlsCert"
  | "listen"
>;

export async function createAccessControl(
  config: AccessConfig,
  parts: {
    readonly logger: Logger;
    readonly metrics: ProxyMetrics;
    /** Reads GOMIRROR_AUTH_SECRET; the AWS SDK by default. */
    readonly secretReader?: SecretReader;
  },
): Promise<AccessControl | undefined> {
  const { logger } = parts;
  if (!config.authFile && !config.authSecret && config.allowCidrs.length === 0) return undefined;
  const allow =
    config.allowCidrs.length > 0
      ? CidrSet.parse(config.allowCidrs.join(","), "GOMIRROR_ALLOW_CIDRS")
      : undefined;
  const trusted = CidrSet.parse(config.trustedProxies.join(","), "GOMIRROR_TRUSTED_PROXIES");
  let tokens: TokenFile | TokenSecret | undefined;
  if (config.authFile) tokens = await TokenFile.open(config.authFile, { logger });
  if (config.authSecret) {
    tokens = await TokenSecret.open(config.authSecret, { logger, reader: parts.secretReader });
  }
  if (tokens) {
    if (config.tlsCert === undefined && !isLoopback(config.listen.host)) {
      logger.warn(
        { event: "tokens_in_clear", listen: `${config.listen.host}:${config.listen.port}` },
        "tokens travel in clear to this listener: set GOMIRROR_TLS_CERT and GOMIRROR_TLS_KEY, or keep a TLS-terminating load balancer in front on a private network",
      );
    }
  }
  // Private paths are those fetched from git (GONOPROXY) and those declared private (GOPRIVATE).
  const privatePatterns = [config.noProxy, config.private].filter((p) => p !== "").join(",");
  const gate = createAccessGate({
    auth: tokens && {
      tokens,
      policy: new AccessPolicy(privatePatterns, config.anonymous),
      limiter: new FailureLimiter(),
    },
    allow,
    trusted,
    logger,
    metrics: parts.metrics,
  });
  return { gate, close: () => tokens?.close() };
}

const LOOPBACK = [parseCidr("127.0.0.0/8"), parseCidr("::1/128")];

function isLoopback(host: string): boolean {
  if (host === "localhost") return true;
  const ip = parseIp(host);
  return ip !== undefined && LOOPBACK.some((c) => cidrContains(c, ip));
}

/** Answers are kept by the client only when they were given to a token holder. */
export function cacheAudience(config: Pick<ProxyConfig, "authFile" | "authSecret">): CacheAudience {
  return config.authFile !== undefined || config.authSecret !== undefined ? "private" : "public";
}
