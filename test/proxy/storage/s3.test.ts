import { Readable } from "node:stream";
import { randomBytes } from "node:crypto";
import { ProxyError } from "../../../lib/proxy/errors";
import { S3Storage } from "../../../lib/proxy/storage/s3";
import { parseS3Url } from "../../../lib/proxy/storage/s3-url";
import { collect, readAll, runStorageConformance } from "./conformance";
import { startS3TestServer, type S3TestServer } from "./s3rver-harness";

const MiB = 1024 * 1024;

let server: S3TestServer;
let counter = 0;

beforeAll(async () => {
  server = await startS3TestServer();
});

afterAll(async () => {
  await server?.close();
});

/** An S3Storage on the test server under a fresh prefix, with the smallest part size S3 allows. */
function storageUnder(
  prefix: string,
  options: Partial<ConstructorParameters<typeof S3Storage>[0]> = {},
): S3Storage {
  return new S3Storage({
    bucket: server.bucket,
    prefix,
    endpoint: server.endpoint,
    forcePathStyle: true,
    region: "us-east-1",
    credentials: server.credentials,
    partSize: 5 * MiB,
    // Small pages, so that listing exercises ListObjectsV2 continuation.
    listPageSize: 3,
    // A hang in the test server then fails a test instead of its 60 s timeout.
    socketIdleTimeoutMs: 20_000,
    ...options,
  });
}

runStorageConformance("S3Storage (s3rver)", async () => {
  const storage = storageUnder(`conformance/run-${++counter}`);
  return {
    storage,
    async cleanup() {
      for await (const key of storage.list("")) await storage.delete(key);
      storage.destroy();
    },
    leftovers: () => server.pendingUploads(),
  };
});

describe("S3Storage specifics", () => {
  let storage: S3Storage;

  beforeEach(() => {
    storage = storageUnder(`specific/run-${++counter}`);
  });

  afterEach(() => {
    storage.destroy();
  });

  it("aborts the multipart upload of a body that fails after the first part", async () => {
    const abortedBefore = server.abortedUploads();
    const body = Readable.from(
      (async function* () {
        yield randomBytes(11 * MiB);
        throw new Error("disk read failed (test)");
      })(),
    );
    await expect(storage.put("m/@v/v1.0.0.zip", body)).rejects.toThrow(/disk read failed/);
    expect(server.abortedUploads()).toBe(abortedBefore + 1);
    expect(await server.pendingUploads()).toEqual([]);
    expect(await storage.stat("m/@v/v1.0.0.zip")).toBeUndefined();
  });

  it("sends If-None-Match: * on create-only puts, so the server refuses the second writer", async () => {
    const refusedBefore = server.refusedConditionalWrites();
    await storage.put("c/v1.0.0.mod", Buffer.from("a"), { ifNoneMatch: true });
    expect(await storage.put("c/v1.0.0.mod", Buffer.from("b"), { ifNoneMatch: true })).toEqual({
      created: false,
      size: 0,
    });
    expect(server.refusedConditionalWrites()).toBe(refusedBefore + 1);
  });

  it("keeps keys under its prefix, and two prefixes in one bucket do not see each other", async () => {
    const other = storageUnder(`specific/other-${++counter}`);
    try {
      await storage.put("m/@v/list", Buffer.from("mine"));
      await other.put("m/@v/list", Buffer.from("theirs"));
      expect((await readAll((await storage.get("m/@v/list"))!.body)).toString()).toBe("mine");
      expect(await collect(storage.list(""))).toEqual(["m/@v/list"]);
      expect(await collect(other.list(""))).toEqual(["m/@v/list"]);
    } finally {
      other.destroy();
    }
  });

  it("lists across many ListObjectsV2 pages", async () => {
    const keys = Array.from({ length: 20 }, (_, i) => `p/k${String(i).padStart(2, "0")}`);
    await Promise.all(keys.map((key) => storage.put(key, Buffer.from(key))));
    expect(await collect(storage.list("p/"))).toEqual(keys);
    expect(await collect(storage.list("p/k1"))).toEqual(keys.filter((k) => k.startsWith("p/k1")));
  });

  it("presigns a GET URL that serves the object", async () => {
    await storage.put("z/@v/v1.0.0.zip", Buffer.from("zip bytes"));
    const url = await storage.presignedGetUrl("z/@v/v1.0.0.zip", 300);
    expect(url).toContain(`/${server.bucket}/`);
    expect(url).toContain("X-Amz-Expires=300");
    expect(url).not.toContain(server.credentials.secretAccessKey + "&");
    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("zip bytes");
    await expect(storage.presignedGetUrl("../x", 60)).rejects.toThrow();
    await expect(storage.presignedGetUrl("z/@v/v1.0.0.zip", 0)).rejects.toThrow(/lifetime/);
  });

  it("reports a missing bucket as a storage fault naming the bucket and key, not as a missing object", async () => {
    const lost = new S3Storage({
      bucket: "no-such-bucket",
      prefix: "p",
      endpoint: server.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER-secret-never-shown" },
      maxAttempts: 1,
    });
    try {
      const err = await lost.get("m/@v/list").then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ProxyError);
      expect((err as ProxyError).kind).toBe("internal");
      expect((err as ProxyError).message).toContain("s3://no-such-bucket/p/m/@v/list");
      expect((err as ProxyError).message).toContain("NoSuchBucket");
      expect((err as ProxyError).message).not.toContain("S3RVER-secret-never-shown");
      await expect(lost.put("m/@v/list", Buffer.from("x"))).rejects.toThrow(/no-such-bucket/);
    } finally {
      lost.destroy();
    }
  });

  it("fails within its timeouts when the endpoint does not answer", async () => {
    const net = await import("node:net");
    // A server that accepts connections and never answers.
    const silent = net.createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const port = (silent.address() as import("node:net").AddressInfo).port;
    const stuck = new S3Storage({
      bucket: "bucket",
      prefix: "",
      endpoint: `http://127.0.0.1:${port}`,
      forcePathStyle: true,
      credentials: server.credentials,
      maxAttempts: 1,
      requestTimeoutMs: 500,
      socketIdleTimeoutMs: 500,
    });
    const started = Date.now();
    try {
      await expect(stuck.stat("m/@v/list")).rejects.toThrow(
        /HeadObject of s3:\/\/bucket\/m\/@v\/list failed/,
      );
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      stuck.destroy();
      silent.close();
    }
  });
});

