import type { Dispatcher } from "undici";
import { ProxyError } from "../errors";
import { undici } from "../net/undici";
import { readLimited } from "../read-limited";
import { formatTimestamp, MAX_INDEX_LIMIT, parseTimestamp, type IndexEntry } from "./index-log";

/** One page of a peer's `/index` feed, oldest first. */
export async function fetchIndexPage(
  base: string,
  dispatcher: Dispatcher,
  sinceMicros: number,
  limit = MAX_INDEX_LIMIT,
): Promise<IndexEntry[]> {
  const url = `${base}/index?since=${encodeURIComponent(formatTimestamp(sinceMicros))}&limit=${limit}`;
  const res = await undici().request(url, { dispatcher, headers: { "user-agent": "gomirror (sync)" } });
  const body = await readLimited(res.body, 64 * 1024 * 1024, `${base}/index`);
  if (res.statusCode !== 200) {
    const detail = body.toString("utf8").slice(0, 200).trim();
    throw new ProxyError("upstream", `${base}/index: ${res.statusCode} ${detail}`);
  }
  return body
    .toString("utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => {
      const e = JSON.parse(line) as IndexEntry;
      if (typeof e.Path !== "string" || typeof e.Version !== "string") {
        throw new ProxyError(
          "upstream",
          `${base}/index: a line without Path and Version: ${line.slice(0, 200)}`,
        );
      }
      parseTimestamp(e.Timestamp);
      return { Path: e.Path, Version: e.Version, Timestamp: e.Timestamp };
    });
}

/** Every `path@version` a peer stored at or after `sinceMicros`. */
export async function readPeerIndex(
  base: string,
  dispatcher: Dispatcher,
  sinceMicros: number,
): Promise<Set<string>> {
  const out = new Set<string>();
  let since = sinceMicros;
  for (;;) {
    const page = await fetchIndexPage(base, dispatcher, since);
    for (const e of page) out.add(`${e.Path}@${e.Version}`);
    if (page.length < MAX_INDEX_LIMIT) return out;
    const next = parseTimestamp(page[page.length - 1].Timestamp);
    // A full page of one instant cannot be paged past; the next instant is the best there is.
    since = next > since ? next : since + 1;
  }
}
