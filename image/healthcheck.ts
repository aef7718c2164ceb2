import http from "node:http";
import https from "node:https";
import { loadConfig } from "../lib/proxy/config";

/**
 * The image's HEALTHCHECK: asks the server inside the same container for `/healthz` and exits 0
 * on a 200, 1 otherwise. Bundled apart from the server so a probe every few seconds parses a
 * few kilobytes of JavaScript instead of the whole proxy, and needs nothing but Node (distroless
 * bases have no curl, wget or shell). The address comes from the server's own configuration
 * code, so both read GOMIRROR_LISTEN (and whether TLS is on) the same way.
 */

/** Where the probe connects. */
export interface ProbeTarget {
  readonly scheme: "http" | "https";
  readonly host: string;
  readonly port: number;
}

/** The server's listen address, with a wildcard turned into loopback of the same family. */
export function probeTarget(env: NodeJS.ProcessEnv): ProbeTarget {
  const config = loadConfig({ env, argv: [] });
  const scheme = config.tlsCert !== undefined ? "https" : "http";
  const { host, port } = config.listen;
  if (host === "" || host === "0.0.0.0") return { scheme, host: "127.0.0.1", port };
  if (host === "::" || host === "::0") return { scheme, host: "::1", port };
  return { scheme, host, port };
}

/** Resolves to the HTTP status of GET /healthz, or rejects on a connection error or timeout. */
export function probe(target: ProbeTarget, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const options = {
      host: target.host,
      port: target.port,
      path: "/healthz",
      timeout: timeoutMs,
      agent: false,
    };
    // The server's own certificate names its public host, not the loopback address asked here,
    // and /healthz carries nothing secret: the probe does not check it.
    const req = (target.scheme === "https" ? https : http).get(
      target.scheme === "https" ? { ...options, rejectUnauthorized: false } : options,
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on("error", reject);
  });
}

/** The probe as the HEALTHCHECK runs it: the exit code, and a reason on stderr when unhealthy. */
export async function healthcheck(env: NodeJS.ProcessEnv, timeoutMs = 2_000): Promise<number> {
  let where = "the server";
  try {
    const target = probeTarget(env);
    where = `${target.scheme}://${target.host.includes(":") ? `[${target.host}]` : target.host}:${target.port}/healthz`;
    const status = await probe(target, timeoutMs);
    if (status === 200) return 0;
    console.error(`healthcheck: ${where} answered ${status}, want 200`);
  } catch (err) {
    console.error(`healthcheck: ${where} failed: ${(err as Error).message}`);
  }
  return 1;
}

if (require.main === module) {
  healthcheck(process.env).then((code) => process.exit(code));
}
