import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Logger } from "pino";
import { ProxyError } from "../errors";
import type { ProxyMetrics } from "../metrics";
import type { IndexHandler } from "../sync/feed";
import { sortVersions } from "../module/semver";
import { FileBody } from "../storage/file-body";
import type { ModuleInfo, ModuleSource } from "../sources/source";
import type { SumdbHandler } from "../sumdb/handler";
import { cacheFor, cacheForever, type CacheAudience } from "./cache-control";
import { errorHeaders, messageFor, statusFor } from "./errors";
import { parseRoute, type Endpoint, type Route } from "./routes";

/** Gives a presigned URL for a stored zip, in redirect mode (S3 storage). */
export type ZipRedirector = (path: string, version: string) => Promise<string>;

export interface HandlerDeps {
  readonly source: ModuleSource;
  readonly logger: Logger;
  readonly metrics: ProxyMetrics;
  /** Seconds clients and CDNs may cache list, @latest and query answers. */
  readonly ttlSeconds: number;
  /** Whether the proxy takes traffic (storage reachable, not shutting down). */
  readonly ready: () => Promise<boolean>;
  /** Answers `/sumdb/<rest>` (the checksum database proxy). */
  readonly sumdb?: SumdbHandler;
  /** Serves `/index` (lib/proxy/sync/feed.ts). */
  readonly index?: IndexHandler;
  readonly zipRedirect?: ZipRedirector;
  /** Answers `/`: the status page. */
  readonly status?: (req: IncomingMessage) => Promise<{ readonly type: string; readonly body: string }>;
  /** Who may keep answers: "private" when clients need tokens. @default "public" */
  readonly cacheAudience?: CacheAudience;
  /** Who made a request (token name, address), for its log line; never the token itself. */
  readonly clientOf?: (
    req: IncomingMessage,
  ) => { readonly tokenName?: string; readonly clientIp?: string } | undefined;
}

/** Age and Last-Modified of an answer kept since `savedAt` (the checksum database offline). */
function keptSince(savedAt: Date | undefined): string[] {
  if (!savedAt) return [];
  const age = Math.max(0, Math.floor((Date.now() - savedAt.getTime()) / 1000));
  return ["age", String(age), "last-modified", savedAt.toUTCString()];
}

/** A header record as the flat list `writeHead` takes. */
function flat(headers: Readonly<Record<string, string>>): string[] {
  return Object.entries(headers).flat();
}

const TEXT = "text/plain; charset=utf-8";
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const idPrefix = randomBytes(4).toString("hex");
let idCounter = 0;

/**
 * JSON bodies of `.info` and `@latest` answers by the answer object. The cache below the handler
 * hands out the same (never modified) object for every hit, so a hot answer is encoded once.
 */
const infoBodies = new WeakMap<ModuleInfo, Buffer>();

function infoBody(info: ModuleInfo): Buffer {
  let body = infoBodies.get(info);
  if (!body) {
    body = Buffer.from(JSON.stringify(info));
    infoBodies.set(info, body);
  }
  return body;
}

/** One request and what the handler knows about it. */
interface Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly id: string;
  readonly head: boolean;
  /** performance.now() at arrival (a double: no BigInt made per request). */
  readonly started: number;
  endpoint: Endpoint;
}

function requestId(req: IncomingMessage): string {
  const given = req.headers["x-request-id"];
  if (typeof given === "string" && REQUEST_ID.test(given)) return given;
  idCounter = (idCounter + 1) % Number.MAX_SAFE_INTEGER;
  return `${idPrefix}-${idCounter.toString(36)}`;
}

/** A zip body that failed after its headers went out: the request is recorded as this failure. */
class CutShort extends Error {
  constructor(override readonly cause: unknown) {
    super(String(cause));
  }
}

