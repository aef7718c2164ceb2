import { Readable } from "node:stream";
import type {
  ObjectInfo,
  PutOptions,
  PutResult,
  Storage,
  StoredObject,
} from "../../../lib/proxy/storage/storage";
import { checkStorageKey } from "../../../lib/proxy/storage/storage";

/** A Storage in memory for the checksum database tests (keys checked like every backend). */
export class MemoryStorage implements Storage {
  readonly objects = new Map<string, { data: Buffer; modified: Date }>();

  get(key: string): Promise<StoredObject | undefined> {
    checkStorageKey(key);
    const o = this.objects.get(key);
    return Promise.resolve(o && { size: o.data.length, modified: o.modified, body: Readable.from([o.data]) });
  }

  stat(key: string): Promise<ObjectInfo | undefined> {
    checkStorageKey(key);
    const o = this.objects.get(key);
    return Promise.resolve(o && { size: o.data.length, modified: o.modified });
  }

  async put(key: string, body: Readable | Buffer, options: PutOptions = {}): Promise<PutResult> {
    checkStorageKey(key);
    let data: Buffer;
    if (Buffer.isBuffer(body)) data = body;
    else {
      const chunks: Buffer[] = [];
      for await (const c of body) chunks.push(c as Buffer);
      data = Buffer.concat(chunks);
    }
    if (options.ifNoneMatch && this.objects.has(key)) return { created: false, size: 0 };
    this.objects.set(key, { data, modified: new Date() });
    return { created: true, size: data.length };
  }

  delete(key: string): Promise<void> {
    this.objects.delete(key);
    return Promise.resolve();
  }

  async *list(prefix: string): AsyncIterable<string> {
    for (const k of [...this.objects.keys()]) if (k.startsWith(prefix)) yield await Promise.resolve(k);
  }
}
