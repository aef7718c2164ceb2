import { existsSync } from "node:fs";
import { networkInterfaces } from "node:os";
import type { Logger } from "pino";
import { ConfigError, type ProxyConfig } from "./config";
import { READINESS_PROBE_KEY } from "./readiness";
import type { ProxyListEntry } from "./sources/proxy-list";
import type { Storage } from "./storage/storage";
import { parseGosumdb } from "./sumdb/config";
import { VERSION } from "./version";

/** A URL without its user and password, for logs. */
function withoutCredentials(url: string): string {
  return url.replace(/\/\/[^/@]*@/, "//");
}

/** The GOPROXY list as text again, separators included, credentials left out. */
export function describeProxyList(entries: readonly ProxyListEntry[]): string {
  return entries
    .map((entry, i) => {
      const text = entry.kind === "url" ? withoutCredentials(entry.url) : entry.kind;
      const sep =
        i === 0 ? "" : (entries[i - 1] as { fallBackOnError?: boolean }).fallBackOnError ? "|" : ",";
      return `${sep}${text}`;
    })
    .join("");
}

/** Who may read: the client tokens' source and what clients without one get. */
function authMode(config: ProxyConfig): string {
  if (config.authFile !== undefined)
    return `tokens from file ${config.authFile}, anonymous: ${config.anonymous}`;
  if (config.authSecret !== undefined)
    return `tokens from secret ${config.authSecret}, anonymous: ${config.anonymous}`;
  return "none: every client may read everything";
}

/** What the startup line says: everything a new user checks first. */
export function startupSummary(config: ProxyConfig, url: string): Record<string, unknown> {
  return {
    url,
    version: VERSION,
    listen: `${config.listen.host.includes(":") ? `[${config.listen.host}]` : config.listen.host}:${config.listen.port}`,
    storage: withoutCredentials(config.storage),
    goproxy: describeProxyList(config.proxyList),
    gosumdb: config.sumdb,
    goprivate: config.private || "(none)",
    gonoproxy: config.noProxy || "(none)",
    gonosumdb: config.noSumdb || "(none)",
    auth: authMode(config),
    ...(config.netrcPath !== undefined ? { netrc: config.netrcPath } : {}),
  };
}

/** Settings that start fine but are likely not what was meant. */
export function startupWarnings(config: ProxyConfig): { event: string; message: string }[] {
  const warnings: { event: string; message: string }[] = [];
  if (parseGosumdb(config.sumdb) === undefined) {
    warnings.push({
      event: "sumdb_off",
      message:
        "GOSUMDB=off: public modules are cached without checking them against a checksum database; " +
        "set GOSUMDB=sum.golang.org (or GONOSUMDB for private paths only)",
    });
  }
  if (config.netrcPath !== undefined && !existsSync(config.netrcPath)) {
    warnings.push({
      event: "netrc_missing",
      message: `NETRC=${config.netrcPath} does not exist: git servers get no credentials; fix the path or unset NETRC`,
    });
  }
  return warnings;
}

/** Logs the startup line and its warnings. */
export function logStartup(logger: Logger, config: ProxyConfig, url: string): void {
  logger.info(
    { event: "listening", ...startupSummary(config, url) },
    `gomirror ${VERSION} listening on ${url}`,
  );
  for (const warning of startupWarnings(config)) logger.warn({ event: warning.event }, warning.message);
}

const LOOPBACK_NAMES = new Set(["localhost", "127.0.0.1", "::1", "0.0.0.0", "::", ""]);

function isLoopback(host: string): boolean {
  return LOOPBACK_NAMES.has(host) || /^127\./.test(host) || host.endsWith(".localhost");
}

/** The addresses of this machine's own interfaces. */
function ownAddresses(): Set<string> {
  const own = new Set<string>();
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) own.add(a.address);
  return own;
}

/**
 * Whether `url` reaches `listen`: the same port, on the same host, a loopback name for a
 * loopback or wildcard listener, or one of this machine's addresses for a wildcard listener.
 */
export function reachesItself(url: string, listen: { host: string; port: number }): boolean {
  if (listen.port === 0) return false; // a port picked at start: no upstream can name it
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") return false;
  const port = parsed.port !== "" ? Number(parsed.port) : parsed.protocol === "https:" ? 443 : 80;
  if (port !== listen.port) return false;
  const host = parsed.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  const own = listen.host.toLowerCase();
  if (host === own) return true;
  const wildcard = own === "" || own === "0.0.0.0" || own === "::";
  if (isLoopback(host) && (wildcard || isLoopback(own))) return true;
  return wildcard && ownAddresses().has(host);
}

/**
 * Refuses a GOPROXY list that names the proxy itself: the shell that ran
 * `export GOPROXY=http://127.0.0.1:3000` for the go command also started the proxy, which then
 * asks itself for every module until the request times out.
 */
export function checkSelfLoop(config: ProxyConfig): void {
  for (const entry of config.proxyList) {
    if (entry.kind !== "url" || !reachesItself(entry.url, config.listen)) continue;
    const url = withoutCredentials(entry.url);
    throw new ConfigError(
      `GOPROXY=${describeProxyList(config.proxyList)} names this proxy itself (${url}, and it listens on ` +
        `${config.listen.host || "*"}:${config.listen.port}): every request would ask itself until it times out. ` +
        "The proxy's GOPROXY is its upstream list; start it with a real one, e.g. " +
        "`GOPROXY=https://proxy.golang.org,direct npm start`, and set GOPROXY=" +
        `${url} only for the go command`,
    );
  }
}

/**
 * Writes the readiness probe object once: a storage location that cannot be written (a path
 * under a regular file, a read-only directory) stops startup instead of caching nothing.
 */
export async function checkStorageWritable(storage: Storage, location: string): Promise<void> {
  try {
    await storage.put(READINESS_PROBE_KEY, Buffer.from(`${new Date().toISOString()}\n`));
    await storage.delete(READINESS_PROBE_KEY);
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new ConfigError(
      `GOMIRROR_STORAGE=${location} cannot be written (${reason}: ${(err as Error).message}); ` +
        "give a directory this user can create and write",
    );
  }
}

/**
 * The one line that says why listening failed, for the failures a user can fix by choosing
 * another address; undefined for anything else.
 */
export function listenFailure(
  err: unknown,
  config: Pick<ProxyConfig, "listen" | "metricsListen">,
): string | undefined {
  const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
  if (e?.code !== "EADDRINUSE" && e?.code !== "EACCES" && e?.code !== "EADDRNOTAVAIL") return undefined;
  const metrics =
    config.metricsListen !== undefined &&
    e.port === config.metricsListen.port &&
    e.port !== config.listen.port;
  const given = metrics ? config.metricsListen! : config.listen;
  const host = given.host.includes(":") ? `[${given.host}]` : given.host || "*";
  const address = `${host}:${e.port ?? given.port}`;
  const setting = metrics ? "GOMIRROR_METRICS_LISTEN or --metrics-listen" : "GOMIRROR_LISTEN or --listen";
  switch (e.code) {
    case "EADDRINUSE":
      return `${address} is already in use (another gomirror?); set ${setting} to another address`;
    case "EACCES":
      return `${address}: this user may not listen there (ports below 1024 need privileges); set ${setting} to a port above 1023`;
    default:
      return `${address}: no such address on this machine; set ${setting} to one of its addresses (or 0.0.0.0 for all)`;
  }
}
