import { invalid, notFound, ProxyError } from "../errors";
import { cacheFor, cacheForever, type CacheAudience } from "../http/cache-control";
import { unescapePath, unescapeVersion } from "../module/escape";
import { checkCanonicalVersion } from "../module/version";
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
 *
 * The handler only decides what to answer; the HTTP layer sends it (and turns the ProxyErrors it
 * throws into statuses), the same way for every endpoint.
 */

export interface SumdbProxyOptions {
  /** One client per proxied checksum database. */
  readonly databases: readonly SumdbClient[];
  /** GONOSUMDB patterns (GOPRIVATE when unset): lookups of these paths are refused. @default "" */
  readonly noSumdb?: string;
  /** Seconds `latest` and partial tiles may be cached by clients. @default 60 */
  readonly shortTtlSeconds?: number;
  /** Who may keep answers: "private" when clients need tokens. @default "public" */
  readonly cacheAudience?: CacheAudience;
}

/** A successful answer: sent with status 200. */
export interface SumdbAnswer {
  readonly type: string;
  /** The Cache-Control header. */
  readonly cache: string;
  readonly body: Buffer | string;
  /** When a kept answer was saved (offline): sent as Age and Last-Modified. */
  readonly savedAt?: Date;
}

/** Answers `/sumdb/<rest>`, or throws a ProxyError saying why not. */
export type SumdbHandler = (rest: string) => Promise<SumdbAnswer>;

const TEXT = "text/plain; charset=utf-8";

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

  return async (rest) => {
    const target = decodeRest(rest);
    const db = databases.find((d) => target.startsWith(`${d.name}/`));
    if (!db) {
      const name = target.split("/")[0];
      throw notFound(
        `not found: checksum database ${JSON.stringify(name.slice(0, 200))} is not proxied here`,
      );
    }
    const op = target.slice(db.name.length + 1);

    if (op === "supported") return { type: TEXT, cache: shortCache, body: "" };
    if (op === "latest") {
      const { body, savedAt } = await db.fetchLatest();
      return { type: TEXT, cache: "no-cache", body, savedAt };
    }
    if (op.startsWith("lookup/")) {
      const modVer = op.slice("lookup/".length);
      const at = modVer.indexOf("@");
      if (at <= 0) throw invalid(`invalid module@version syntax ${JSON.stringify(modVer.slice(0, 200))}`);
      // The rules of the GOPROXY routes for .mod and .zip: a valid path, one exact version of it.
      const path = unescapePath(modVer.slice(0, at));
      checkCanonicalVersion(path, unescapeVersion(modVer.slice(at + 1)));
      // Toolchains are looked up whatever GONOSUMDB says: the go command always checks them.
      if (!needsVerification(noSumdb, path)) {
        throw new ProxyError(
          "forbidden",
          `${path} matches GONOSUMDB/GOPRIVATE: gomirror does not look private module paths up in the checksum database ${db.name}`,
        );
      }
      return { type: TEXT, cache: IMMUTABLE, body: await db.lookupRaw(modVer) };
    }
    if (op.startsWith("tile/")) {
      let tile;
      try {
        tile = parseTilePath(op);
      } catch (err) {
        throw invalid((err as Error).message);
      }
      const { body, immutable, savedAt } = await db.fetchTile(tile);
      const type = tile.l === -1 ? TEXT : "application/octet-stream";
      return { type, cache: immutable ? IMMUTABLE : shortCache, body, savedAt };
    }
    throw notFound(
      `not found: ${JSON.stringify(op.slice(0, 200))} is not a checksum database path (want supported, latest, lookup/ or tile/)`,
    );
  };
}
