import { X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createServer as createHttpServer, type RequestListener, type Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { createSecureContext } from "node:tls";
import type { Logger } from "pino";
import { watchFiles, type FileWatch } from "../watch";

/**
 * The proxy's listening server: plain HTTP, or HTTPS when a certificate and key are given (for
 * deployments with no TLS-terminating load balancer in front). The PEM files are watched and a
 * renewed pair replaces the old one for new connections (server.setSecureContext), so
 * cert-manager or certbot renewals need no restart. A pair that does not load (a key written
 * before its certificate, a broken file) keeps the one in use, and the reason is logged.
 */

export interface Listener {
  readonly server: Server;
  readonly scheme: "http" | "https";
  /** Stops watching the certificate files (the server is closed by its owner). */
  close(): void;
}

const SERVER_OPTIONS = { keepAliveTimeout: 65_000, headersTimeout: 66_000 };

interface KeyPair {
  readonly cert: Buffer;
  readonly key: Buffer;
}

export async function createListener(
  handler: RequestListener,
  options: { readonly tls?: { readonly cert: string; readonly key: string }; readonly logger: Logger },
): Promise<Listener> {
  const { tls, logger } = options;
  if (!tls)
    return { server: createHttpServer(SERVER_OPTIONS, handler), scheme: "http", close: () => undefined };

  let initial: KeyPair | undefined;
  // Until the server exists a loaded pair is kept for its creation; then it is handed to it.
  let use = (pair: KeyPair): void => {
    initial = pair;
  };
  const watch: FileWatch = watchFiles({
    paths: [tls.cert, tls.key],
    onChange: async () => {
      const [cert, key] = await Promise.all([readFile(tls.cert), readFile(tls.key)]);
      // Throws for a broken file or a key that does not belong to the certificate.
      createSecureContext({ cert, key });
      use({ cert, key });
      logger.info(
        { event: "tls_loaded", cert: tls.cert, notAfter: new X509Certificate(cert).validTo },
        "TLS certificate loaded",
      );
    },
    onError: (err) =>
      logger.error(
        { event: "tls_reload_failed", cert: tls.cert, key: tls.key, reason: reasonOf(err) },
        "the TLS certificate or key could not be loaded; the ones in use stay",
      ),
  });
  try {
    await watch.check();
  } catch (err) {
    watch.close();
    throw new Error(
      `GOMIRROR_TLS_CERT=${JSON.stringify(tls.cert)}, GOMIRROR_TLS_KEY=${JSON.stringify(tls.key)}: ${reasonOf(err)}`,
    );
  }
  const server = createHttpsServer({ ...SERVER_OPTIONS, ...initial }, handler);
  use = (pair) => server.setSecureContext(pair);
  return { server, scheme: "https", close: () => watch.close() };
}

function reasonOf(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  const message = err instanceof Error ? err.message : String(err);
  return code && !message.includes(code) ? `${code}: ${message}` : message;
}
