import type { Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { Dispatcher } from "undici";
import type { Logger } from "pino";
import type { SecretReader } from "./auth/token-secret";
import { cacheAudience, createAccessControl } from "./auth/wiring";
import { CachedSource } from "./cache/cached-source";
import { SpoolDirectory, sweepSpools } from "./cache/spool-directory";
import { ConfigError, type ProxyConfig } from "./config";
import { createRequestHandler, type ZipRedirector } from "./http/handler";
import { startMetricsListener } from "./http/metrics-listener";
import { hopId, loopGuard } from "./http/hop";
import type { GitSource } from "./git/source";
import { UpstreamBreaker } from "./sources/breaker";
import { lazySource } from "./sources/lazy";
import type { SumdbHandler } from "./sumdb/handler";
import { createSumdbWiring } from "./sumdb/wiring";
import { createIndexFeed } from "./sync/feed";
import { IndexedStorage } from "./sync/indexed-storage";
import { createLogger, logDestination } from "./logger";
import { ProxyMetrics } from "./metrics";
import { createListener } from "./net/listener";
import { readinessProbe } from "./readiness";
import { checkSelfLoop, checkStorageWritable, describeProxyList, logStartup } from "./startup";
import { statusPage, type StatusFacts } from "./http/status";
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
import { openConfiguredStorage } from "./storage/open";
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
  /** Where downloads are spooled. @default the temp directory, bounded by GOMIRROR_SPOOL_MAX */
  readonly spools?: SpoolDirectory;
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
    /**
     * Where zips are spooled. @default a directory in the temp directory, bounded by
     * `config.spoolMaxBytes`, that the source's drain() removes
     */
    spools?: SpoolDirectory;
    /** The clock of the upstreams' circuit breakers (tests). @default Date.now */
    now?: () => number;
    /** This proxy's hop id, sent to upstreams (lib/proxy/http/hop.ts). */
    hop?: string;
    /**
     * Prefetch as `config.prefetch` says: the server does; commands fetch exactly what they
     * select. @default false
     */
    prefetch?: boolean;
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
          hop: parts.hop,
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
    spools: parts.spools,
    spoolMaxBytes: config.spoolMaxBytes,
    memoryBytes: config.memoryCacheBytes,
    prefetch: parts.prefetch ? config.prefetch : "off",
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

/** The client of the configured checksum database; undefined for GOSUMDB=off. */
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

/** Starts the proxy on `config.listen` and resolves once it accepts connections. */
export async function startProxy(config: ProxyConfig, deps: ProxyDeps = {}): Promise<RunningProxy> {
  // A GOPROXY list that names this proxy is refused before anything starts.
  checkSelfLoop(config);
  const logger = deps.logger ?? createLogger(config.logLevel, logDestination(config.logFormat));
  const metrics = deps.metrics ?? new ProxyMetrics({ processMetrics: true });
  const storage = limitDiskStorage(
    deps.storage ?? openConfiguredStorage(config, { renewReads: true, logger }),
    config.diskMaxBytes,
    { logger, metrics },
  );
  // A disk store that cannot be written stops startup (S3 is checked by /readyz: no network here).
  if (!deps.storage && !config.storage.startsWith("s3://"))
    await checkStorageWritable(storage, config.storage);
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
  // Public modules are checked against the checksum database before they are cached, and the
  // database is proxied under /sumdb/ (both off with GOSUMDB=off).
  // Sent with every upstream and checksum database request, so that one coming back is refused.
  const hop = hopId();
  const sumdb = createSumdbWiring(config, {
    storage,
    logger,
    metrics,
    cacheAudience: cacheAudience(config),
    hop,
  });
  const verify = deps.verify ?? sumdb.verify;
  const agent = createUpstreamAgent(config.upstreamTimeoutSeconds * 1000);
  const spools =
    deps.spools ?? new SpoolDirectory({ maxBytes: config.spoolMaxBytes, gauge: metrics.spoolBytes });
  // What crashed processes left in the spool directory goes before this one adds its own.
  await sweepSpools(spools.root, logger);
  // Every module file the cache stores is recorded for /index (and `gomirror sync` of peers).
  const indexed = new IndexedStorage(storage, logger);
  const source = buildSource(config, {
    storage: indexed,
    logger,
    metrics,
    direct,
    verify,
    agent,
    spools,
    hop,
    prefetch: true,
  });

  let shuttingDown = false;
  const probe = readinessProbe({ storage, spools, logger });
  const ready = async (): Promise<boolean> => !shuttingDown && (await probe());

  const statusFacts: StatusFacts = {
    goproxy: describeProxyList(config.proxyList),
    gosumdb: config.sumdb,
    scheme: config.tlsCert !== undefined ? "https" : "http",
    tokens: config.authFile !== undefined || config.authSecret !== undefined,
    metrics,
    startedAt: new Date(),
  };
  const handler = createRequestHandler({
    cacheAudience: cacheAudience(config),
    source,
    logger,
    metrics,
    ttlSeconds: config.cacheTtlSeconds,
    ready,
    sumdb: deps.sumdb ?? sumdb.handler,
    index: createIndexFeed({ log: indexed.index, mayRead: access?.gate.mayRead }),
    zipRedirect: deps.zipRedirect ?? (presigning && presignedZips(source, presigning)),
    clientOf: access?.gate.clientOf,
    status: (req) => statusPage(req, statusFacts),
  });
  const guarded = access ? access.gate.wrap(handler) : handler;
  const looped = loopGuard(hop, logger);

  let active = 0;
  let idle: (() => void) | undefined;
  // One listener function for every response, not a new closure per request.
  const responseClosed = (): void => {
    active--;
    if (active === 0) idle?.();
  };
  const listener = await createListener(
    (req, res) => {
      active++;
      if (shuttingDown) res.setHeader("connection", "close");
      res.on("close", responseClosed);
      if (!looped(req, res)) guarded(req, res);
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
  logStartup(logger, config, url);

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
      // Past the grace period, an upstream answer still coming (a stalled one) has nobody to go to.
      await agent.destroy().catch(() => undefined);
      await spools.remove();
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
