import { createHash, randomBytes } from "node:crypto";
import { PassThrough, Readable } from "node:stream";
import { setTimeout as delay } from "node:timers/promises";
import { ProxyError } from "../../../lib/proxy/errors";
import type { Storage } from "../../../lib/proxy/storage/storage";

/**
 * The contract every storage backend passes (lib/proxy/storage/storage.ts). Each backend's test
 * file calls `runStorageConformance` with a factory for a fresh, empty storage.
 */
export interface StorageUnderTest {
  readonly storage: Storage;
  /** Removes everything the storage created. */
  cleanup(): Promise<void>;
  /**
   * Backend-specific leftovers of unfinished writes (temp files, pending multipart uploads).
   * After a failed put there must be none.
   */
  leftovers?(): Promise<string[]>;
}

const MiB = 1024 * 1024;
/** Bigger than the S3 backend's multipart part size in its test (5 MiB), so it spans parts. */
export const LARGE_OBJECT_BYTES = 12 * MiB;
/** Just above one S3 part: the smallest body that goes up as a multipart upload. */
const MULTIPART_BYTES = 6 * MiB;

export const UNSAFE_KEYS = ["../x", "/abs", "a//b", "a/./b", "a\\b", "a\0b", ""];

export async function readAll(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body)
    chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

export async function collect(keys: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const key of keys) out.push(key);
  return out.sort();
}

