import type { GitHttpRequest, GitHttpResponse, HttpClient } from "isomorphic-git";
import { request as undiciRequest } from "undici";
import { ProxyError } from "../errors";
import { basicAuth, type Credential, type Credentials, redactURL } from "./credentials";

/**
 * The HTTP client behind every request the git source makes (discovery and git smart HTTP):
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
  /**
   * The limit error, once one was hit. isomorphic-git swallows some body errors while parsing,
   * so callers check this after every git call as well.
   */
  exceeded?: ProxyError;

  constructor(private readonly options: HttpBudgetOptions) {}

  /** An isomorphic-git HttpClient drawing on this budget. */
  client(): HttpClient {
    return {
      request: async (req: GitHttpRequest): Promise<GitHttpResponse> => {
        const body = req.body ? Buffer.concat(await collect(req.body)) : undefined;
        const res = await this.send(req.url, req.method ?? "GET", req.headers ?? {}, body);
        return {
          url: res.url,
          method: req.method ?? "GET",
          headers: res.headers,
          body: res.body,
          statusCode: res.statusCode,
          statusMessage: "",
        };
      },
    };
  }

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
        res = await undiciRequest(target, {
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
          this.exceeded = new ProxyError(
            "too-large",
            `${redactURL(url)}: the git server sent more than ${this.options.maxBytes} bytes for one operation (raise the pack size limit if the repository is this large)`,
          );
          throw this.exceeded;
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

async function collect(body: AsyncIterableIterator<Uint8Array>): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const chunk of body) out.push(Buffer.from(chunk));
  return out;
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

/** Reads a whole response body (already bounded by the budget). */
export async function readBody(res: SimpleResponse, limit: number): Promise<Buffer> {
  const out: Buffer[] = [];
  let n = 0;
  for await (const chunk of res.body) {
    n += chunk.length;
    if (n > limit) {
      await res.body.return?.();
      break;
    }
    out.push(Buffer.from(chunk));
  }
  return Buffer.concat(out);
}
