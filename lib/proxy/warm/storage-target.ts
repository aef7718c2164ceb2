import type { Logger } from "pino";
import type { CachedSource } from "../cache/cached-source";
import { storageKeys } from "../cache/keys";
import type { ProxyConfig } from "../config";
import type { GitSource } from "../git/source";
import { ProxyMetrics } from "../metrics";
import { hashZipStream } from "../module/dirhash";
import { buildSource, loadGitSource } from "../server";
import { lazySource } from "../sources/lazy";
import { createUpstreamAgent } from "../sources/upstream";
import { IndexedStorage } from "../sync/indexed-storage";
import { openConfiguredStorage } from "../storage/open";
import type { Storage } from "../storage/storage";
import { createSumdbWiring } from "../sumdb/wiring";
import type { ModuleFile } from "./inputs";
import type { WarmTarget } from "./target";

/**
 * A mirror's storage, filled through the same source stack the server uses (the GOPROXY chain
 * with its circuit breakers, private routing to git, checksum database verification, the
 * cache), so what is stored is exactly what the server would have stored.
 */
export class StorageTarget implements WarmTarget {
  constructor(
    readonly name: string,
    private readonly source: CachedSource,
    private readonly storage: Storage,
    private readonly shutdown: () => Promise<void>,
  ) {}

  async has(path: string, version: string, file: ModuleFile): Promise<boolean> {
    return (await this.storage.stat(storageKeys[file](path, version))) !== undefined;
  }

  async info(path: string, query: string): Promise<string> {
    const info = query === "latest" ? await this.source.latest(path) : await this.source.info(path, query);
    return info.Version;
  }

  mod(path: string, version: string): Promise<Buffer> {
    return this.source.mod(path, version);
  }

  async zip(path: string, version: string, hash: boolean): Promise<string | undefined> {
    const key = await this.source.storedZip(path, version);
    if (!hash) return undefined;
    const stored = await this.storage.get(key);
    if (!stored) throw new Error(`${key} vanished from the storage`);
    return hashZipStream(stored.body);
  }

  async close(): Promise<void> {
    await this.shutdown();
  }
}

/** The storage GOMIRROR_STORAGE names, behind the server's own source stack. */
export function openStorageTarget(config: ProxyConfig, logger: Logger): StorageTarget {
  // Indexed as the server's own storage is, so /index (and peers syncing) list what warm stored.
  const storage = new IndexedStorage(openConfiguredStorage(config), logger);
  const metrics = new ProxyMetrics();
  let git: GitSource | undefined;
  const direct = lazySource(() => (git = loadGitSource(config, logger)));
  const sumdb = createSumdbWiring(config, { storage, logger, metrics });
  const agent = createUpstreamAgent(config.upstreamTimeoutSeconds * 1000);
  const source = buildSource(config, { storage, logger, metrics, direct, verify: sumdb.verify, agent });
  const name = config.storage.replace(/\/\/[^/@]*@/, "//");
  return new StorageTarget(name, source, storage, async () => {
    await source.drain();
    await git?.close();
    await agent.close();
  });
}
