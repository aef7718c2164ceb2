import { readdir, rm, stat } from "node:fs/promises";
import type { Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Dispatcher } from "undici";
import type { Logger } from "pino";
import type { SecretReader } from "./auth/token-secret";
import { cacheAudience, createAccessControl } from "./auth/wiring";
import { CachedSource } from "./cache/cached-source";
import { ConfigError, type ProxyConfig } from "./config";
import { createRequestHandler, type SumdbHandler, type ZipRedirector } from "./http/handler";
import { startMetricsListener } from "./http/metrics-listener";
import type { GitSource } from "./git/source";
import { UpstreamBreaker } from "./sources/breaker";
import { lazySource } from "./sources/lazy";
import { createSumdbWiring } from "./sumdb/wiring";
import { createLogger } from "./logger";
import { ProxyMetrics } from "./metrics";
import { createListener } from "./net/listener";
import {
  noDirectSource,
  offSource,
  PrivateRoutingSource,
  ProxyChainSource,
  type ChainEntry,
} from "./sources/chain";
import type { ModuleSource } from "./sources/source";
import { createUpstreamAgent, UpstreamProxySource } from "./sources/upstream";
import { DiskLimitStorage, limitDiskStorage } from "./storage/disk-limit";
import { openStorage } from "./storage/open";
import { canPresign, type PresigningStorage, type Storage } from "./storage/storage";

/** Parts a caller may supply instead of the ones built from the configuration. */
export interface ProxyDeps {
  readonly storage?: Storage;
  /** The `direct` source (git) for GONOPROXY paths and `direct` in GOPROXY. */
  readonly direct?: ModuleSource;
  readonly logger?: Logger;
  readonly metrics?: ProxyMetrics;
  /** Wraps the routed source before caching (checksum verification plugs in here). */
  readonly verify?: (source: ModuleSource) => ModuleSource;
  readonly sumdb?: SumdbHandler;
  readonly zipRedirect?: ZipRedirector;
  /** Reads the token secret (GOMIRROR_AUTH_SECRET); AWS Secrets Manager by default. */
  readonly secretReader?: SecretReader;
}

export interface RunningProxy {
  /** Base URL, e.g. `http://127.0.0.1:3000`: what clients put in GOPROXY. */
  readonly url: string;
  /** Base URL of the separate /metrics listener (GOMIRROR_METRICS_LISTEN), when there is one. */
  readonly metricsUrl: string | undefined;
  readonly server: Server;
  readonly storage: Storage;
  readonly metrics: ProxyMetrics;
  readonly logger: Logger;
  /** Stops accepting, lets in-flight requests and downloads finish (within the grace period), then closes. */
  close(): Promise<void>;
}

/**
 * The module source stack: GOPROXY chain (each upstream behind its circuit breaker), private
 * routing, verification, then the cache.
 */
export function buildSource(
  config: ProxyConfig,
  parts: {
    storage: Storage;
    logger: Logger;
    metrics: ProxyMetrics;
    direct?: ModuleSource;
    verify?: (s: ModuleSource) => ModuleSource;
    /** The connection pool for upstream proxies. @default a new one */
    agent?: Dispatcher;
    /** The clock of the upstreams' circuit breakers (tests). @default Date.now */
    now?: () => number;
  },
): CachedSource {
  const direct = parts.direct ?? noDirectSource();
  const agent = parts.agent ?? createUpstreamAgent(config.upstreamTimeoutSeconds * 1000);
  const entries: ChainEntry[] = config.proxyList.map((entry) => {
    switch (entry.kind) {
      case "url": {
        const upstream = new UpstreamProxySource(entry.url, {
          timeoutMs: config.upstreamTimeoutSeconds * 1000,
          dispatcher: agent,
          metrics: parts.metrics,
          logger: parts.logger,
        });
        return { source: withBreaker(upstream, config, parts), fallBackOnError: entry.fallBackOnError };
      }
      case "direct":
        return { source: direct, fallBackOnError: entry.fallBackOnError, direct: true };
      case "off":
        return { source: offSource(), fallBackOnError: false };
    }
  });
  const routed = new PrivateRoutingSource(config.noProxy, direct, new ProxyChainSource(entries));
  const verified = parts.verify ? parts.verify(routed) : routed;
  return new CachedSource(verified, parts.storage, {
    ttlSeconds: config.cacheTtlSeconds,
    logger: parts.logger,
    metrics: parts.metrics,
  });
}

