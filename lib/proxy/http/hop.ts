import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";

/**
 * Every request this proxy sends to an upstream proxy carries its hop id; one that comes back
 * to it (an upstream list that leads to itself, through a load balancer or another proxy) is
 * answered 508 at once instead of asking itself again until the request times out.
 */
export const HOP_HEADER = "gomirror-hop";

/**
 * The environment variable through which GOMIRROR_WORKERS processes share one hop id: a loop
 * may come back through another worker of the same port.
 */
export const HOP_ENV = "GOMIRROR_HOP_ID";

/** This proxy's hop id: its workers' shared one, or a new one. */
export function hopId(env: NodeJS.ProcessEnv = process.env): string {
  const given = env[HOP_ENV];
  return given !== undefined && /^[0-9a-f]{16}$/.test(given) ? given : randomBytes(8).toString("hex");
}

/**
 * Answers a request that carries `hop` with 508 Loop Detected and returns true; the first one
 * is logged, later ones only counted by the request metrics (a loop sends many).
 */
export function loopGuard(
  hop: string,
  logger: Logger,
): (req: IncomingMessage, res: ServerResponse) => boolean {
  let logged = false;
  return (req, res) => {
    const seen = req.headers[HOP_HEADER];
    if (seen === undefined || !(Array.isArray(seen) ? seen : seen.split(",")).some((h) => h.trim() === hop)) {
      return false;
    }
    const message =
      "loop detected: this request came from this gomirror itself, so its upstream list (GOPROXY) " +
      "leads back to it; give the proxy a GOPROXY of real upstreams (e.g. https://proxy.golang.org,direct)\n";
    if (!logged) {
      logged = true;
      logger.error({ event: "loop_detected", url: req.url }, message.trim());
    }
    res.writeHead(508, {
      "content-type": "text/plain; charset=utf-8",
      "content-length": Buffer.byteLength(message),
      "cache-control": "no-store",
    });
    res.end(req.method === "HEAD" ? undefined : message);
    return true;
  };
}
