import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
  type S3ClientConfig,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { Readable } from "node:stream";
import { ProxyError } from "../errors";
import { guarded } from "../streams";
import { checkStoragePrefix } from "./prefix";
import { formatS3Url, parseS3Url, type S3Location } from "./s3-url";
import type { ObjectInfo, PutOptions, PutResult, Storage, StoredObject } from "./storage";
import { checkStorageKey } from "./storage";

export interface S3StorageOptions extends S3Location {
  /**
   * Endpoint of an S3-compatible server (MinIO, Ceph), e.g. `http://minio:9000`.
   * @default AWS S3 in the client's region
   */
  readonly endpoint?: string;
  /**
   * Address buckets as `endpoint/bucket/key` instead of `bucket.endpoint/key`; most
   * S3-compatible servers need this.
   * @default false
   */
  readonly forcePathStyle?: boolean;
  /**
   * The bucket's region.
   * @default the SDK's chain (AWS_REGION, profile); "us-east-1" when `endpoint` is set
   */
  readonly region?: string;
  /**
   * Credentials, or a provider of them.
   * @default the SDK's default provider chain (environment, ECS/EC2 roles, web identity, profile)
   */
  readonly credentials?: S3ClientConfig["credentials"];
  /**
   * Size of each part of a multipart upload; bodies up to this size go up in one PutObject.
   * S3 refuses parts smaller than 5 MiB.
   * @default 8 MiB
   */
  readonly partSize?: number;
  /**
   * Parts of one upload sent at the same time (each holds `partSize` bytes in memory).
   * @default 4
   */
  readonly queueSize?: number;
  /**
   * Attempts per S3 request, the first included (the SDK retries throttling and 5xx with backoff).
   * @default 3
   */
  readonly maxAttempts?: number;
  /**
   * Milliseconds to establish a connection.
   * @default 5000
   */
  readonly connectionTimeoutMs?: number;
  /**
   * Milliseconds until a request has its response headers (an upload part included).
   * @default 120000
   */
  readonly requestTimeoutMs?: number;
  /**
   * Milliseconds a connection may stay silent, also while a body streams. A client that reads a
   * streamed `get` body slower than this loses the stream.
   * @default 120000
   */
  readonly socketIdleTimeoutMs?: number;
  /**
   * Concurrent connections to S3. Each open `get` body holds one until consumed.
   * @default 256
   */
  readonly maxSockets?: number;
  /**
   * Keys asked for per ListObjectsV2 page (S3 answers at most 1000).
   * @default 1000
   */
  readonly listPageSize?: number;
  /** Further S3Client settings, applied last (e.g. checksum behaviour for a particular server). */
  readonly clientConfig?: S3ClientConfig;
}

const MiB = 1024 * 1024;

/** What the SDK's errors carry that we look at; never their request (it holds the signature). */
interface AwsErrorShape {
  readonly name?: string;
  readonly message?: string;
  readonly Code?: string;
  readonly $metadata?: { readonly httpStatusCode?: number };
}

function awsError(err: unknown): AwsErrorShape {
  return typeof err === "object" && err !== null ? (err as AwsErrorShape) : {};
}

function statusOf(err: unknown): number | undefined {
  return awsError(err).$metadata?.httpStatusCode;
}

function isMissingObject(err: unknown): boolean {
  const { name, Code } = awsError(err);
  if (name === "NoSuchBucket" || Code === "NoSuchBucket") return false;
  return name === "NoSuchKey" || name === "NotFound" || Code === "NoSuchKey" || statusOf(err) === 404;
}

function isPreconditionFailed(err: unknown): boolean {
  const { name, Code } = awsError(err);
  return name === "PreconditionFailed" || Code === "PreconditionFailed" || statusOf(err) === 412;
}

/** S3 answers 409 when a conditional write races another write to the same key. */
function isConditionalConflict(err: unknown): boolean {
  const { name, Code } = awsError(err);
  return (
    name === "ConditionalRequestConflict" || Code === "ConditionalRequestConflict" || statusOf(err) === 409
  );
}

/**
 * A body stream that counts bytes and fails with "too-large" once `maxBytes` is passed. The
 * error that stopped it (its own or the source's) is kept so that `put` reports it rather than
 * whatever the SDK made of it.
 */
class CountingBody {
  bytes = 0;
  failure: unknown;
  readonly stream: Readable;