/** An upstream skipped for a while after repeated failures (GOMIRROR_UPSTREAM_MAX_FAILS). */
function withBreaker(
  upstream: UpstreamProxySource,
  config: ProxyConfig,
  parts: { logger: Logger; metrics: ProxyMetrics; now?: () => number },
): UpstreamBreaker {
  return new UpstreamBreaker(upstream, {
    label: upstream.label,
    maxFails: config.upstreamMaxFails,
    failWindowMs: config.upstreamFailWindowSeconds * 1000,
    failTimeoutMs: config.upstreamFailTimeoutSeconds * 1000,
    now: parts.now,
    metrics: parts.metrics,
    logger: parts.logger,
  });
}

/** Lifetime of the URLs handed out in redirect mode: long enough for a slow download to start. */
const REDIRECT_URL_SECONDS = 300;

/** The git source for `direct` and GONOPROXY paths (also used by `gomirror warm --storage`). */
export function loadGitSource(config: ProxyConfig, logger: Logger): GitSource {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use
  const { GitSource: Source } = require("./git/source") as typeof import("./git/source");
  return Source.fromConfig(config, logger);
}

/** Redirect mode: a zip request is answered with a presigned URL of the stored object. */
function presignedZips(source: CachedSource, storage: PresigningStorage): ZipRedirector {
  return async (path, version) =>
    storage.presignedGetUrl(await source.storedZip(path, version), REDIRECT_URL_SECONDS);
}

/** Spool directories older than this were left by a process that was stopped mid-download. */
const STALE_SPOOL_MS = 60 * 60 * 1000;

/** Removes what interrupted downloads left in the temp directory. */
async function sweepSpools(logger: Logger): Promise<void> {
  const dir = tmpdir();
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    if (!/^gomirror-(zip|verify)-/.test(name)) continue;
    const spool = join(dir, name);
    const info = await stat(spool).catch(() => undefined);
    if (info && Date.now() - info.mtimeMs > STALE_SPOOL_MS) {
      await rm(spool, { recursive: true, force: true });
      logger.info({ event: "spool_swept", dir: spool }, "removed a stale download spool");
    }
  }
}

const READINESS_PROBE_KEY = "gomirror-readiness-probe";
const READINESS_CACHE_MS = 2000;

