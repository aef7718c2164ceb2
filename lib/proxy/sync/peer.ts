import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import path from "node:path";
import type { Dispatcher } from "undici";
import { basicAuth, parseNetrc } from "../git/credentials";
import { createUpstreamAgent } from "../sources/upstream";

/**
 * How `gomirror export --mirror` and `gomirror sync --from` speak to another gomirror: its
 * GOPROXY endpoints, `/index` and `/sumdb/`, with a client token. The token comes from
 * `--token`, else `GOMIRROR_TOKEN` (sent as Bearer), else a netrc entry for the mirror's host
 * (`$NETRC` or `~/.netrc`, sent as Basic, as the go command does). It is sent to that mirror's
 * origin only: never on a redirect elsewhere (a presigned storage URL), never in a message.
 */

export interface PeerAuthSources {
  readonly token?: string;
  readonly env: NodeJS.ProcessEnv;
}

/** The Authorization header value for `base`, or undefined when no credential is known. */
export function peerAuthorization(base: string, sources: PeerAuthSources): string | undefined {
  const token = sources.token ?? (sources.env.GOMIRROR_TOKEN || undefined);
  if (token !== undefined) return `Bearer ${token}`;
  const file = sources.env.NETRC || path.join(sources.env.HOME ?? homedir(), ".netrc");
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
  const cred = parseNetrc(text).forHost(new URL(base).host);
  return cred && basicAuth(cred);
}

type Headers = Dispatcher.DispatchOptions["headers"];

function withAuthorization(headers: Headers, value: string): Headers {
  if (Array.isArray(headers)) return [...(headers as string[]), "authorization", value];
  if (headers && typeof (headers as Iterable<unknown>)[Symbol.iterator] === "function") {
    return [...(headers as Iterable<[string, string]>), ["authorization", value]] as unknown as Headers;
  }
  return { ...(headers as Record<string, string> | null | undefined), authorization: value };
}

/**
 * A connection pool for one peer mirror that adds `authorization` to requests for the peer's own
 * origin. Redirects are followed by the pool below this layer, whose requests to other origins
 * never carry the header (undici drops it on a cross-origin redirect, and this layer adds it only
 * for the peer's origin).
 */
export function peerDispatcher(
  base: string,
  authorization: string | undefined,
  timeoutMs: number,
): Dispatcher {
  const agent = createUpstreamAgent(timeoutMs);
  if (authorization === undefined) return agent;
  const origin = new URL(base).origin;
  return agent.compose((dispatch) => (opts, handler) => {
    const target = typeof opts.origin === "string" ? opts.origin : opts.origin?.toString();
    if (target === undefined || new URL(target).origin !== origin) return dispatch(opts, handler);
    return dispatch({ ...opts, headers: withAuthorization(opts.headers, authorization) }, handler);
  });
}
