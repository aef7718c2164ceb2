import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import type { ProxyMetrics } from "../metrics";

/**
 * `/metrics` on a listener of its own (GOMIRROR_METRICS_LISTEN), without a token, for a scraper
 * inside the cluster: the main port can then require tokens everywhere while Prometheus needs
 * none. It serves nothing else, so it gives away no module and no private path.
 */

export interface MetricsListener {
  readonly url: string;
  close(): Promise<void>;
}

export async function startMetricsListener(
  listen: { readonly host: string; readonly port: number },
  metrics: ProxyMetrics,
  logger: Logger,
): Promise<MetricsListener> {
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?", 1)[0];
    const send = (status: number, type: string, body: string): void => {
      res.writeHead(status, {
        "content-type": type,
        "content-length": Buffer.byteLength(body),
        "cache-control": "no-store",
      });
      res.end(req.method === "HEAD" ? undefined : body);
    };
    if (path !== "/metrics")
      return send(404, "text/plain; charset=utf-8", "not found: only /metrics is served here\n");
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("allow", "GET, HEAD");
      return send(405, "text/plain; charset=utf-8", "method not allowed\n");
    }
    metrics.registry.metrics().then(
      (text) => send(200, metrics.registry.contentType, text),
      (err: unknown) => {
        logger.error({ event: "metrics_failed", err: String(err) }, "metrics could not be collected");
        send(500, "text/plain; charset=utf-8", "internal error\n");
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(listen.port, listen.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  logger.info({ event: "metrics_listening", url }, "metrics listener up");
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
