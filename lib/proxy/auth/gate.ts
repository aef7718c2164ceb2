import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import type { Logger } from "pino";
import type { ProxyMetrics } from "../metrics";
import { formatIp, type CidrSet } from "../net/cidr";
import { clientAddress, rateLimitKey } from "../net/client-address";
import type { AccessPolicy } from "./access";
import { readCredentials } from "./credentials";
import type { FailureLimiter } from "./rate-limit";
import type { TokenRecord } from "./token";

/**
 * The gate in front of the request handler: network allowlist, then the token, then what the
 * token may read. `/healthz` and `/readyz` always pass (probes, no data). Refusals are 401
 * (no or bad credentials, with a Basic challenge so the go command and curl know to send
 * them), 403 (address not allowed, private path outside the token's scopes) or 429 (too many
 * failed attempts): never 404 or 410, which would send the go command on to the next entry of
 * its GOPROXY list with the private path.
 */

export interface TokenAuth {
  /** The token file. */
  readonly tokens: { verify(token: string): TokenRecord | undefined };
  readonly policy: AccessPolicy;
  readonly limiter: FailureLimiter;
}

export interface AccessGateOptions {
  /** Tokens (GOMIRROR_AUTH_FILE); undefined for an allowlist alone. */
  readonly auth?: TokenAuth;
  /** Addresses allowed in (GOMIRROR_ALLOW_CIDRS); undefined for all. */
  readonly allow?: CidrSet;
  /** Load balancers whose X-Forwarded-For is believed (GOMIRROR_TRUSTED_PROXIES). */
  readonly trusted?: CidrSet;
  readonly logger: Logger;
  readonly metrics: Pick<ProxyMetrics, "authRequests">;
}

/** Who made a request that passed the gate: what its request log line says. */
export interface RequestClient {
  readonly tokenName?: string;
  readonly clientIp?: string;
}

export interface AccessGate {
  wrap(handler: RequestListener): RequestListener;
  clientOf(req: IncomingMessage): RequestClient | undefined;
  /** Whether the client of a request that passed the gate may read module `path`. */
  mayRead(req: IncomingMessage, path: string): boolean;
}

type Outcome = "ok" | "unauthenticated" | "forbidden" | "rate_limited";

/** Metric label values for requests without an accepted token; `(` never starts a token name. */
const NO_TOKEN = "(none)";
const REFUSED_TOKEN = "(invalid)";

const CHALLENGE = 'Basic realm="gomirror"';

export function createAccessGate(options: AccessGateOptions): AccessGate {
  const { auth, allow, trusted, logger, metrics } = options;
  const clients = new WeakMap<IncomingMessage, RequestClient>();
  const tokensOf = new WeakMap<IncomingMessage, TokenRecord>();

  function refuse(
    req: IncomingMessage,
    res: ServerResponse,
    status: number,
    outcome: Outcome,
    label: string,
    client: RequestClient,
    message: string,
    headers: Record<string, string | number> = {},
  ): void {
    metrics.authRequests.inc({ token: label, outcome });
    const body = Buffer.from(`${message}\n`);
    res.writeHead(status, {
      ...headers,
      "content-type": "text/plain; charset=utf-8",
      "content-length": body.length,
      "cache-control": "no-store",
    });
    res.end(req.method === "HEAD" ? undefined : body);
    if (logger.isLevelEnabled("info")) {
      logger.info(
        { event: "request", method: req.method, url: req.url, status, outcome, ...client },
        "request refused",
      );
    }
  }

  /** Who the client is if it may go on; undefined once it has been refused. */
  function admit(req: IncomingMessage, res: ServerResponse): RequestClient | undefined {
    const address = clientAddress(req.socket.remoteAddress, req.headers["x-forwarded-for"], trusted);
    const clientIp = address && formatIp(address);
    if (allow && !(address && allow.contains(address))) {
      refuse(req, res, 403, "forbidden", NO_TOKEN, { clientIp }, forbiddenAddress(clientIp));
      return undefined;
    }
    if (!auth) {
      metrics.authRequests.inc({ token: NO_TOKEN, outcome: "ok" });
      return { clientIp };
    }
    const { tokens, policy, limiter } = auth;
    const credentials = readCredentials(req.headers.authorization);
    let token: TokenRecord | undefined;
    if (credentials.kind !== "none") {
      const key = rateLimitKey(address);
      const wait = limiter.retryAfterSeconds(key);
      if (wait > 0) {
        refuse(req, res, 429, "rate_limited", REFUSED_TOKEN, { clientIp }, tooMany(wait), {
          "retry-after": wait,
        });
        return undefined;
      }
      token = credentials.kind === "token" ? tokens.verify(credentials.token) : undefined;
      if (!token) {
        if (limiter.recordFailure(key)) {
          logger.warn(
            { event: "auth_rate_limited", clientIp, limitedAs: key },
            "too many failed authentication attempts: refusing this client's attempts for a while",
          );
        }
        const message = "unauthorized: the token was not accepted (unknown, revoked or mistyped)";
        refuse(req, res, 401, "unauthenticated", REFUSED_TOKEN, { clientIp }, message, {
          "www-authenticate": CHALLENGE,
        });
        return undefined;
      }
    }
    const client: RequestClient = { tokenName: token?.name, clientIp };
    const decision = policy.decide(req.url ?? "/", token);
    if (!decision.allowed) {
      if (token) {
        const what = decision.path ?? "this path";
        const message = `forbidden: token ${JSON.stringify(token.name)} may not read ${what}: it is outside the token's scopes`;
        refuse(req, res, 403, "forbidden", token.name, client, message);
      } else {
        const message = "unauthorized: this proxy needs a token (netrc password, or Authorization: Bearer)";
        refuse(req, res, 401, "unauthenticated", NO_TOKEN, client, message, {
          "www-authenticate": CHALLENGE,
        });
      }
      return undefined;
    }
    metrics.authRequests.inc({ token: token?.name ?? NO_TOKEN, outcome: "ok" });
    if (token) tokensOf.set(req, token);
    return client;
  }

  return {
    wrap: (handler) => (req, res) => {
      const path = (req.url ?? "/").split("?", 1)[0];
      if (path === "/healthz" || path === "/readyz") {
        handler(req, res);
        return;
      }
      let client: RequestClient | undefined;
      try {
        client = admit(req, res);
      } catch (err) {
        // A fault of ours must not let the request through, nor take the process down.
        logger.error({ event: "auth_error", url: req.url, err: String(err) }, "access check failed");
        if (!res.headersSent) {
          res.writeHead(500, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" });
        }
        res.end("internal error\n");
        return;
      }
      if (!client) return;
      clients.set(req, client);
      handler(req, res);
    },
    clientOf: (req) => clients.get(req),
    mayRead: (req, path) => !auth || auth.policy.mayRead(path, tokensOf.get(req)),
  };
}

function forbiddenAddress(clientIp: string | undefined): string {
  return clientIp
    ? `forbidden: ${clientIp} is not among the addresses allowed to use this proxy`
    : "forbidden: the client's address could not be told, and this proxy admits listed addresses only";
}

function tooMany(seconds: number): string {
  return `too many failed authentication attempts from this address; try again in ${seconds} s`;
}
