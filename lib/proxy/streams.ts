import { finished, Readable } from "node:stream";
import { ProxyError } from "./errors";

/**
 * Streams that cannot take the process down. A stream that emits 'error' with no listener
 * attached throws from inside Node's event loop and ends the process, with every download in
 * flight. A body is often created long before anyone reads it (a source answers, then its
 * caller awaits a spool or a lookup), so the listener must exist from the moment the stream does:
 * every stream that crosses an `await` goes through `guarded` (or is built by `bounded`, which
 * guards what it returns) where it is created.
 */

const ignore = (): void => undefined;

/**
 * `stream`, with its errors handled from now on. A consumer still sees a failure, whenever it
 * happened: async iteration, `stream.pipeline` and `finished` report an error the stream already
 * had (a hand-made `.on("error")` attached later would not, so consumers use those).
 */
export function guarded<T extends Readable>(stream: T): T {
  finished(stream, ignore);
  return stream;
}

export interface BoundOptions {
  /** Fail with "too-large" beyond this many bytes. */
  readonly limit: number;
  /** Fail with "upstream" when the stream ends with any other count (a declared Content-Length). */
  readonly expected?: number;
  /** What the bytes are, for messages (`example.com/m@v1.0.0 zip`). */
  readonly what: string;
  /** Turns an error of `source` itself into the ProxyError a consumer sees. */
  readonly failure: (err: unknown) => ProxyError;
}

/**
 * `source` relayed with its length checked, its errors turned into ProxyErrors, and the whole
 * guarded from creation. A consumer that stops early (destroys the result) destroys `source`,
 * which gives a network connection back to its pool.
 */
export function bounded(source: Readable, options: BoundOptions): Readable {
  guarded(source);
  const { limit, expected, what } = options;
  async function* relay(): AsyncGenerator<Buffer> {
    let total = 0;
    try {
      for await (const chunk of source) {
        const data = chunk as Buffer;
        total += data.length;
        if (total > limit) throw new ProxyError("too-large", `${what} is larger than ${limit} bytes`);
        yield data;
      }
    } catch (err) {
      throw err instanceof ProxyError ? err : options.failure(err);
    } finally {
      source.destroy();
    }
    if (expected !== undefined && total !== expected) {
      throw new ProxyError("upstream", `${what}: sent ${total} of ${expected} bytes`);
    }
  }
  const relayed = Readable.from(relay(), { objectMode: false });
  // Also when it never read a byte (a generator that never started runs no `finally`).
  relayed.once("close", () => source.destroy());
  return guarded(relayed);
}