describe("parseS3Url", () => {
  it.each([
    ["s3://bucket", { bucket: "bucket", prefix: "" }],
    ["s3://bucket/", { bucket: "bucket", prefix: "" }],
    ["s3://my.bucket-1/gomirror", { bucket: "my.bucket-1", prefix: "gomirror" }],
    ["s3://bucket/team/go/", { bucket: "bucket", prefix: "team/go" }],
  ])("parses %s", (url, expected) => {
    expect(parseS3Url(url)).toEqual(expected);
  });

  it.each([
    ["http://bucket/prefix", /s3:\/\/bucket\/prefix/],
    ["s3://", /not a valid S3 bucket name/],
    ["s3://Bucket/x", /not a valid S3 bucket name/],
    ["s3://ab/x", /not a valid S3 bucket name/],
    ["s3://bucket_1/x", /not a valid S3 bucket name/],
    ["s3://a..b/x", /not a valid S3 bucket name/],
    ["s3://bucket/a/../b", /key prefix "a\/..\/b"/],
    ["s3://bucket/a//b", /key prefix/],
    ["s3://bucket/pre fix", /key prefix/],
    ["s3://bucket/prefix?versionId=1", /s3:\/\/bucket\/prefix/],
    [`s3://bucket/${"p".repeat(256)}`, /has key prefix "p{256}"; use at most 255 bytes/],
  ])("refuses %s", (url, message) => {
    expect(() => parseS3Url(url)).toThrow(message);
  });

  it("refuses credentials in the URL without repeating them", () => {
    expect(() => parseS3Url("s3://user:hunter2@bucket/prefix")).toThrow(/credential chain/);
    expect(() => parseS3Url("s3://user:hunter2@bucket/prefix")).not.toThrow(/hunter2/);
  });

  it("refuses a part size below S3's minimum", () => {
    expect(
      () => new S3Storage({ bucket: "bucket", prefix: "", region: "us-east-1", partSize: 1024 }),
    ).toThrow(/5 MiB/);
  });
});