/** Builds the request listener for the GOPROXY protocol and the operational endpoints. */
export function createRequestHandler(deps: HandlerDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const { logger, metrics } = deps;
  const audience = deps.cacheAudience ?? "public";
  const shortCache = cacheFor(audience, deps.ttlSeconds);
  const IMMUTABLE = cacheForever(audience);

  function zipHeaders(id: string, size: number | undefined): (string | number)[] {
    const headers: (string | number)[] = [
      "content-type",
      "application/zip",
      "cache-control",
      IMMUTABLE,
      "x-request-id",
      id,
    ];
    if (size !== undefined) headers.push("content-length", size);
    return headers;
  }

  function send(
    x: Exchange,
    status: number,
    type: string,
    cache: string,
    body: Buffer | string,
    extra: readonly string[] = [],
  ): number {
    const data = typeof body === "string" ? Buffer.from(body) : body;
    // Every header in one flat list: Node then writes them as given, with no per-header
    // bookkeeping (a header set earlier with setHeader would send all of them through it).
    x.res.writeHead(status, [
      "content-type",
      type,
      "content-length",
      data.length,
      "cache-control",
      cache,
      "x-request-id",
      x.id,
      ...extra,
    ]);
    x.res.end(x.head ? undefined : data);
    return x.head ? 0 : data.length;
  }

  /**
   * Sends a zip. Whatever happens (the client left while the zip was looked up or mid-body, a
   * read failed, a HEAD), the body is closed when this settles: a stored file's descriptor is
   * never left for the garbage collector. A body that fails after the headers rejects with
   * CutShort (the connection is cut: the only honest signal left); a client that leaves is no
   * failure of ours.
   */
  async function stream(x: Exchange, body: Readable, size?: number): Promise<number> {
    const { res } = x;
    if (x.head || res.destroyed) {
      body.destroy();
      if (!res.destroyed) {
        res.writeHead(200, zipHeaders(x.id, size));
        res.end();
      }
      return 0;
    }
    res.writeHead(200, zipHeaders(x.id, size));
    if (body instanceof FileBody) {
      // A stored file: one reused buffer, read as fast as the client takes it.
      let sent: number;
      try {
        sent = await body.sendTo(res);
      } catch (err) {
        res.destroy();
        throw new CutShort(err);
      }
      if (!res.destroyed) res.end();
      return sent;
    }
    let sent = 0;
    body.on("data", (chunk: Buffer) => (sent += chunk.length));
    // Which side failed first: pipeline destroys the other with the same error.
    let failed: "body" | "client" | undefined = body.errored ? "body" : undefined;
    body.once("error", () => (failed ??= "body"));
    res.once("close", () => {
      if (!res.writableFinished) failed ??= "client";
    });
    try {
      // pipeline also reports a failure the body had before this point, and ends both streams.
      await pipeline(body, res);
    } catch (err) {
      if (failed === "body") throw new CutShort(err);
    }
    return sent;
  }

  async function serve(route: Route, x: Exchange): Promise<number> {
    switch (route.kind) {
      case "healthz":
        return send(x, 200, TEXT, "no-store", "ok\n");
      case "readyz": {
        const ready = await deps.ready();
        return send(x, ready ? 200 : 503, TEXT, "no-store", ready ? "ready\n" : "not ready\n");
      }
      case "status": {
        if (!deps.status) return send(x, 404, TEXT, "no-store", "not found: no status page here\n");
        const page = await deps.status(x.req);
        return send(x, 200, page.type, "no-store", page.body, ["vary", "accept"]);
      }
      case "metrics": {
        const text = await metrics.registry.metrics();
        return send(x, 200, metrics.registry.contentType, "no-store", text);
      }
      case "sumdb": {
        if (!deps.sumdb)
          return send(x, 404, TEXT, "no-store", "not found: no checksum database is proxied here\n");
        const answer = await deps.sumdb(route.rest);
        return send(x, 200, answer.type, answer.cache, answer.body, keptSince(answer.savedAt));
      }
      case "index":
        if (!deps.index) return send(x, 404, TEXT, "no-store", "not found: no /index here\n");
        // The feed writes its own answer.
        x.res.setHeader("x-request-id", x.id);
        await deps.index(x.req, x.res, route.query);
        return 0;
      case "list": {
        const versions = sortVersions(await deps.source.list(route.path));
        return send(x, 200, TEXT, shortCache, versions.map((v) => `${v}\n`).join(""));
      }
      case "latest": {
        const info = await deps.source.latest(route.path);
        return send(x, 200, "application/json", shortCache, infoBody(info));
      }
      case "info": {
        const info = await deps.source.info(route.path, route.query);
        return send(x, 200, "application/json", route.canonical ? IMMUTABLE : shortCache, infoBody(info));
      }
      case "mod": {
        const data = await deps.source.mod(route.path, route.version);
        return send(x, 200, TEXT, IMMUTABLE, data);
      }
      case "zip": {
        if (deps.zipRedirect) {
          const location = await deps.zipRedirect(route.path, route.version);
          x.res.writeHead(302, [
            "location",
            location,
            "cache-control",
            "no-store",
            "content-length",
            0,
            "x-request-id",
            x.id,
          ]);
          x.res.end();
          return 0;
        }
        const download = await deps.source.zip(route.path, route.version);
        if (download.check) {
          // Nothing ran the check its source asked for (no CachedSource in front of a VerifyingSource).
          download.body.destroy();
          throw new ProxyError(
            "internal",
            `${route.path}@${route.version}: zip reached the client unchecked`,
          );
        }
        // Held in memory (a small cached zip): one write, like any small answer.
        if (download.data) return send(x, 200, "application/zip", IMMUTABLE, download.data);
        return stream(x, download.body, download.size);
      }
    }
  }

  /**
   * Records a finished request: metrics, and the request log line when info is on. A zip cut
   * short after its headers went out was sent as 200 but counts with its failure's status, so
   * that error rates and alarms see it. Made once, not per request.
   */
  function finish(x: Exchange, bytes: number, err?: unknown): void {
    const { res, endpoint } = x;
    const cut = err instanceof CutShort;
    const cause = cut ? err.cause : err;
    const status = cut ? statusFor(cause) : res.statusCode;
    const seconds = (performance.now() - x.started) / 1000;
    metrics.recordRequest(endpoint, status, seconds, bytes);
    // The request line is an info message: skip building it when info is off (production).
    if (!err && !logger.isLevelEnabled("info")) return;
    const line = {
      event: "request",
      reqId: x.id,
      method: x.req.method,
      url: x.req.url,
      endpoint,
      status,
      bytes,
      durationMs: Math.round(seconds * 1000),
      ...deps.clientOf?.(x.req),
      ...(cut ? { cut: true } : {}),
    };
    if (err && status >= 500) logger.error({ ...line, err: String(cause) }, "request failed");
    else if (err) logger.info({ ...line, err: String(cause) }, "request refused");
    else logger.info(line, "request");
  }

  function fail(x: Exchange, err: unknown): void {
    if (x.res.headersSent) {
      x.res.destroy();
      finish(x, 0, err instanceof CutShort ? err : new CutShort(err));
      return;
    }
    const body = `${messageFor(err, x.id)}\n`;
    send(x, statusFor(err), TEXT, "no-store", body, flat(errorHeaders(err)));
    finish(x, 0, err);
  }

  return (req, res) => {
    const x: Exchange = {
      req,
      res,
      id: requestId(req),
      head: req.method === "HEAD",
      started: performance.now(),
      endpoint: "unknown",
    };
    if (req.method !== "GET" && req.method !== "HEAD") {
      send({ ...x, head: false }, 405, TEXT, "no-store", "method not allowed\n", ["allow", "GET, HEAD"]);
      finish(x, 0);
      return;
    }
    let route: Route;
    try {
      route = parseRoute(req.url ?? "/");
    } catch (err) {
      fail(x, err);
      return;
    }
    x.endpoint = route.kind;
    serve(route, x).then(
      (bytes) => finish(x, bytes),
      (err: unknown) => fail(x, err),
    );
  };
}