  constructor(
    private readonly source: Readable,
    maxBytes: number,
  ) {
    const generate = async function* (self: CountingBody): AsyncGenerator<Buffer> {
      try {
        for await (const chunk of source) {
          const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
          self.bytes += buffer.length;
          if (self.bytes > maxBytes) {
            throw new ProxyError("too-large", `file exceeds the limit of ${maxBytes} bytes`);
          }
          yield buffer;
        }
      } catch (err) {
        self.failure = err;
        throw err;
      }
    };
    this.stream = Readable.from(generate(this), { objectMode: false });
  }

  /** Stops reading the caller's stream when the upload failed before consuming it all. */
  discard(): void {
    this.stream.destroy();
    if (!this.source.destroyed) this.source.destroy();
  }
}

/**
 * Storage in an S3 bucket (or an S3-compatible server), under an optional key prefix.
 *
 * Uploads are streamed through lib-storage: small bodies in one PutObject, larger ones as a
 * multipart upload that S3 only publishes when it completes, and that is aborted when the body
 * fails. Create-only puts send `If-None-Match: *`, so two replicas racing for the same immutable
 * file never overwrite each other: S3 answers the loser 412.
 */
export class S3Storage implements Storage {
  /** The SDK client: the escape hatch for anything this class does not do. */
  readonly client: S3Client;
  readonly bucket: string;
  readonly prefix: string;
  private readonly keyPrefix: string;
  private readonly partSize: number;
  private readonly queueSize: number;
  private readonly listPageSize: number;

  constructor(options: S3StorageOptions) {
    parseS3Url(formatS3Url(options));
    this.bucket = options.bucket;
    this.prefix = options.prefix.replace(/^\/+|\/+$/g, "");
    this.keyPrefix = this.prefix === "" ? "" : `${this.prefix}/`;
    this.partSize = options.partSize ?? 8 * MiB;
    this.queueSize = options.queueSize ?? 4;
    this.listPageSize = options.listPageSize ?? 1000;
    if (this.partSize < 5 * MiB) {
      throw new Error(
        `S3 partSize ${this.partSize} is below S3's minimum part size of 5 MiB (${5 * MiB} bytes)`,
      );
    }
    const maxSockets = options.maxSockets ?? 256;
    this.client = new S3Client({
      endpoint: options.endpoint,
      forcePathStyle: options.forcePathStyle ?? false,
      region: options.region ?? (options.endpoint ? "us-east-1" : undefined),
      credentials: options.credentials,
      maxAttempts: options.maxAttempts ?? 3,
      requestHandler: {
        connectionTimeout: options.connectionTimeoutMs ?? 5_000,
        requestTimeout: options.requestTimeoutMs ?? 120_000,
        throwOnRequestTimeout: true,
        socketTimeout: options.socketIdleTimeoutMs ?? 120_000,
        httpAgent: { keepAlive: true, maxSockets },
        httpsAgent: { keepAlive: true, maxSockets },
      },
      ...options.clientConfig,
    });
  }

  /** An S3Storage for `s3://bucket/prefix`. */
  static fromUrl(url: string, options: Omit<S3StorageOptions, "bucket" | "prefix"> = {}): S3Storage {
    return new S3Storage({ ...options, ...parseS3Url(url) });
  }

  private objectKey(key: string): string {
    checkStorageKey(key);
    return this.keyPrefix + key;
  }

  private describe(key: string): string {
    return `s3://${this.bucket}/${this.keyPrefix}${key}`;
  }

  /** A storage failure naming the operation and object, with the SDK's error as cause. */
  private failure(operation: string, key: string, err: unknown): ProxyError {
    if (err instanceof ProxyError) return err;
    const { name, message } = awsError(err);
    const status = statusOf(err);
    return new ProxyError(
      "internal",
      `S3 ${operation} of ${this.describe(key)} failed: ${name ?? "Error"}${status ? ` (HTTP ${status})` : ""}: ${message ?? String(err)}`,
      { cause: err },
    );
  }

