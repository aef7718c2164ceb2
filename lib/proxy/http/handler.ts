import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Logger } from "pino";
import type { ProxyMetrics } from "../metrics";
import { sortVersions } from "../module/semver";
import { FileBody } from "../storage/file-body";
import type { ModuleInfo, ModuleSource } from "../sources/source";
import { messageFor, statusFor } from "./errors";
import { parseRoute, type Endpoint, type Route } from "./routes";

/** Serves `/sumdb/<rest>` (the checksum database proxy, lib/proxy/sumdb/handler.ts). */
export type SumdbHandler = (req: IncomingMessage, res: ServerResponse, rest: string) => Promise<void>;

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
  readonly sumdb?: SumdbHandler;
  readonly zipRedirect?: ZipRedirector;
}

const IMMUTABLE = "public, max-age=31536000, immutable";

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

/** Builds the request listener for the GOPROXY protocol and the operational endpoints. */
export function createRequestHandler(deps: HandlerDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const { logger, metrics } = deps;
  const shortCache = `public, max-age=${deps.ttlSeconds}`;

  function send(
    res: ServerResponse,
    id: string,
    head: boolean,
    status: number,
    type: string,
    cache: string,
    body: Buffer | string,
  ): number {
    const data = typeof body === "string" ? Buffer.from(body) : body;
    // Every header in one flat list: Node then writes them as given, with no per-header
    // bookkeeping (a header set earlier with setHeader would send all of them through it).
    res.writeHead(status, [
      "content-type",
      type,
      "content-length",
      data.length,
      "cache-control",
      cache,
      "x-request-id",
      id,
    ]);
    res.end(head ? undefined : data);
    return head ? 0 : data.length;
  }

  /**
   * Sends a zip. Whatever happens (the client left while the zip was looked up or mid-body, a
   * read failed, a HEAD), the body is closed when this settles: a stored file's descriptor is
   * never left for the garbage collector.
   */
  async function stream(
    res: ServerResponse,
    id: string,
    head: boolean,
    body: Readable,
    size?: number,
  ): Promise<number> {
    if (head || res.destroyed) {
      body.destroy();
      if (!res.destroyed) {
        res.writeHead(200, zipHeaders(id, size));
        res.end();
      }
      return 0;
    }
    res.writeHead(200, zipHeaders(id, size));
    if (body instanceof FileBody) {
      // A stored file: one reused buffer, read as fast as the client takes it.
      try {
        const sent = await body.sendTo(res);
        if (!res.destroyed) res.end();
        return sent;
      } catch (err) {
        return cut(res, err, 0);
      }
    }
    let sent = 0;
    body.on("data", (chunk: Buffer) => (sent += chunk.length));
    try {
      await pipeline(body, res);
      return sent;
    } catch (err) {
      // The client leaving is no fault of ours; pipeline has closed the body either way.
      if (res.destroyed && !body.errored) return sent;
      return cut(res, err, sent);
    }
  }

  /** A zip body failed after the headers went out: cutting the connection is the only honest signal left. */
  function cut(res: ServerResponse, err: unknown, sent: number): number {
    logger.warn({ err: String(err) }, "zip stream failed mid-response");
    res.destroy(err instanceof Error ? err : new Error(String(err)));
    return sent;
  }

  async function serve(
    route: Route,
    req: IncomingMessage,
    res: ServerResponse,
    id: string,
    head: boolean,
  ): Promise<number> {
    switch (route.kind) {
      case "healthz":
        return send(res, id, head, 200, "text/plain; charset=utf-8", "no-store", "ok\n");
      case "readyz": {
        const ready = await deps.ready();
        return send(
          res,
          id,
          head,
          ready ? 200 : 503,
          "text/plain; charset=utf-8",
          "no-store",
          ready ? "ready\n" : "not ready\n",
        );
      }
      case "metrics": {
        const text = await metrics.registry.metrics();
        return send(res, id, head, 200, metrics.registry.contentType, "no-store", text);
      }
      case "sumdb":
        if (!deps.sumdb) {
          return send(
            res,
            id,
            head,
            404,
            "text/plain; charset=utf-8",
            "no-store",
            "not found: no checksum database is proxied here\n",
          );
        }
        // The checksum database handler writes its own answers (and reads the id from here).
        res.setHeader("x-request-id", id);
        await deps.sumdb(req, res, route.rest);
        return 0;
      case "list": {
        const versions = sortVersions(await deps.source.list(route.path));
        const body = versions.map((v) => `${v}\n`).join("");
        return send(res, id, head, 200, "text/plain; charset=utf-8", shortCache, body);
      }
      case "latest": {
        const info = await deps.source.latest(route.path);
        return send(res, id, head, 200, "application/json", shortCache, infoBody(info));
      }
      case "info": {
        const info = await deps.source.info(route.path, route.query);
        return send(
          res,
          id,
          head,
          200,
          "application/json",
          route.canonical ? IMMUTABLE : shortCache,
          infoBody(info),
        );
      }
      case "mod": {
        const data = await deps.source.mod(route.path, route.version);
        return send(res, id, head, 200, "text/plain; charset=utf-8", IMMUTABLE, data);
      }
      case "zip": {
        if (deps.zipRedirect) {
          const location = await deps.zipRedirect(route.path, route.version);
          res.writeHead(302, [
            "location",
            location,
            "cache-control",
            "no-store",
            "content-length",
            0,
            "x-request-id",
            id,
          ]);
          res.end();
          return 0;
        }
        const download = await deps.source.zip(route.path, route.version);
        // Held in memory (a small cached zip): one write, like any small answer.
        if (download.data) return send(res, id, head, 200, "application/zip", IMMUTABLE, download.data);
        return stream(res, id, head, download.body, download.size);
      }
    }
  }

  /**
   * Records a finished request: metrics, and the request log line when info is on. Made once,
   * not per request (closures made per request cost an allocation, and a name in the bundle).
   */
  function finish(x: Exchange, bytes: number, err?: unknown): void {
    const { res, endpoint } = x;
    const seconds = (performance.now() - x.started) / 1000;
    metrics.recordRequest(endpoint, res.statusCode, seconds, bytes);
    // The request line is an info message: skip building it when info is off (production).
    if (!err && !logger.isLevelEnabled("info")) return;
    const line = {
      event: "request",
      reqId: x.id,
      method: x.req.method,
      url: x.req.url,
      endpoint,
      status: res.statusCode,
      bytes,
      durationMs: Math.round(seconds * 1000),
    };
    if (err && res.statusCode >= 500) logger.error({ ...line, err: String(err) }, "request failed");
    else if (err) logger.info({ ...line, err: String(err) }, "request refused");
    else logger.info(line, "request");
  }

  function fail(x: Exchange, err: unknown): void {
    const { res } = x;
    if (res.headersSent) {
      res.destroy();
      finish(x, 0, err);
      return;
    }
    const status = statusFor(err);
    send(res, x.id, x.head, status, "text/plain; charset=utf-8", "no-store", `${messageFor(err, x.id)}\n`);
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
      res.setHeader("allow", "GET, HEAD");
      send(res, x.id, false, 405, "text/plain; charset=utf-8", "no-store", "method not allowed\n");
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
    serve(route, req, res, x.id, x.head).then(
      (bytes) => finish(x, bytes),
      (err: unknown) => fail(x, err),
    );
  };
}