function sha256(data: Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

/** Byte equality that stays fast for megabytes (jest's deep equality walks every byte slowly). */
function expectBytes(actual: Buffer | undefined, expected: Buffer): void {
  expect(actual).toBeDefined();
  expect(actual!.length).toBe(expected.length);
  expect(sha256(actual!)).toBe(sha256(expected));
}

/** A stream of `data` in chunks of irregular sizes, yielding to the event loop between them. */
function chunked(data: Buffer, { chunk = 64 * 1024, pauseMs = 0 } = {}): Readable {
  return Readable.from(
    (async function* () {
      let offset = 0;
      let step = 1;
      while (offset < data.length) {
        // Irregular sizes, so no backend can depend on aligned chunks.
        const size = Math.min(data.length - offset, Math.max(1, (chunk * step) % (chunk * 2) || chunk));
        step += 1;
        yield data.subarray(offset, offset + size);
        offset += size;
        if (pauseMs > 0) await delay(pauseMs);
        else await new Promise<void>((resolve) => setImmediate(resolve));
      }
    })(),
  );
}

/** A stream that delivers `before` bytes of data and then fails. */
function failingAfter(before: number): Readable {
  const data = randomBytes(before);
  return Readable.from(
    (async function* () {
      yield* chunked(data, { chunk: 256 * 1024 });
      throw new Error("body broke midway (test)");
    })(),
  );
}

export function runStorageConformance(name: string, makeStorage: () => Promise<StorageUnderTest>): void {
  describe(`${name}: storage conformance`, () => {
    let subject: StorageUnderTest;
    let storage: Storage;

    beforeEach(async () => {
      subject = await makeStorage();
      storage = subject.storage;
    });

    afterEach(async () => {
      await subject.cleanup();
    });

    async function expectNoLeftovers(): Promise<void> {
      if (subject.leftovers) expect(await subject.leftovers()).toEqual([]);
    }

    async function content(key: string): Promise<Buffer | undefined> {
      const object = await storage.get(key);
      return object && readAll(object.body);
    }

    describe("missing keys", () => {
      it("get and stat of a key never written resolve undefined", async () => {
        expect(await storage.get("example.com/m/@v/v1.0.0.zip")).toBeUndefined();
        expect(await storage.stat("example.com/m/@v/v1.0.0.zip")).toBeUndefined();
      });

      it("a key below an existing object is missing, not an error", async () => {
        await storage.put("a/file", Buffer.from("x"));
        expect(await storage.get("a/file/child")).toBeUndefined();
        expect(await storage.stat("a/file/child")).toBeUndefined();
      });

      it("a directory-like prefix of stored keys is not itself an object", async () => {
        await storage.put("a/b/c", Buffer.from("x"));
        expect(await storage.get("a/b")).toBeUndefined();
        expect(await storage.stat("a/b")).toBeUndefined();
      });
    });

    describe("put then get", () => {
      it("returns the exact bytes and size of a Buffer body", async () => {
        const body = Buffer.from("module example.com/m\n\ngo 1.21\n");
        const before = Date.now();
        expect(await storage.put("example.com/m/@v/v1.0.0.mod", body)).toEqual({
          created: true,
          size: body.length,
        });
        const object = await storage.get("example.com/m/@v/v1.0.0.mod");
        expect(object).toBeDefined();
        expect(object!.size).toBe(body.length);
        expectBytes(await readAll(object!.body), body);
        const info = await storage.stat("example.com/m/@v/v1.0.0.mod");
        expect(info?.size).toBe(body.length);
        // Not toBeInstanceOf(Date): fs dates come from another realm than jest's.
        expect(Object.prototype.toString.call(info?.modified)).toBe("[object Date]");
        // Second resolution at worst (S3 and HTTP dates), and no clock skew on one machine.
        expect(info!.modified.getTime()).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 - 2000);
        expect(info!.modified.getTime()).toBeLessThanOrEqual(Date.now() + 2000);
      });

      it("returns the exact bytes of a stream body delivered in many chunks", async () => {
        const body = randomBytes(300 * 1024 + 7);
        expect(await storage.put("s/stream", chunked(body, { chunk: 4096 }))).toEqual({
          created: true,
          size: body.length,
        });
        expectBytes(await content("s/stream"), body);
        expect((await storage.stat("s/stream"))?.size).toBe(body.length);
      });

      it("stores an empty Buffer as a 0-byte object", async () => {
        expect(await storage.put("e/buffer", Buffer.alloc(0))).toEqual({ created: true, size: 0 });
        const object = await storage.get("e/buffer");
        expect(object?.size).toBe(0);
        expect((await readAll(object!.body)).length).toBe(0);
        expect((await storage.stat("e/buffer"))?.size).toBe(0);
      });

      it("stores an empty stream as a 0-byte object", async () => {
        expect(await storage.put("e/stream", Readable.from([]))).toEqual({ created: true, size: 0 });
        expect((await storage.stat("e/stream"))?.size).toBe(0);
        expect((await content("e/stream"))?.length).toBe(0);
      });

      it("keeps every byte value of binary content", async () => {
        const body = Buffer.alloc(256 * 4);
        for (let i = 0; i < body.length; i++) body[i] = (i * 131) % 256;
        await storage.put("bin/all-bytes", body);
        expectBytes(await content("bin/all-bytes"), body);
      });

      it("answers get with a stream that can be consumed later, or destroyed unread", async () => {
        await storage.put("g/one", Buffer.from("first"));
        await storage.put("g/two", Buffer.from("second"));
        const one = await storage.get("g/one");
        const two = await storage.get("g/two");
        expect(one!.body).toBeInstanceOf(Readable);
        two!.body.destroy();
        await delay(10);
        expect((await readAll(one!.body)).toString()).toBe("first");
        // A destroyed body leaves the storage usable.
        expect((await content("g/two"))?.toString()).toBe("second");
      });

      it("round-trips a streamed object larger than a multipart part with an identical sha256", async () => {
        const body = randomBytes(LARGE_OBJECT_BYTES);
        const result = await storage.put("big/v1.0.0.zip", chunked(body, { chunk: 200_003 }));
        expect(result).toEqual({ created: true, size: body.length });
        expect((await storage.stat("big/v1.0.0.zip"))?.size).toBe(body.length);
        const object = await storage.get("big/v1.0.0.zip");
        expect(object?.size).toBe(body.length);
        const hash = createHash("sha256");
        let bytes = 0;
        for await (const chunk of object!.body) {
          hash.update(chunk as Buffer);
          bytes += (chunk as Buffer).length;
        }
        expect(bytes).toBe(body.length);
        expect(hash.digest("hex")).toBe(sha256(body));
        await expectNoLeftovers();
      });
    });

    describe("atomic put", () => {
      it("an unfinished put is invisible to get, stat and list until it resolves", async () => {
        await storage.put("w/other", Buffer.from("other"));
        const body = new PassThrough();
        const first = randomBytes(MULTIPART_BYTES);
        const second = randomBytes(1000);
        const pending = storage.put("w/in-flight", body);
        body.write(first);
        // Give the backend time to write (and, for S3, to start uploading parts).
        await delay(300);
        expect(await storage.stat("w/in-flight")).toBeUndefined();
        expect(await storage.get("w/in-flight")).toBeUndefined();
        expect(await collect(storage.list(""))).toEqual(["w/other"]);
        expect(await collect(storage.list("w/"))).toEqual(["w/other"]);
        body.end(second);
        expect(await pending).toEqual({ created: true, size: first.length + second.length });
        expectBytes(await content("w/in-flight"), Buffer.concat([first, second]));
        expect(await collect(storage.list(""))).toEqual(["w/in-flight", "w/other"]);
        await expectNoLeftovers();
      });

      it.each([
        ["a few bytes", 10],
        ["more than one multipart part", MULTIPART_BYTES + 123],
      ])("a body that fails after %s rejects and stores nothing", async (_what, before) => {
        await expect(storage.put("f/broken", failingAfter(before))).rejects.toThrow(/body broke midway/);
        expect(await storage.get("f/broken")).toBeUndefined();
        expect(await storage.stat("f/broken")).toBeUndefined();
        expect(await collect(storage.list(""))).toEqual([]);
        await expectNoLeftovers();
      });

      it.each([
        ["overwrite", false],
        ["create-only put", true],
      ])("a failed %s leaves the existing object untouched", async (_what, ifNoneMatch) => {
        const original = randomBytes(5000);
        await storage.put("f/kept", original);
        await expect(
          storage.put("f/kept", failingAfter(MULTIPART_BYTES + 1), { ifNoneMatch }),
        ).rejects.toThrow(/body broke midway/);
        expectBytes(await content("f/kept"), original);
        expect((await storage.stat("f/kept"))?.size).toBe(original.length);
        expect(await collect(storage.list(""))).toEqual(["f/kept"]);
        await expectNoLeftovers();
      });
    });

    describe("maxBytes", () => {
      async function expectTooLarge(promise: Promise<unknown>, limit: number): Promise<void> {
        const err = await promise.then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(ProxyError);
        expect((err as ProxyError).kind).toBe("too-large");
        expect((err as ProxyError).message).toContain(String(limit));
      }

      it("a stream body beyond the limit rejects with too-large and stores nothing", async () => {
        await expectTooLarge(
          storage.put("l/stream", chunked(randomBytes(10_000)), { maxBytes: 9_999 }),
          9_999,
        );
        expect(await storage.stat("l/stream")).toBeUndefined();
        expect(await collect(storage.list(""))).toEqual([]);
        await expectNoLeftovers();
      });

      it("a Buffer body beyond the limit rejects with too-large and stores nothing", async () => {
        await expectTooLarge(storage.put("l/buffer", randomBytes(101), { maxBytes: 100 }), 100);
        expect(await storage.stat("l/buffer")).toBeUndefined();
      });

      it("a body beyond the limit that spans multipart parts stores nothing", async () => {
        await expectTooLarge(
          storage.put("l/large", chunked(randomBytes(MULTIPART_BYTES * 2)), {
            maxBytes: MULTIPART_BYTES + 10,
          }),
          MULTIPART_BYTES + 10,
        );
        expect(await storage.stat("l/large")).toBeUndefined();
        expect(await collect(storage.list(""))).toEqual([]);
        await expectNoLeftovers();
      });

      it("a body beyond the limit leaves an existing object untouched", async () => {
        await storage.put("l/kept", Buffer.from("small"));
        await expectTooLarge(storage.put("l/kept", chunked(randomBytes(2048)), { maxBytes: 1024 }), 1024);
        expect((await content("l/kept"))?.toString()).toBe("small");
      });

      it("a body of exactly the limit is stored", async () => {
        const body = randomBytes(4096);
        expect(await storage.put("l/exact", chunked(body, { chunk: 1000 }), { maxBytes: 4096 })).toEqual({
          created: true,
          size: 4096,
        });
        expect(await storage.put("l/exact-buffer", body, { maxBytes: 4096 })).toEqual({
          created: true,
          size: 4096,
        });
        expectBytes(await content("l/exact"), body);
      });
    });

    describe("create-only put (ifNoneMatch)", () => {
      it("creates the first time and keeps the first content the second time", async () => {
        expect(await storage.put("c/v1.0.0.zip", Buffer.from("first"), { ifNoneMatch: true })).toEqual({
          created: true,
          size: 5,
        });
        expect(await storage.put("c/v1.0.0.zip", Buffer.from("second!"), { ifNoneMatch: true })).toEqual({
          created: false,
          size: 0,
        });
        expect(
          await storage.put("c/v1.0.0.zip", chunked(Buffer.from("third")), { ifNoneMatch: true }),
        ).toEqual({
          created: false,
          size: 0,
        });
        expect((await content("c/v1.0.0.zip"))?.toString()).toBe("first");
        expect((await storage.stat("c/v1.0.0.zip"))?.size).toBe(5);
        await expectNoLeftovers();
      });

      it("a create-only put of a multipart-sized body does not replace an existing object", async () => {
        await storage.put("c/big", Buffer.from("existing"));
        const result = await storage.put("c/big", chunked(randomBytes(MULTIPART_BYTES + 1)), {
          ifNoneMatch: true,
        });
        expect(result).toEqual({ created: false, size: 0 });
        expect((await content("c/big"))?.toString()).toBe("existing");
        await expectNoLeftovers();
      });

      it("of two concurrent create-only writers exactly one wins, and its body is what is stored", async () => {
        for (let round = 0; round < 5; round++) {
          const key = `race/${round}`;
          const a = randomBytes(64 * 1024);
          const b = randomBytes(64 * 1024);
          const [ra, rb] = await Promise.all([
            storage.put(key, chunked(a, { chunk: 8192 }), { ifNoneMatch: true }),
            storage.put(key, chunked(b, { chunk: 8192 }), { ifNoneMatch: true }),
          ]);
          expect([ra.created, rb.created].sort()).toEqual([false, true]);
          const winner = ra.created ? a : b;
          expect(ra.created ? ra.size : rb.size).toBe(winner.length);
          expectBytes(await content(key), winner);
        }
        await expectNoLeftovers();
      });

      it("of two concurrent create-only writers of multipart-sized bodies exactly one wins", async () => {
        const a = randomBytes(MULTIPART_BYTES + 1000);
        const b = randomBytes(MULTIPART_BYTES + 2000);
        const [ra, rb] = await Promise.all([
          storage.put("race/big", chunked(a, { chunk: 256 * 1024 }), { ifNoneMatch: true }),
          storage.put("race/big", chunked(b, { chunk: 256 * 1024 }), { ifNoneMatch: true }),
        ]);
        expect([ra.created, rb.created].sort()).toEqual([false, true]);
        const winner = ra.created ? a : b;
        expect(sha256((await content("race/big"))!)).toBe(sha256(winner));
        await expectNoLeftovers();
      });
    });

    describe("overwrite and delete", () => {
      it("a put without ifNoneMatch replaces the object", async () => {
        await storage.put("o/@latest", Buffer.from('{"Version":"v1.0.0"}'));
        expect(await storage.put("o/@latest", chunked(Buffer.from('{"Version":"v1.1.0"}')))).toEqual({
          created: true,
          size: 20,
        });
        expect((await content("o/@latest"))?.toString()).toBe('{"Version":"v1.1.0"}');
        expect((await storage.stat("o/@latest"))?.size).toBe(20);
      });

      it("a replacing put with a shorter body leaves no trailing bytes", async () => {
        await storage.put("o/list", Buffer.from("v1.0.0\nv1.1.0\nv1.2.0\n"));
        await storage.put("o/list", Buffer.from("v1.0.0\n"));
        expect((await content("o/list"))?.toString()).toBe("v1.0.0\n");
      });

      it("delete removes only that object, and deleting a missing key is fine", async () => {
        await storage.put("d/a", Buffer.from("a"));
        await storage.put("d/b", Buffer.from("b"));
        await storage.delete("d/a");
        expect(await storage.get("d/a")).toBeUndefined();
        expect(await storage.stat("d/a")).toBeUndefined();
        expect((await content("d/b"))?.toString()).toBe("b");
        expect(await collect(storage.list("d/"))).toEqual(["d/b"]);
        await expect(storage.delete("d/a")).resolves.toBeUndefined();
        await expect(storage.delete("never/written")).resolves.toBeUndefined();
      });

      it("a create-only put after a delete creates again", async () => {
        await storage.put("d/again", Buffer.from("one"), { ifNoneMatch: true });
        await storage.delete("d/again");
        expect(await storage.put("d/again", Buffer.from("two"), { ifNoneMatch: true })).toEqual({
          created: true,
          size: 3,
        });
        expect((await content("d/again"))?.toString()).toBe("two");
      });
    });

    describe("list", () => {
      const keys = [
        "golang.org/x/text/@v/list",
        "golang.org/x/text/@v/v0.14.0.info",
        "golang.org/x/text/@v/v0.14.0.mod",
        "golang.org/x/text/@v/v0.14.0.zip",
        "golang.org/x/tools/@v/v0.1.0.mod",
        "golang.org/x/tools/gopls/@v/v0.15.0.mod",
        "github.com/!azure/go/@latest",
        "sumdb/sum.golang.org/lookup/golang.org/x/text@v0.14.0",
        "top",
      ];

      beforeEach(async () => {
        await Promise.all(keys.map((key) => storage.put(key, Buffer.from(key))));
      });

      it("with the empty prefix returns every key exactly once", async () => {
        expect(await collect(storage.list(""))).toEqual([...keys].sort());
      });

      it("returns the keys under a directory prefix, nested ones included", async () => {
        expect(await collect(storage.list("golang.org/x/"))).toEqual(
          keys.filter((k) => k.startsWith("golang.org/x/")).sort(),
        );
        expect(await collect(storage.list("golang.org/x/tools/"))).toEqual([
          "golang.org/x/tools/@v/v0.1.0.mod",
          "golang.org/x/tools/gopls/@v/v0.15.0.mod",
        ]);
        expect(await collect(storage.list("golang.org/x/text/@v/"))).toEqual([
          "golang.org/x/text/@v/list",
          "golang.org/x/text/@v/v0.14.0.info",
          "golang.org/x/text/@v/v0.14.0.mod",
          "golang.org/x/text/@v/v0.14.0.zip",
        ]);
      });

      it("treats a prefix ending mid-segment as a string prefix", async () => {
        expect(await collect(storage.list("golang.org/x/t"))).toEqual(
          keys.filter((k) => k.startsWith("golang.org/x/t")).sort(),
        );
        expect(await collect(storage.list("golang.org/x/text/@v/v0.14.0."))).toEqual([
          "golang.org/x/text/@v/v0.14.0.info",
          "golang.org/x/text/@v/v0.14.0.mod",
          "golang.org/x/text/@v/v0.14.0.zip",
        ]);
        expect(await collect(storage.list("golang.org/x/text/@v/v0.14.0.zip"))).toEqual([
          "golang.org/x/text/@v/v0.14.0.zip",
        ]);
        expect(await collect(storage.list("to"))).toEqual(["top"]);
        expect(await collect(storage.list("g"))).toEqual(keys.filter((k) => k.startsWith("g")).sort());
      });

      it("returns nothing for a prefix nothing is stored under", async () => {
        expect(await collect(storage.list("golang.org/y/"))).toEqual([]);
        expect(await collect(storage.list("golang.org/x/text/@v/v9"))).toEqual([]);
        expect(await collect(storage.list("top/"))).toEqual([]);
      });

      it("does not return deleted keys", async () => {
        await storage.delete("golang.org/x/tools/gopls/@v/v0.15.0.mod");
        expect(await collect(storage.list("golang.org/x/tools/"))).toEqual([
          "golang.org/x/tools/@v/v0.1.0.mod",
        ]);
      });

      it("never returns the temporary state of failed or unfinished puts", async () => {
        await expect(storage.put("golang.org/x/text/@v/v0.15.0.zip", failingAfter(1000))).rejects.toThrow();
        const body = new PassThrough();
        const pending = storage.put("golang.org/x/text/@v/v0.16.0.zip", body);
        body.write(randomBytes(1000));
        await delay(50);
        expect(await collect(storage.list(""))).toEqual([...keys].sort());
        body.end();
        await pending;
        expect(await collect(storage.list(""))).toEqual([...keys, "golang.org/x/text/@v/v0.16.0.zip"].sort());
      });
    });

    describe("unsafe keys", () => {
      it.each(UNSAFE_KEYS.map((key) => [JSON.stringify(key), key]))(
        "%s is rejected by get, stat, put and delete, and nothing is written",
        async (_label, key) => {
          await expect(storage.get(key)).rejects.toThrow();
          await expect(storage.stat(key)).rejects.toThrow();
          await expect(storage.put(key, Buffer.from("x"))).rejects.toThrow();
          await expect(storage.put(key, Buffer.from("x"), { ifNoneMatch: true })).rejects.toThrow();
          await expect(storage.delete(key)).rejects.toThrow();
          expect(await collect(storage.list(""))).toEqual([]);
        },
      );

      it.each(UNSAFE_KEYS.filter((key) => key !== "").map((key) => [JSON.stringify(key), key]))(
        "%s is rejected as a list prefix",
        async (_label, prefix) => {
          await storage.put("a/b", Buffer.from("x"));
          await expect(collect(storage.list(prefix))).rejects.toThrow();
        },
      );

      it("a put with an unsafe key and a stream body writes nothing", async () => {
        const body = new PassThrough();
        await expect(storage.put("../escape", body)).rejects.toThrow();
        expect(await collect(storage.list(""))).toEqual([]);
        body.destroy();
      });
    });

    describe("concurrency", () => {
      it("handles many concurrent puts and gets of different keys", async () => {
        const bodies = new Map<string, Buffer>();
        for (let i = 0; i < 40; i++) bodies.set(`many/m${i}/@v/v1.0.${i}.zip`, randomBytes(1000 + i * 997));
        const results = await Promise.all(
          [...bodies].map(([key, body], i) =>
            storage.put(key, i % 2 === 0 ? body : chunked(body, { chunk: 1500 }), {
              ifNoneMatch: i % 3 === 0,
            }),
          ),
        );
        expect(results.every((r) => r.created)).toBe(true);
        const read = await Promise.all([...bodies.keys()].map((key) => content(key)));
        [...bodies.values()].forEach((body, i) => expectBytes(read[i], body));
        expect(await collect(storage.list("many/"))).toEqual([...bodies.keys()].sort());
        await expectNoLeftovers();
      });

      it("serves concurrent gets of one key while it is overwritten, each a whole version", async () => {
        const versions = [randomBytes(50_000), randomBytes(50_000), randomBytes(50_000)];
        await storage.put("hot/key", versions[0]);
        const hashes = new Set(versions.map(sha256));
        const reads = Array.from({ length: 10 }, async (_, i) => {
          await delay(i * 3);
          return content("hot/key");
        });
        const writes = [storage.put("hot/key", versions[1]), storage.put("hot/key", chunked(versions[2]))];
        const [seen] = await Promise.all([Promise.all(reads), Promise.all(writes)]);
        for (const data of seen) {
          expect(data).toBeDefined();
          expect(hashes.has(sha256(data!))).toBe(true);
        }
      });
    });
  });
}
