import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { pipeline, type Readable } from "node:stream";
import type { Logger } from "pino";
import { ProxyError } from "../errors";
import type { ProxyMetrics } from "../metrics";
import type { IndexHandler } from "../sync/feed";
import { sortVersions } from "../module/semver";
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
  /** Who may keep answers: "private" when clients need tokens. @default "public" */
  readonly cacheAudience?: CacheAudience;
  /** Who made a request (token name, address), for its log line; never the token itself. */
  readonly clientOf?: (
    req: IncomingMessage,
  ) => { readonly tokenName?: string; readonly clientIp?: string } | undefined;
}

/** Age and Last-Modified of an answer kept since `savedAt` (the checksum database offline). */
function keptSince(savedAt: Date | undefined): Record<string, string> {
  if (!savedAt) return {};
  const age = Math.max(0, Math.floor((Date.now() - savedAt.getTime()) / 1000));
  return { age: String(age), "last-modified": savedAt.toUTCString() };
}

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

function requestId(req: IncomingMessage): string {
  const given = req.headers["x-request-id"];
  if (typeof given === "string" && REQUEST_ID.test(given)) return given;
  idCounter = (idCounter + 1) % Number.MAX_SAFE_INTEGER;
  return `${idPrefix}-${idCounter.toString(36)}`;
}