  async get(key: string): Promise<StoredObject | undefined> {
    const Key = this.objectKey(key);
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key }));
      if (!(out.Body instanceof Readable)) {
        throw new Error(`GetObject answered a ${typeof out.Body} body where a stream was expected`);
      }
      return {
        size: out.ContentLength ?? 0,
        modified: out.LastModified ?? new Date(0),
        // The connection may fail before the caller reads: handled from now on (streams.ts).
        body: guarded(out.Body),
      };
    } catch (err) {
      if (isMissingObject(err)) return undefined;
      throw this.failure("GetObject", key, err);
    }
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    const Key = this.objectKey(key);
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key }));
      return { size: out.ContentLength ?? 0, modified: out.LastModified ?? new Date(0) };
    } catch (err) {
      if (isMissingObject(err)) return undefined;
      throw this.failure("HeadObject", key, err);
    }
  }

  async put(key: string, body: Readable | Buffer, options: PutOptions = {}): Promise<PutResult> {
    const Key = this.objectKey(key);
    const maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
    let counting: CountingBody | undefined;
    if (Buffer.isBuffer(body)) {
      if (body.length > maxBytes) {
        throw new ProxyError("too-large", `file exceeds the limit of ${maxBytes} bytes`);
      }
    } else {
      counting = new CountingBody(body, maxBytes);
    }
    const upload = new Upload({
      client: this.client,
      partSize: this.partSize,
      queueSize: this.queueSize,
      // On failure lib-storage aborts the multipart upload, so no parts linger (and cost).
      leavePartsOnError: false,
      params: {
        Bucket: this.bucket,
        Key,
        Body: counting ? counting.stream : body,
        // PutObject and CompleteMultipartUpload both honour it; S3 answers 412 if the key exists.
        IfNoneMatch: options.ifNoneMatch ? "*" : undefined,
      },
    });
    try {
      await upload.done();
    } catch (err) {
      counting?.discard();
      if (counting?.failure !== undefined) {
        const failure = counting.failure;
        if (failure instanceof ProxyError) throw failure;
        throw new ProxyError(
          "internal",
          `reading the body for ${this.describe(key)} failed: ${String(failure)}`,
          {
            cause: failure,
          },
        );
      }
      if (options.ifNoneMatch) {
        if (isPreconditionFailed(err)) return { created: false, size: 0 };
        // A conflicting concurrent write: if the other writer's object is there, we lost the race.
        if (isConditionalConflict(err) && (await this.stat(key))) return { created: false, size: 0 };
      }
      throw this.failure("upload", key, err);
    }
    return { created: true, size: counting ? counting.bytes : (body as Buffer).length };
  }

  async delete(key: string): Promise<void> {
    const Key = this.objectKey(key);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key }));
    } catch (err) {
      if (isMissingObject(err)) return;
      throw this.failure("DeleteObject", key, err);
    }
  }

  async *list(prefix: string): AsyncIterable<string> {
    checkStoragePrefix(prefix);
    let ContinuationToken: string | undefined;
    do {
      let page;
      try {
        page = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: this.keyPrefix + prefix,
            MaxKeys: this.listPageSize,
            ContinuationToken,
          }),
        );
      } catch (err) {
        throw this.failure("ListObjectsV2", `${prefix}*`, err);
      }
      for (const object of page.Contents ?? []) {
        const key = object.Key?.slice(this.keyPrefix.length);
        // Objects written by something else may not be valid storage keys: skip them.
        if (key !== undefined && object.Key!.startsWith(this.keyPrefix) && isStorageKey(key)) yield key;
      }
      ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (ContinuationToken);
  }

  /**
   * A URL that lets anyone holding it GET the object for `expiresSeconds` (the zip redirect
   * mode). It is signed with the current credentials, so it also expires with them: a role's
   * temporary credentials may end it sooner.
   */
  async presignedGetUrl(key: string, expiresSeconds: number): Promise<string> {
    const Key = this.objectKey(key);
    if (!Number.isInteger(expiresSeconds) || expiresSeconds < 1 || expiresSeconds > 7 * 24 * 3600) {
      throw new Error(
        `presigned URL lifetime ${expiresSeconds}s is not a whole number of seconds from 1 to 604800`,
      );
    }
    try {
      return await getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.bucket, Key }), {
        expiresIn: expiresSeconds,
      });
    } catch (err) {
      throw this.failure("presigning GetObject", key, err);
    }
  }

  /** Closes the client's idle connections. */
  destroy(): void {
    this.client.destroy();
  }
}

function isStorageKey(key: string): boolean {
  try {
    checkStorageKey(key);
    return true;
  } catch {
    return false;
  }
}
