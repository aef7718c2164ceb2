import { ProxyError } from "../errors";
import { undici } from "../net/undici";
import { basicAuth, type Credential, type Credentials, redactURL } from "./credentials";

/**
 * The HTTP client behind the go-get requests of discovery (git itself talks to git servers):
 * undici without automatic redirects, so that this file alone decides
 * - which credentials go with a request (only those of the URL's own host, or user info the
 *   operator put into a rewrite target; dropped as soon as a redirect leaves that origin),
 * - how many redirects are followed (and never from https to http),
 * - how long one operation may take (one deadline for all of its requests), and
 * - how many bytes one operation may receive.
 */
export interface HttpBudgetOptions {
  readonly credentials: Credentials;
  /** The whole operation's deadline. */
  readonly signal: AbortSignal;
  /** Largest number of response body bytes for the whole operation. */
  readonly maxBytes: number;
  /** @default 10 */
  readonly maxRedirects?: number;
  /**
   * The host whose netrc entry applies to requests to a rewritten address (the host of the URL
   * before GOMIRROR_GIT_REWRITE), besides the contacted host's own entry.
   */
  readonly logicalHost?: string;
  /** Credential taken from user info in a rewrite target (`https://user:token@host/`); wins over netrc. */
  readonly urlCredential?: Credential;
  /** Extra request headers. */
  readonly headers?: Record<string, string>;
}

export interface SimpleResponse {
  readonly url: string;
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly body: AsyncIterableIterator<Uint8Array>;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** One operation's HTTP budget: all requests share the deadline and the byte allowance. */
export class HttpBudget {
  private received = 0;

  constructor(private readonly options: HttpBudgetOptions) {}

  /** Sends one request, following redirects within the limits. */
  async send(
    url: string,
    method: string,
    headers: Record<string, string>,
    body?: Buffer,
  ): Promise<SimpleResponse> {
    const first = new URL(url);
    let current = first;
    const maxRedirects = this.options.maxRedirects ?? 10;
    for (let hop = 0; ; hop++) {
      const auth = this.authorization(first, current);
      const target = new URL(current.toString());
      target.username = "";
      target.password = "";
      const sendHeaders: Record<string, string> = {
        ...this.options.headers,
        ...withoutAuth(headers),
        ...(auth ? { authorization: auth } : {}),
      };
      let res;
      try {
        res = await undici().request(target, {
          method: method as "GET",
          headers: sendHeaders,
          body: method === "GET" || method === "HEAD" ? undefined : body,
          signal: this.options.signal,
        });
      } catch (err) {
        throw this.failure(target.toString(), err);
      }
      const resHeaders = flattenHeaders(res.headers);
      if (REDIRECTS.has(res.statusCode) && resHeaders.location) {
        res.body.resume();
        if (hop >= maxRedirects) {
          throw new ProxyError("upstream", `${redactURL(url)}: stopped after ${maxRedirects} redirects`);
        }
        const next = new URL(resHeaders.location, target);
        if (next.protocol !== "http:" && next.protocol !== "https:") {
          throw new ProxyError(
            "upstream",
            `${redactURL(target.toString())} redirected to a ${next.protocol} URL, which is not followed`,
          );
        }
        if (current.protocol === "https:" && next.protocol === "http:") {
          throw new ProxyError(
            "upstream",
            `${redactURL(target.toString())} redirected from https to insecure ${redactURL(next.toString())}: refused`,
          );
        }
        current = next;
        if (res.statusCode === 303) {
          method = "GET";
          body = undefined;
        }
        continue;
      }
      return {
        url: target.toString(),
        statusCode: res.statusCode,
        headers: resHeaders,
        body: this.counted(res.body, target.toString()),
      };
    }
  }

  /** Credentials for `current` when it is still the origin the operation started at. */
  private authorization(first: URL, current: URL): string | undefined {
    if (current.origin !== first.origin) return undefined;
    if (this.options.urlCredential) return basicAuth(this.options.urlCredential);
    if (first.username || first.password) {
      return basicAuth({
        login: decodeURIComponent(first.username),
        password: decodeURIComponent(first.password),
      });
    }
    const cred =
      this.options.credentials.forHost(first.host) ??
      (this.options.logicalHost ? this.options.credentials.forHost(this.options.logicalHost) : undefined);
    return cred ? basicAuth(cred) : undefined;
  }

  private counted(body: AsyncIterable<Uint8Array>, url: string): AsyncIterableIterator<Uint8Array> {
    const iterator = body[Symbol.asyncIterator]();
    const next = async (): Promise<IteratorResult<Uint8Array>> => {
      let r: IteratorResult<Uint8Array>;
      try {
        r = await iterator.next();
      } catch (err) {
        throw this.failure(url, err);
      }
      if (!r.done) {
        this.received += r.value.length;
        if (this.received > this.options.maxBytes) {
          await iterator.return?.();
          throw new ProxyError(
            "too-large",
            `${redactURL(url)}: the answer is longer than ${this.options.maxBytes} bytes`,
          );
        }
      }
      return r;
    };
    const it: AsyncIterableIterator<Uint8Array> = {
      next,
      return: async () => {
        await iterator.return?.();
        return { done: true, value: undefined };
      },
      [Symbol.asyncIterator]: () => it,
    };
    return it;
  }

  private failure(url: string, err: unknown): ProxyError {
    if (err instanceof ProxyError) return err;
    if (this.options.signal.aborted) {
      return new ProxyError("upstream", `${redactURL(url)}: the git operation timed out`);
    }
    const code = (err as { code?: string }).code;
    return new ProxyError("upstream", `${redactURL(url)}: request failed${code ? ` (${code})` : ""}`);
  }
}

function withoutAuth(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() !== "authorization") out[k] = v;
  return out;
}

function flattenHeaders(h: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h))
    if (v !== undefined) out[k.toLowerCase()] = Array.isArray(v) ? v.join(", ") : v;
  return out;
}

/**
 * Reads a response body up to the end of its HTML head (`<body` or `</head>`, where Go's
 * parseMetaGoImports stops reading), at most `limit` bytes; undefined when the head does not end
 * within them. The rest of the body is never read.
 */
export async function readHead(res: SimpleResponse, limit: number): Promise<string | undefined> {
  let text = "";
  try {
    for await (const chunk of res.body) {
      text += Buffer.from(chunk).toString("latin1");
      const end = text.search(/<body[\s>]|<\/head\s*>/i);
      if (end >= 0 && end <= limit) return Buffer.from(text.slice(0, end), "latin1").toString("utf8");
      if (text.length > limit) return undefined;
    }
  } finally {
    await res.body.return?.();
  }
  return Buffer.from(text, "latin1").toString("utf8");
}
