import type { Logger } from "pino";
import type { Dispatcher } from "undici";
import type { ProxyConfig } from "../config";
import type { ModuleSource } from "../sources/source";
import type { Storage } from "../storage/storage";
import { SumdbClient } from "./client";
import { parseGosumdb } from "./config";
import type { CacheAudience } from "../http/cache-control";
import { createSumdbHandler, type SumdbHandler } from "./handler";
import { VerifyingSource } from "./verify";

/**
 * Everything checksum-database related the server needs, built from the configuration in one
 * call: the client of the configured database, the verifier wrapper for the module source, and
 * the `/sumdb/` handler. With GOSUMDB=off all three are undefined (nothing verified, `/sumdb/`
 * answers 404).
 */
export interface SumdbWiring {
  readonly client: SumdbClient | undefined;
  /** Wraps the routed module source, before the cache (ProxyDeps.verify). */
  readonly verify: ((source: ModuleSource) => ModuleSource) | undefined;
  /** Serves `/sumdb/<rest>` (ProxyDeps.sumdb). */
  readonly handler: SumdbHandler | undefined;
}

export interface SumdbWiringParts {
  readonly storage: Storage;
  readonly logger?: Logger;
  /** Where refusals are counted: ProxyMetrics fits (`checksumMismatches`). */
  readonly metrics?: { readonly checksumMismatches: { inc(): void } };
  readonly dispatcher?: Dispatcher;
  /** This proxy's hop id, sent with every request to the database. */
  readonly hop?: string;
  /** Who may keep `/sumdb/` answers. @default "public" */
  readonly cacheAudience?: CacheAudience;
}

export function createSumdbWiring(
  config: Pick<ProxyConfig, "sumdb" | "noSumdb" | "proxyList" | "upstreamTimeoutSeconds" | "cacheTtlSeconds">,
  parts: SumdbWiringParts,
): SumdbWiring {
  const db = parseGosumdb(config.sumdb);
  if (!db) return { client: undefined, verify: undefined, handler: undefined };
  const client = new SumdbClient({
    config: db,
    storage: parts.storage,
    proxyList: config.proxyList,
    timeoutMs: config.upstreamTimeoutSeconds * 1000,
    dispatcher: parts.dispatcher,
    hop: parts.hop,
    logger: parts.logger,
    shortTtlMs: config.cacheTtlSeconds * 1000,
  });
  return {
    client,
    verify: (source) =>
      new VerifyingSource(source, {
        database: client,
        noSumdb: config.noSumdb,
        logger: parts.logger,
        mismatches: parts.metrics?.checksumMismatches,
      }),
    handler: createSumdbHandler({
      databases: [client],
      noSumdb: config.noSumdb,
      shortTtlSeconds: config.cacheTtlSeconds,
      cacheAudience: parts.cacheAudience,
    }),
  };
}