/** Builds the request listener for the GOPROXY protocol and the operational endpoints. */
export function createRequestHandler(deps: HandlerDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const { logger, metrics } = deps;
  const audience = deps.cacheAudience ?? "public";
  const shortCache = cacheFor(audience, deps.ttlSeconds);
  const IMMUTABLE = cacheForever(audience);

  function send(
    res: ServerResponse,
    head: boolean,
    status: number,
    type: string,
    cache: string,
    body: Buffer | string,
    extra: Record<string, string> = {},
  ): number {
    const data = typeof body === "string" ? Buffer.from(body) : body;
    res.writeHead(status, {
      "content-type": type,
      "content-length": data.length,
      "cache-control": cache,
      ...extra,
    });
    res.end(head ? undefined : data);
    return head ? 0 : data.length;
  }

  function stream(
    res: ServerResponse,
    head: boolean,
    body: Readable,
    size: number | undefined,
  ): Promise<number> {
    const headers: Record<string, string | number> = {
      "content-type": "application/zip",
      "cache-control": IMMUTABLE,
    };
    if (size !== undefined) headers["content-length"] = size;
    res.writeHead(200, headers);
    if (head) {
      body.destroy();
      res.end();
      return Promise.resolve(0);
    }
    return new Promise((resolve, reject) => {
      let sent = 0;
      body.on("data", (chunk: Buffer) => (sent += chunk.length));
      // pipeline also reports a failure the body had before this point, and ends both streams.
      // Which side failed first: pipeline destroys the other with the same error.
      let failed: "body" | "client" | undefined = body.errored ? "body" : undefined;
      body.once("error", () => (failed ??= "body"));
      res.once("close", () => {
        if (!res.writableFinished) failed ??= "client";
      });
      pipeline(body, res, (err) => {
        // Headers are gone: a body that failed can only cut the connection (pipeline did), and
        // the request is recorded as the failure it is. A client that went away is not one.
        if (err && failed === "body") reject(err);
        else resolve(sent);
      });
    });
  }

  async function serve(
    route: Route,
    req: IncomingMessage,
    res: ServerResponse,
    head: boolean,
  ): Promise<number> {
    switch (route.kind) {
      case "healthz":
        return send(res, head, 200, "text/plain; charset=utf-8", "no-store", "ok\n");
      case "readyz": {
        const ready = await deps.ready();
        return send(
          res,
          head,
          ready ? 200 : 503,
          "text/plain; charset=utf-8",
          "no-store",
          ready ? "ready\n" : "not ready\n",
        );
      }
      case "metrics": {
        const text = await metrics.registry.metrics();
        return send(res, head, 200, metrics.registry.contentType, "no-store", text);
      }
      case "sumdb": {
        if (!deps.sumdb) {
          return send(
            res,
            head,
            404,
            "text/plain; charset=utf-8",
            "no-store",
            "not found: no checksum database is proxied here\n",
          );
        }
        const answer = await deps.sumdb(route.rest);
        return send(res, head, 200, answer.type, answer.cache, answer.body, keptSince(answer.savedAt));
      }
      case "index":
        if (!deps.index) {
          return send(res, head, 404, "text/plain; charset=utf-8", "no-store", "not found: no /index here\n");
        }
        await deps.index(req, res, route.query);
        return 0;
      case "list": {
        const versions = sortVersions(await deps.source.list(route.path));
        const body = versions.map((v) => `${v}\n`).join("");
        return send(res, head, 200, "text/plain; charset=utf-8", shortCache, body);
      }
      case "latest": {
        const info = await deps.source.latest(route.path);
        return send(res, head, 200, "application/json", shortCache, infoBody(info));
      }
      case "info": {
        const info = await deps.source.info(route.path, route.query);
        return send(
          res,
          head,
          200,
          "application/json",
          route.canonical ? IMMUTABLE : shortCache,
          infoBody(info),
        );
      }
      case "mod": {
        const data = await deps.source.mod(route.path, route.version);
        return send(res, head, 200, "text/plain; charset=utf-8", IMMUTABLE, data);
      }
      case "zip": {
        if (deps.zipRedirect) {
          const location = await deps.zipRedirect(route.path, route.version);
          res.writeHead(302, { location, "cache-control": "no-store", "content-length": 0 });
          res.end();
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
        return stream(res, head, download.body, download.size);
      }
    }
  }

  return (req, res) => {
    const started = process.hrtime.bigint();
    const id = requestId(req);
    res.setHeader("x-request-id", id);
    let endpoint: Endpoint = "unknown";
    const head = req.method === "HEAD";

    const finish = (bytes: number, err?: unknown, cut = false): void => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      // A body that failed after its headers went out (`cut`) was sent as 200 but is the
      // failure's status in the metrics and the log, so that error rates and alarms see it.
      const status = cut ? statusFor(err) : res.statusCode;
      const code = String(status);
      metrics.requests.inc({ endpoint, code });
      metrics.requestDuration.observe({ endpoint }, seconds);
      if (bytes > 0) metrics.bytesServed.inc({ kind: endpoint }, bytes);
      // The request line is an info message: skip building it when info is off (production).
      if (!err && !logger.isLevelEnabled("info")) return;
      const line = {
        event: "request",
        reqId: id,
        method: req.method,
        url: req.url,
        endpoint,
        status,
        bytes,
        durationMs: Math.round(seconds * 1000),
        ...deps.clientOf?.(req),
        ...(cut ? { cut: true } : {}),
      };
      if (err && status >= 500) logger.error({ ...line, err: String(err) }, "request failed");
      else if (err) logger.info({ ...line, err: String(err) }, "request refused");
      else logger.info(line, "request");
    };

    const fail = (err: unknown): void => {
      if (res.headersSent) {
        res.destroy();
        finish(0, err, true);
        return;
      }
      const status = statusFor(err);
      for (const [name, value] of Object.entries(errorHeaders(err))) res.setHeader(name, value);
      send(res, head, status, "text/plain; charset=utf-8", "no-store", `${messageFor(err, id)}\n`);
      finish(0, err);
    };

    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("allow", "GET, HEAD");
      send(res, false, 405, "text/plain; charset=utf-8", "no-store", "method not allowed\n");
      finish(0);
      return;
    }
    let route: Route;
    try {
      route = parseRoute(req.url ?? "/");
    } catch (err) {
      fail(err);
      return;
    }
    endpoint = route.kind;
    serve(route, req, res, head).then((bytes) => finish(bytes), fail);
  };
}
