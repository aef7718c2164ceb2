import type { Readable } from "node:stream";

/** What a storage knows about a stored object. */
export interface ObjectInfo {
  /** Size in bytes. */
  readonly size: number;
  /** When the object was last written. */
  readonly modified: Date;
}

/** A stored object opened for reading. The caller must consume or destroy `body`. */
export interface StoredObject extends ObjectInfo {
  readonly body: Readable;
}

export interface PutOptions {
  /**
   * Create only: when an object already exists under the key, keep it and report
   * `created: false` instead of replacing it. Immutable files (`.mod`, `.zip`, canonical
   * `.info`) are written this way so that replicas never overwrite each other.
   * @default false
   */
  readonly ifNoneMatch?: boolean;
  /** Refuse (and store nothing) when the body grows beyond this many bytes. */
  readonly maxBytes?: number;
}

export interface PutResult {
  /** False when `ifNoneMatch` was set and the object already existed. */
  readonly created: boolean;
  /** Bytes written (0 when not created). */
  readonly size: number;
}

/**
 * Where the proxy keeps what it has fetched. Keys are relative slash-separated paths made of
 * safe characters only (see `checkStorageKey`); backends never see anything else.
 *
 * Contract every backend passes (test/proxy/storage/conformance.ts):
 * - `put` is atomic: until it resolves, `get`/`stat`/`list` do not see the new object, and a
 *   body stream that errors (or exceeds `maxBytes`) leaves nothing behind.
 * - `get`/`stat` of a missing key resolve `undefined`; they reject only on real faults.
 */
export interface Storage {
  get(key: string): Promise<StoredObject | undefined>;
  stat(key: string): Promise<ObjectInfo | undefined>;
  put(key: string, body: Readable | Buffer, options?: PutOptions): Promise<PutResult>;
  delete(key: string): Promise<void>;
  /** Every key that starts with `prefix`, in no particular order. */
  list(prefix: string): AsyncIterable<string>;
}

/** An optional capability: storages that can hand out a time-limited URL for direct download (S3). */
export interface PresigningStorage extends Storage {
  presignedGetUrl(key: string, expiresSeconds: number): Promise<string>;
}

export function canPresign(storage: Storage): storage is PresigningStorage {
  return typeof (storage as Partial<PresigningStorage>).presignedGetUrl === "function";
}

const KEY_SEGMENT = /^[A-Za-z0-9._~!+@-]+$/;

/**
 * Refuses any key that could escape a backend's root or confuse it: empty or dot segments,
 * absolute paths, backslashes, control characters. Module paths and versions are validated long
 * before they become keys; this is the last line of defence, enforced by every backend.
 */
export function checkStorageKey(key: string): void {
  if (key.length === 0 || key.length > 1024) {
    throw new Error(`storage key has invalid length ${key.length}`);
  }
  for (const segment of key.split("/")) {
    if (segment === "" || segment === "." || segment === ".." || !KEY_SEGMENT.test(segment)) {
      throw new Error(`storage key ${JSON.stringify(key)} is not a safe relative path`);
    }
  }
}
