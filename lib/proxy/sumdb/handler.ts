import type { SumdbHandler } from "../http/handler";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import { invalid, notFound, ProxyError } from "../errors";
import { cacheFor, cacheForever, type CacheAudience } from "../http/cache-control";
import { messageFor, statusFor } from "../http/errors";
import { unescapePath, unescapeVersion } from "../module/escape";
import { checkPath } from "../module/path";
import { parseTilePath } from "./tlog";
import type { SumdbClient } from "./client";
import { needsVerification } from "./verify";

/**
 * The `/sumdb/<name>/...` endpoint of the GOPROXY protocol: lets a go command that has GOSUMDB
 * set to a key alone (no URL) reach the checksum database through gomirror. Every answer is
 * verified by gomirror's own client before it is relayed, so the mirror never passes on a tree
 * that is badly signed or inconsistent with one it verified before.
 *
 * - `supported`: 200 for each configured database (the go command's probe).
 * - `latest`: the signed tree head, reused briefly.
 * - `lookup/<escaped path>@<escaped version>`: refused (403) for GONOSUMDB/GOPRIVATE paths (but
 *   `golang.org/toolchain`, which the go command always looks up), so
 *   private module names never leave the network; verified answers are kept for good.
 * - `tile/<H>/<L>/<N>[.p/<W>]`: validated; full tiles kept for good, partial ones briefly.
 * Unknown database names and paths answer 404.
 */

export interface SumdbProxyOptions {
  /** One client per proxied checksum database. */
  readonly databases: readonly SumdbClient[];
  /** GONOSUMDB patterns (GOPRIVATE when unset): lookups of these paths are refused. @default "" */
  readonly noSumdb?: string;
  readonly logger?: Logger;
  /** Seconds `latest` and partial tiles may be cached by clients. @default 60 */
  readonly shortTtlSeconds?: number;
  /** Who may keep answers: "private" when clients need tokens. @default "public" */
  readonly cacheAudience?: CacheAudience;
}

const TEXT = "text/plain; charset=utf-8";
const MOD_VER = /^[^@]+@v[0-9]+\.[0-9]+\.[0-9]+(-[^@]*)?(\+incompatible)?$/;

function decodeRest(rest: string): string {
  let decoded: string;
  try {
    decoded = decodeURIComponent(rest);
  } catch {
    throw invalid(
      `malformed checksum database path ${JSON.stringify(rest.slice(0, 200))}: bad percent-encoding`,
    );
  }
  const unsafe = [...decoded].some((ch) => ch < " " || ch === "\x7f" || ch === "\\");
  if (unsafe || decoded.split("/").some((s) => s === "." || s === "..")) {
    throw invalid(`malformed checksum database path ${JSON.stringify(decoded.slice(0, 200))}`);
  }
  return decoded;
}

export function createSumdbHandler(options: SumdbProxyOptions): SumdbHandler {
  const noSumdb = options.noSumdb ?? "";
  const audience = options.cacheAudience ?? "public";
  const shortCache = cacheFor(audience, options.shortTtlSeconds ?? 60);
  const IMMUTABLE = cacheForever(audience);
  // Longest name first, so that `a.example/b` wins over `a.example` for `a.example/b/latest`.
  const databases = [...options.databases].sort((a, b) => b.name.length - a.name.length);

  function send(
    req: IncomingMessage,
    res: ServerResponse,
    status: number,
    type: string,
    cache: string,
    body: Buffer | string,
  ): void {
    const data = typeof body === "string" ? Buffer.from(body) : body;
    res.writeHead(status, { "content-type": type, "content-length": data.length, "cache-control": cache });
    res.end(req.method === "HEAD" ? undefined : data);
  }

  async function answer(req: IncomingMessage, res: ServerResponse, rest: string): Promise<void> {
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("allow", "GET, HEAD");
      send(req, res, 405, TEXT, "no-store", "method not allowed\n");
      return;
    }
    const target = decodeRest(rest);
    const db = databases.find((d) => target.startsWith(`${d.name}/`));
    if (!db) {
      const name = target.split("/")[0];
      throw notFound(
        `not found: checksum database ${JSON.stringify(name.slice(0, 200))} is not proxied here`,
      );
    }
    const op = target.slice(db.name.length + 1);

    if (op === "supported") {
      send(req, res, 200, TEXT, shortCache, "");
      return;
    }
    if (op === "latest") {
      send(req, res, 200, TEXT, "no-cache", await db.fetchLatest());
      return;
    }
    if (op.startsWith("lookup/")) {
      const modVer = op.slice("lookup/".length);
      if (!MOD_VER.test(modVer))
        throw invalid(`invalid module@version syntax ${JSON.stringify(modVer.slice(0, 200))}`);
      const at = modVer.indexOf("@");
      const path = unescapePath(modVer.slice(0, at));
      unescapeVersion(modVer.slice(at + 1));
      checkPath(path);
      // Toolchains are looked up whatever GONOSUMDB says: the go command always checks them.
      if (!needsVerification(noSumdb, path)) {
        throw new ProxyError(
          "forbidden",
          `${path} matches GONOSUMDB/GOPRIVATE: gomirror does not look private module paths up in the checksum database ${db.name}`,
        );
      }
      send(req, res, 200, TEXT, IMMUTABLE, await db.lookupRaw(modVer));
      return;
    }
    if (op.startsWith("tile/")) {
      let tile;
      try {
        tile = parseTilePath(op);
      } catch (err) {
        throw invalid((err as Error).message);
      }
      const { body, immutable } = await db.fetchTile(tile);
      const type = tile.l === -1 ? TEXT : "application/octet-stream";
      send(req, res, 200, type, immutable ? IMMUTABLE : shortCache, body);
      return;
    }
    throw notFound(
      `not found: ${JSON.stringify(op.slice(0, 200))} is not a checksum database path (want supported, latest, lookup/ or tile/)`,
    );
  }

  return async (req, res, rest) => {
    try {
      await answer(req, res, rest);
    } catch (err) {
      const status = statusFor(err);
      if (status >= 500) {
        options.logger?.warn(
          { event: "sumdb_error", path: rest.slice(0, 300), err: String(err) },
          "checksum database request failed",
        );
      }
      if (res.headersSent) {
        res.destroy(err as Error);
        return;
      }
      send(
        req,
        res,
        status,
        TEXT,
        "no-store",
        `${messageFor(err, String(res.getHeader("x-request-id") ?? "-"))}\n`,
      );
    }
  };
}