/** Starts the proxy on `config.listen` and resolves once it accepts connections. */
export async function startProxy(config: ProxyConfig, deps: ProxyDeps = {}): Promise<RunningProxy> {
  const logger = deps.logger ?? createLogger(config.logLevel);
  const metrics = deps.metrics ?? new ProxyMetrics({ processMetrics: true });
  const storage = limitDiskStorage(
    deps.storage ??
      openStorage(config.storage, {
        endpoint: config.s3Endpoint,
        forcePathStyle: config.s3ForcePathStyle,
        region: config.s3Region,
        lastRequested: config.s3LastRequested,
        logger,
      }),
    config.diskMaxBytes,
    { logger, metrics },
  );
  let presigning: PresigningStorage | undefined;
  if (config.zipRedirect && !deps.zipRedirect) {
    if (!canPresign(storage)) {
      throw new ConfigError("GOMIRROR_ZIP_REDIRECT=true needs a storage that can presign URLs (S3)");
    }
    presigning = storage;
  }
  // The token file is read first: a bad one stops startup before anything else starts.
  const access = await createAccessControl(config, { logger, metrics, secretReader: deps.secretReader });
  // The git source serves GONOPROXY paths and `direct`. Its client is loaded on the first such
  // request only; once made, it owns a work directory until close().
  let git: GitSource | undefined;
  const direct = deps.direct ?? lazySource(() => (git = loadGitSource(config, logger)));
  // Public modules are checked against the checksum database before they are cached.
  const sumdb = createSumdbWiring(config, { storage, logger, metrics, cacheAudience: cacheAudience(config) });
  const verify = deps.verify ?? sumdb.verify;
  const agent = createUpstreamAgent(config.upstreamTimeoutSeconds * 1000);
  const source = buildSource(config, { storage, logger, metrics, direct, verify, agent });
  void sweepSpools(logger);

  let shuttingDown = false;
  let readyCache: { at: number; ok: boolean } | undefined;
  const ready = async (): Promise<boolean> => {
    if (shuttingDown) return false;
    const now = Date.now();
    if (readyCache && now - readyCache.at < READINESS_CACHE_MS) return readyCache.ok;
    // A listing, not a stat: on S3 a HEAD cannot tell a missing bucket from a missing key.
    const listing = storage.list(READINESS_PROBE_KEY)[Symbol.asyncIterator]();
    const ok = await listing.next().then(
      () => true,
      (err: unknown) => {
        logger.error({ event: "storage_unready", err: String(err) }, "storage is not reachable");
        return false;
      },
    );
    readyCache = { at: now, ok };
    return ok;
  };

  const handler = createRequestHandler({
    cacheAudience: cacheAudience(config),
    source,
    logger,
    metrics,
    ttlSeconds: config.cacheTtlSeconds,
    ready,
    sumdb: deps.sumdb ?? sumdb.handler,
    zipRedirect: deps.zipRedirect ?? (presigning && presignedZips(source, presigning)),
    clientOf: access?.gate.clientOf,
  });
  const guarded = access ? access.gate.wrap(handler) : handler;

  let active = 0;
  let idle: (() => void) | undefined;
  const listener = await createListener(
    (req, res) => {
      active++;
      if (shuttingDown) res.setHeader("connection", "close");
      res.on("close", () => {
        active--;
        if (active === 0) idle?.();
      });
      guarded(req, res);
    },
    { tls: tlsFiles(config), logger },
  );
  const server = listener.server;
  const sockets = new Set<Socket>();
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.listen.port, config.listen.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  const url = `${listener.scheme}://${host}:${address.port}`;
  const metricsListener =
    config.metricsListen && (await startMetricsListener(config.metricsListen, metrics, logger));
  logger.info(
    { event: "listening", url, storage: config.storage.replace(/\/\/[^/@]*@/, "//") },
    "gomirror listening",
  );

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      shuttingDown = true;
      // Readiness fails from now on; keep serving until load balancers have noticed.
      if (config.shutdownDelaySeconds > 0) {
        logger.info({ event: "shutdown_delay", seconds: config.shutdownDelaySeconds }, "draining");
        await new Promise((resolve) => setTimeout(resolve, config.shutdownDelaySeconds * 1000));
      }
      server.close();
      server.closeIdleConnections();
      const grace = new Promise<void>((resolve) =>
        setTimeout(resolve, config.shutdownGraceSeconds * 1000).unref(),
      );
      const drained = new Promise<void>((resolve) => {
        if (active === 0) resolve();
        else idle = resolve;
      });
      await Promise.race([Promise.all([drained, source.drain()]), grace]);
      server.closeAllConnections();
      for (const socket of sockets) socket.destroy();
      listener.close();
      access?.close();
      await metricsListener?.close();
      await git?.close();
      await agent.close().catch(() => undefined);
      // The last-served times of a disk store kept under GOMIRROR_DISK_MAX outlive the process.
      if (storage instanceof DiskLimitStorage) await storage.close();
      logger.info({ event: "stopped" }, "gomirror stopped");
    })();
    return closing;
  };

  return { url, metricsUrl: metricsListener?.url, server, storage, metrics, logger, close };
}

/** The certificate and key files when the proxy serves HTTPS itself. */
function tlsFiles(config: ProxyConfig): { cert: string; key: string } | undefined {
  return config.tlsCert !== undefined && config.tlsKey !== undefined
    ? { cert: config.tlsCert, key: config.tlsKey }
    : undefined;
}
