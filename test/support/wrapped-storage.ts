import type { Readable } from "node:stream";
import type {
  ObjectInfo,
  PutOptions,
  PutResult,
  Storage,
  StoredObject,
} from "../../lib/proxy/storage/storage";

/**
 * A storage that hands every call to `inner`, for tests' wrappers (counting, holding, failing):
 * each overrides only what it changes.
 */
export class WrappedStorage implements Storage {
  constructor(readonly inner: Storage) {}

  get(key: string): Promise<StoredObject | undefined> {
    return this.inner.get(key);
  }
  stat(key: string): Promise<ObjectInfo | undefined> {
    return this.inner.stat(key);
  }
  put(key: string, body: Readable | Buffer, options?: PutOptions): Promise<PutResult> {
    return this.inner.put(key, body, options);
  }
  delete(key: string): Promise<void> {
    return this.inner.delete(key);
  }
  list(prefix: string): AsyncIterable<string> {
    return this.inner.list(prefix);
  }
}
