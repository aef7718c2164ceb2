import { ProxyError, notFound } from "../errors";
import { matchPrefixPatterns } from "../module/glob";
import type { Download, ModuleInfo, ModuleSource } from "./source";

/** One entry of a chain: a source, and whether any error (not only "not found") falls through. */
export interface ChainEntry {
  readonly source: ModuleSource;
  readonly fallBackOnError: boolean;
  /** `direct` entries rank first when choosing which error to report. */
  readonly direct?: boolean;
}

/**
 * The GOPROXY list as a source: tries entries in order. After an entry fails it moves on only
 * when the failure is "not-found" (a `,` separator) or when the entry is followed by `|`.
 * Which error the chain reports follows the go command: a direct source's error first, then a
 * real fault of a proxy, then the last "not found".
 */
export class ProxyChainSource implements ModuleSource {
  constructor(private readonly entries: readonly ChainEntry[]) {
    if (entries.length === 0) throw new Error("a proxy chain needs at least one entry");
  }

  list(path: string): Promise<string[]> {
    return this.try((s) => s.list(path));
  }
  info(path: string, query: string): Promise<ModuleInfo> {
    return this.try((s) => s.info(path, query));
  }
  latest(path: string): Promise<ModuleInfo> {
    return this.try((s) => s.latest(path));
  }
  mod(path: string, version: string): Promise<Buffer> {
    return this.try((s) => s.mod(path, version));
  }
  zip(path: string, version: string): Promise<Download> {
    return this.try((s) => s.zip(path, version));
  }

  private async try<T>(op: (source: ModuleSource) => Promise<T>): Promise<T> {
    const NOT_EXIST = 0;
    const PROXY = 1;
    const DIRECT = 2;
    let best: unknown;
    let bestRank = NOT_EXIST;
    for (const entry of this.entries) {
      try {
        return await op(entry.source);
      } catch (err) {
        const isNotExist = err instanceof ProxyError && err.kind === "not-found";
        if (entry.direct) {
          best = err;
          bestRank = DIRECT;
        } else if (bestRank <= PROXY && !isNotExist) {
          best = err;
          bestRank = PROXY;
        } else if (bestRank === NOT_EXIST) {
          best = err;
        }
        if (!entry.fallBackOnError && !isNotExist) break;
      }
    }
    throw best;
  }
}

/** A source that answers every request with the same kind of failure. */
function failingSource(failure: (path: string) => ProxyError): ModuleSource {
  const fail = (path: string): Promise<never> => Promise.reject(failure(path));
  return { list: fail, info: fail, latest: fail, mod: fail, zip: fail };
}

/** GOPROXY=off: every lookup is refused (not "not found": a client must not fall through). */
export function offSource(): ModuleSource {
  return failingSource(
    (path) => new ProxyError("forbidden", `module lookup disabled by GOPROXY=off: ${path}`),
  );
}

/** `direct` when no git source is configured: nothing is here, so clients may fall through. */
export function noDirectSource(): ModuleSource {
  return failingSource((path) =>
    notFound(`not found: ${path}: no direct (git) source is configured in this proxy`),
  );
}

/**
 * Sends private module paths (GONOPROXY, which defaults to GOPRIVATE) to the direct source
 * only, and everything else to the public chain. A private path never reaches an upstream proxy,
 * and an upstream answer can never stand in for a private module.
 */
export class PrivateRoutingSource implements ModuleSource {
  constructor(
    private readonly noProxy: string,
    private readonly direct: ModuleSource,
    private readonly publicChain: ModuleSource,
  ) {}

  private route(path: string): ModuleSource {
    return this.noProxy !== "" && matchPrefixPatterns(this.noProxy, path) ? this.direct : this.publicChain;
  }
  list(path: string): Promise<string[]> {
    return this.route(path).list(path);
  }
  info(path: string, query: string): Promise<ModuleInfo> {
    return this.route(path).info(path, query);
  }
  latest(path: string): Promise<ModuleInfo> {
    return this.route(path).latest(path);
  }
  mod(path: string, version: string): Promise<Buffer> {
    return this.route(path).mod(path, version);
  }
  zip(path: string, version: string): Promise<Download> {
    return this.route(path).zip(path, version);
  }
}
