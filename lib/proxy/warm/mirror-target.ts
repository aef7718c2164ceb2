import type { Readable } from "node:stream";
import { finished } from "node:stream/promises";
import type { Dispatcher } from "undici";
import { hashZipStream } from "../module/dirhash";
import { undici } from "../net/undici";
import { escapePath, escapeVersion } from "../module/escape";
import { readLimited } from "../read-limited";
import { MAX_GO_MOD_BYTES, MAX_INFO_BYTES } from "../limits";
import { parseInfo } from "../module/info";
import { createUpstreamAgent, escapeQuery } from "../sources/upstream";
import type { WarmTarget } from "./target";

export interface MirrorTargetOptions {
  /** An `Authorization` header value (Bearer or Basic); never shown anywhere. */
  readonly authorization?: string;
  readonly timeoutMs: number;
  readonly dispatcher?: Dispatcher;
}

/**
 * A running mirror, warmed over the GOPROXY protocol as a client would: each file asked for is
 * fetched and stored by the mirror. The mirror does not say whether it had a file already.
 * Redirects (a mirror answering zips with storage URLs) are followed; the credentials are
 * dropped on a redirect to another origin.
 */
export class MirrorTarget implements WarmTarget {
  readonly name: string;
  private readonly base: string;
  private readonly dispatcher: Dispatcher;

  constructor(
    url: string,
    private readonly options: MirrorTargetOptions,
  ) {
    const parsed = new URL(url);
    if (parsed.username || parsed.password) {
      throw new Error("the mirror URL carries credentials; give the token in GOMIRROR_TOKEN or a netrc file");
    }
    this.base = url.replace(/\/+$/, "");
    this.name = this.base;
    this.dispatcher = options.dispatcher ?? createUpstreamAgent(options.timeoutMs);
  }

  has(): Promise<undefined> {
    return Promise.resolve(undefined);
  }

  async info(path: string, query: string): Promise<string> {
    const rel =
      query === "latest"
        ? `${escapePath(path)}/@latest`
        : `${escapePath(path)}/@v/${escapeQuery(query)}.info`;
    const data = await readLimited(await this.get(rel), MAX_INFO_BYTES, `${path}@${query} .info`);
    return parseInfo(data, `${this.name}: ${path}@${query}`).Version;
  }

  async mod(path: string, version: string): Promise<Buffer> {
    const body = await this.get(`${escapePath(path)}/@v/${escapeVersion(version)}.mod`);
    return readLimited(body, MAX_GO_MOD_BYTES, `${path}@${version} go.mod`);
  }

  async zip(path: string, version: string, hash: boolean): Promise<string | undefined> {
    const body = await this.get(`${escapePath(path)}/@v/${escapeVersion(version)}.zip`);
    if (hash) return hashZipStream(body);
    body.resume();
    await finished(body);
    return undefined;
  }

  async close(): Promise<void> {
    if (!this.options.dispatcher) await this.dispatcher.close();
  }

  private async get(rel: string): Promise<Readable> {
    const res = await undici().request(`${this.base}/${rel}`, {
      dispatcher: this.dispatcher,
      headers: {
        "user-agent": "gomirror warm",
        ...(this.options.authorization ? { authorization: this.options.authorization } : {}),
      },
    });
    if (res.statusCode === 200) return res.body;
    const text = await readLimited(res.body, 4096, "error body").catch(() => Buffer.alloc(0));
    const first = text.toString("utf8").split("\n")[0]!.trim().slice(0, 300);
    throw new Error(`the mirror answered ${res.statusCode}${first ? `: ${first}` : ""}`);
  }
}
