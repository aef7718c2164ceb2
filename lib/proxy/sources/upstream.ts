import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import path from "node:path";
import type { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import type { Dispatcher } from "undici";
import { ProxyError, notFound } from "../errors";
import { HOP_HEADER } from "../http/hop";
import { MAX_GO_MOD_BYTES, MAX_INFO_BYTES, MAX_LIST_BYTES, MAX_ZIP_BYTES } from "../limits";
import type { Logger } from "pino";
import type { ProxyMetrics } from "../metrics";
import { readLimited } from "../read-limited";
import { UPSTREAM_HINT, unreachableCode } from "../net/unreachable";
import { lazyDispatcher, undici } from "../net/undici";
import { bounded, guarded } from "../streams";
import { escapePath, escapeVersion } from "../module/escape";
import { parseInfo, parseList } from "../module/info";
import type { Download, ModuleInfo, ModuleSource } from "./source";

export interface UpstreamOptions {
  /** Milliseconds an upstream may take to send headers, and at most between body chunks. */
  readonly timeoutMs: number;
  /** Extra attempts for a GET that failed before any answer (connection errors, 502/503/504). @default 2 */
  readonly retries?: number;
  /** Shared connection pool; one keep-alive agent per proxy by default. */
  readonly dispatcher?: Dispatcher;
  readonly metrics?: ProxyMetrics;
  /** Failures are logged with `event: "upstream_error"` (log-based alarms match it). */
  readonly logger?: Logger;
  /** This proxy's hop id, sent in `Gomirror-Hop` so that a request coming back to it is refused. */
  readonly hop?: string;
}

interface RawAnswer {
  readonly status: number;
  readonly body: Readable;
  readonly size: number | undefined;
}

const RETRY_STATUSES = new Set([502, 503, 504]);
const MAX_REDIRECTS = 5;
const RETRY_BACKOFF_MS = [100, 400];
const USER_AGENT = "gomirror (+GOPROXY protocol)";

/**
 * Keep-alive pooling for every upstream; undici keeps connections per origin. Made (and undici
 * loaded) on the first request.
 */
export function createUpstreamAgent(timeoutMs: number): Dispatcher {
  return lazyDispatcher(() => {
    const { Agent, interceptors } = undici();
    return new Agent({
      keepAliveTimeout: 30_000,
      keepAliveMaxTimeout: 300_000,
      connections: 64,
      connectTimeout: Math.min(timeoutMs, 10_000),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      // undici 8 would negotiate HTTP/2 with TLS upstreams; every upstream fault this proxy is
      // tested against (early close, resets, stalls, lengths) is HTTP/1.1, so it stays that.
      allowH2: false,
      // Redirects are followed, as the go command does: an upstream may answer a zip with a
      // presigned storage URL. No credentials are ever sent upstream, so none can leak.
    }).compose(interceptors.redirect({ maxRedirections: MAX_REDIRECTS }));
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * One upstream GOPROXY (an http(s) or file URL). Answers 404 and 410 become "not-found";
 * anything else that is not a 200 with a sane body is an "upstream" fault.
 */
export class UpstreamProxySource implements ModuleSource {
  private readonly base: string;
  /** The label used in metrics and messages: scheme and host, never a path. */
  readonly label: string;
  private readonly dispatcher: Dispatcher;
  private readonly retries: number;

  constructor(
    url: string,
    private readonly options: UpstreamOptions,
  ) {
    this.base = url.replace(/\/+$/, "");
    const parsed = new URL(this.base);
    this.label = parsed.protocol === "file:" ? "file" : `${parsed.protocol}//${parsed.host}`;
    this.dispatcher = options.dispatcher ?? createUpstreamAgent(options.timeoutMs);
    this.retries = options.retries ?? 2;
  }

  list(modulePath: string): Promise<string[]> {
    const rel = `${escapePath(modulePath)}/@v/list`;
    return this.fetch(rel, async (answer) =>
      parseList(await readLimited(answer.body, MAX_LIST_BYTES, `${modulePath} list`)),
    );
  }

  info(modulePath: string, query: string): Promise<ModuleInfo> {
    const rel = `${escapePath(modulePath)}/@v/${escapeQuery(query)}.info`;
    const what = `${modulePath}@${query}`;
    return this.fetch(rel, async (answer) =>
      parseInfo(await readLimited(answer.body, MAX_INFO_BYTES, `${what} .info`), `${this.label}: ${what}`),
    );
  }

  latest(modulePath: string): Promise<ModuleInfo> {
    const rel = `${escapePath(modulePath)}/@latest`;
    const what = `${modulePath}@latest`;
    return this.fetch(rel, async (answer) =>
      parseInfo(await readLimited(answer.body, MAX_INFO_BYTES, what), `${this.label}: ${what}`),
    );
  }

  mod(modulePath: string, version: string): Promise<Buffer> {
    const rel = `${escapePath(modulePath)}/@v/${escapeVersion(version)}.mod`;
    return this.fetch(rel, (answer) =>
      readLimited(answer.body, MAX_GO_MOD_BYTES, `${modulePath}@${version} go.mod`),
    );
  }

  async zip(modulePath: string, version: string): Promise<Download> {
    const rel = `${escapePath(modulePath)}/@v/${escapeVersion(version)}.zip`;
    const answer = await this.fetch(rel, async (raw) => raw);
    const what = `${modulePath}@${version} zip`;
    if (answer.size !== undefined && answer.size > MAX_ZIP_BYTES) {
      answer.body.destroy();
      throw new ProxyError(
        "too-large",
        `${what} is ${answer.size} bytes, over Go's limit of ${MAX_ZIP_BYTES}`,
      );
    }
    const body = bounded(answer.body, {
      limit: MAX_ZIP_BYTES,
      expected: answer.size,
      what: `${this.label}/${rel}`,
      failure: (err) => {
        const fault = wrapTransportError(err, this.label, rel);
        this.logFailure(rel, fault);
        return fault;
      },
    });
    return answer.size === undefined ? { body } : { body, size: answer.size };
  }

  /**
   * GET base/rel with bounded retries, and `read` its 200 answer. A body that breaks off while
   * `read` reads it is the upstream's failure like any other: retried when that may help,
   * counted, and logged as an upstream error.
   */
  private async fetch<T>(rel: string, read: (answer: RawAnswer) => Promise<T>): Promise<T> {
    const started = process.hrtime.bigint();
    const metrics = this.options.metrics;
    let outcome = "error";
    try {
      const answer = await this.fetchWithRetries(rel, read);
      outcome = "ok";
      return answer;
    } catch (err) {
      if (err instanceof ProxyError && err.kind === "not-found") outcome = "not_found";
      else this.logFailure(rel, err);
      throw err;
    } finally {
      metrics?.upstreamRequests.inc({ upstream: this.label, outcome });
      metrics?.upstreamDuration.observe(
        { upstream: this.label },
        Number(process.hrtime.bigint() - started) / 1e9,
      );
    }
  }

  /** Counts and logs a failure of this upstream (log-based alarms match `upstream_error`). */
  private logFailure(rel: string, err: unknown): void {
    this.options.metrics?.upstreamErrors.inc({ upstream: this.label });
    this.options.logger?.warn(
      { event: "upstream_error", upstream: this.label, path: rel, err: (err as Error).message },
      "upstream failed",
    );
  }

  private async fetchWithRetries<T>(rel: string, read: (answer: RawAnswer) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      let answer: RawAnswer;
      try {
        answer = this.base.startsWith("file:") ? await this.readFile(rel) : await this.get(rel);
        if (answer.status === 200) return await read(answer);
      } catch (err) {
        const fault = wrapTransportError(err, this.label, rel);
        if (attempt < this.retries && isRetryable(err)) {
          await sleep(RETRY_BACKOFF_MS[attempt] ?? 1000);
          continue;
        }
        throw fault;
      }
      const text = await readLimited(answer.body, 4096, "error body").catch(() => Buffer.alloc(0));
      if (answer.status === 404 || answer.status === 410) {
        throw notFound(sanitizeMessage(text) || `not found: ${rel}`);
      }
      if (attempt < this.retries && RETRY_STATUSES.has(answer.status)) {
        await sleep(RETRY_BACKOFF_MS[attempt] ?? 1000);
        continue;
      }
      const detail = sanitizeMessage(text);
      throw new ProxyError(
        "upstream",
        `${this.label}/${rel}: upstream answered ${answer.status}${detail ? `: ${detail}` : ""}`,
      );
    }
  }

  private async get(rel: string): Promise<RawAnswer> {
    const res = await undici().request(`${this.base}/${rel}`, {
      method: "GET",
      dispatcher: this.dispatcher,
      headers: {
        "user-agent": USER_AGENT,
        accept: "*/*",
        ...(this.options.hop !== undefined ? { [HOP_HEADER]: this.options.hop } : {}),
      },
    });
    const length = res.headers["content-length"];
    const size = typeof length === "string" && /^\d+$/.test(length) ? Number(length) : undefined;
    return { status: res.statusCode, body: guarded(res.body), size };
  }

  private async readFile(rel: string): Promise<RawAnswer> {
    const root = fileURLToPath(this.base);
    const file = path.join(root, ...rel.split("/").map(decodeURIComponent));
    if (!file.startsWith(root + path.sep)) throw notFound(`not found: ${rel}`);
    try {
      const info = await stat(file);
      if (!info.isFile()) throw notFound(`not found: ${rel}`);
      return { status: 200, body: guarded(createReadStream(file)), size: info.size };
    } catch (err) {
      if (err instanceof ProxyError) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      // ENAMETOOLONG: a path element longer than the file system allows names nothing here.
      if (code === "ENOENT" || code === "ENOTDIR" || code === "ENAMETOOLONG")
        throw notFound(`not found: ${rel}`);
      throw err;
    }
  }
}

/** A query as it travels in a URL: escaped case, and path-escaped like the go command does. */
export function escapeQuery(query: string): string {
  return encodeURIComponent(escapeVersion(query));
}

/** undici's codes for an upstream that took longer than the timeout, for headers or between body chunks. */
const TIMEOUT_CODES = new Set(["UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT"]);

function isTimeout(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code !== undefined && TIMEOUT_CODES.has(code);
}

/** A failure before any answer that another attempt may not meet (a timeout is not one). */
function isRetryable(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === "ECONNRESET" || code === "ECONNREFUSED" || code === "EPIPE" || code === "UND_ERR_SOCKET";
}

function wrapTransportError(err: unknown, label: string, rel: string): ProxyError {
  if (err instanceof ProxyError) return err;
  const e = err as NodeJS.ErrnoException;
  const reason = isTimeout(err) ? "timed out" : (e?.code ?? e?.message ?? String(err));
  const hint = unreachableCode(err) !== undefined ? `; ${UPSTREAM_HINT}` : "";
  return new ProxyError("upstream", `${label}/${rel}: ${reason}${hint}`, { cause: err });
}

/**
 * The longest excerpt of an upstream's error body shown to clients and logged: a GOPROXY's own
 * message (the go command's words, a git server's answer) whole; of an HTML page, its start.
 */
const TEXT_CHARS = 1000;
const HTML_CHARS = 200;

/**
 * Upstream text shown to our clients and logs: one printable line. An HTML page (a load
 * balancer's or a web server's 404) gives the start of its text without the markup.
 */
export function sanitizeMessage(data: Buffer): string {
  let text = data.toString("utf8");
  const html = /<(?:!doctype|html|head|body|title|h1|p|div|pre)\b/i.test(text);
  if (html) {
    text = text
      .replace(/<(script|style)\b[\s\S]*?(?:<\/\1\s*>|$)/gi, " ")
      .replace(/<!--[\s\S]*?(?:-->|$)/g, " ")
      .replace(/<[^>]*>?/g, " ")
      .replace(/&nbsp;/g, " ")
      .replace(/&lt;/g, "<")
      .replace(/&gt;/g, ">")
      .replace(/&quot;/g, '"')
      .replace(/&#39;/g, "'")
      .replace(/&amp;/g, "&");
  }
  text = text
    .replace(/[^\x20-\x7e\u00a0-\uffff]/g, " ")
    .replace(/\s+/g, " ")
    .trim();
  const max = html ? HTML_CHARS : TEXT_CHARS;
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}
