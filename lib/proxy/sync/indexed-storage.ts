import type { Readable } from "node:stream";
import type { Logger } from "pino";
import type { ObjectInfo, PutOptions, PutResult, Storage, StoredObject } from "../storage/storage";
import { parseModuleFileKey } from "../cache/keys";
import { IndexLog } from "./index-log";

/**
 * A Storage that records in the index (index-log.ts) each `.mod` and `.zip` it newly stores, so
 * whatever stores a module file (the cache, an import, a sync) feeds `/index` without knowing.
 * A version appears once for its go.mod and once more when its zip is stored. The entry is
 * written after the file: an entry never names a file that is not there. A failed entry is
 * logged and does not fail the store (the file is good; `gomirror export` reads the storage).
 */
export class IndexedStorage implements Storage {
  readonly index: IndexLog;

  constructor(
    private readonly inner: Storage,
    private readonly logger?: Logger,
  ) {
    this.index = new IndexLog(inner);
  }

  get(key: string): Promise<StoredObject | undefined> {
    return this.inner.get(key);
  }

  stat(key: string): Promise<ObjectInfo | undefined> {
    return this.inner.stat(key);
  }

  async put(key: string, body: Readable | Buffer, options?: PutOptions): Promise<PutResult> {
    const result = await this.inner.put(key, body, options);
    const file = result.created ? parseModuleFileKey(key) : undefined;
    if (file) {
      await this.index.append(file.path, file.version).catch((err: unknown) => {
        this.logger?.error(
          { event: "index_write_failed", key, err: String(err) },
          "stored a module file but could not record it in the index",
        );
      });
    }
    return result;
  }

  delete(key: string): Promise<void> {
    return this.inner.delete(key);
  }

  list(prefix: string): AsyncIterable<string> {
    return this.inner.list(prefix);
  }
}
