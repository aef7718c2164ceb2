import type { IncomingMessage, ServerResponse } from "node:http";
import { invalid } from "../errors";
import { MAX_INDEX_LIMIT, parseTimestamp, type IndexLog } from "./index-log";

/**
 * `/index?since=<RFC 3339>&limit=<N>`: the module versions this mirror has stored, oldest first,
 * one JSON object per line (`{"Path","Version","Timestamp"}`), the feed index.golang.org serves.
 * `since` is inclusive; `limit` defaults to and is capped at 2000. Private paths are listed only
 * to clients that may read them (the access gate's rules), so the feed names nothing a token
 * could not fetch.
 */

/** Serves `/index` (ProxyDeps); `query` is the request's query string, without `?`. */
export type IndexHandler = (req: IncomingMessage, res: ServerResponse, query: string) => Promise<void>;

export interface IndexFeedOptions {
  readonly log: IndexLog;
  /** Whether the client making `req` may read module `path`. @default every path */
  readonly mayRead?: (req: IncomingMessage, path: string) => boolean;
}

export function parseIndexQuery(query: string): { since: number; limit: number } {
  const params = new URLSearchParams(query);
  const since = params.get("since");
  const limitText = params.get("limit");
  let limit = MAX_INDEX_LIMIT;
  if (limitText !== null) {
    limit = /^[0-9]{1,9}$/.test(limitText) ? Number(limitText) : NaN;
    if (!(limit >= 1))
      throw invalid(`invalid limit ${JSON.stringify(limitText.slice(0, 50))}: want a count from 1`);
    limit = Math.min(limit, MAX_INDEX_LIMIT);
  }
  return { since: since === null || since === "" ? 0 : parseTimestamp(since), limit };
}

export function createIndexFeed(options: IndexFeedOptions): IndexHandler {
  return async (req, res, query) => {
    const { since, limit } = parseIndexQuery(query);
    const mayRead = options.mayRead;
    const entries = await options.log.read(since, limit, mayRead ? (e) => mayRead(req, e.Path) : undefined);
    const body = Buffer.from(entries.map((e) => `${JSON.stringify(e)}\n`).join(""));
    res.writeHead(200, {
      "content-type": "application/json; charset=utf-8",
      "content-length": body.length,
      // What a page holds changes as versions are stored, and differs from token to token.
      "cache-control": "no-store",
    });
    res.end(req.method === "HEAD" ? undefined : body);
  };
}
