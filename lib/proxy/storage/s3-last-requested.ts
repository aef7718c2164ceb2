import { CopyObjectCommand, HeadObjectCommand } from "@aws-sdk/client-s3";
import type { Readable } from "node:stream";
import type { Logger } from "pino";
import type { S3Storage } from "./s3";
import type { ObjectInfo, PresigningStorage, PutOptions, PutResult, StoredObject } from "./storage";

const DAY_MS = 24 * 60 * 60 * 1000;

/** The user metadata a renewal writes: the day the object was last requested (UTC). */
export const LAST_REQUESTED_METADATA = "gomirror-last-requested";

/**
 * What is renewed: a module version's `.zip`, `.mod` and canonical `.info`, which never change.
 * Lists, `@latest` and query answers are rewritten whenever they are refreshed, and a copy
 * racing such a rewrite could put the older answer back.
 */
const RENEWED = /\/@v\/[^/]+\.(zip|mod|info)$/;

/**
 * S3 storage whose objects show when they were last requested, so that a bucket lifecycle rule
 * ("expire objects N days after they were last written") removes what nobody asked for in N
 * days: an object read more than a day after it was last written is copied onto itself, which
 * renews its last-modified time, with `x-amz-meta-gomirror-last-requested` set to the day. A
 * renewal happens at most once a day per object and process, keeps the object's storage class
 * and only copies the version that was looked at (`If-Match`). It runs beside the request and
 * its failure is only logged: the object is still served.
 */
export class LastRequestedStorage implements PresigningStorage {
  /** Keys renewed (or being renewed) today, by this process. */
  private renewed = new Set<string>();
  private day = -1;
  private readonly running = new Set<Promise<void>>();
  private readonly now: () => number;

  constructor(
    readonly s3: S3Storage,
    private readonly options: { readonly logger?: Logger; readonly now?: () => number } = {},
  ) {
    this.now = options.now ?? Date.now;
  }

  async get(key: string): Promise<StoredObject | undefined> {
    const found = await this.s3.get(key);
    if (found) this.requested(key, found.modified);
    return found;
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    const found = await this.s3.stat(key);
    if (found) this.requested(key, found.modified);
    return found;
  }

  put(key: string, body: Readable | Buffer, options?: PutOptions): Promise<PutResult> {
    return this.s3.put(key, body, options);
  }

  delete(key: string): Promise<void> {
    return this.s3.delete(key);
  }

  list(prefix: string): AsyncIterable<string> {
    return this.s3.list(prefix);
  }

  presignedGetUrl(key: string, expiresSeconds: number): Promise<string> {
    return this.s3.presignedGetUrl(key, expiresSeconds);
  }

  /** Settles once every renewal started so far is done (tests, shutdown). */
  async idle(): Promise<void> {
    await Promise.all(this.running);
  }

  private requested(key: string, modified: Date): void {
    const now = this.now();
    if (!RENEWED.test(key) || now - modified.getTime() < DAY_MS) return;
    const today = Math.floor(now / DAY_MS);
    if (today !== this.day) {
      this.day = today;
      this.renewed = new Set();
    }
    if (this.renewed.has(key)) return;
    this.renewed.add(key);
    const renewal: Promise<void> = this.renew(key, now)
      .catch((err: unknown) =>
        this.options.logger?.warn(
          { event: "last_requested_failed", key, err: String(err) },
          "could not renew a stored object's last-requested time; it may expire sooner",
        ),
      )
      .finally(() => this.running.delete(renewal));
    this.running.add(renewal);
  }

  private async renew(key: string, now: number): Promise<void> {
    const { client, bucket, prefix } = this.s3;
    const Key = prefix === "" ? key : `${prefix}/${key}`;
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key }));
    // Another replica may have renewed it since it was read.
    if (head.LastModified && now - head.LastModified.getTime() < DAY_MS) return;
    await client.send(
      new CopyObjectCommand({
        Bucket: bucket,
        Key,
        // Keys hold only [A-Za-z0-9._~!+@/-]; S3 would read a bare `+` as a space.
        CopySource: encodeURI(`${bucket}/${Key}`).replace(/\+/g, "%2B"),
        CopySourceIfMatch: head.ETag,
        MetadataDirective: "REPLACE",
        Metadata: { ...head.Metadata, [LAST_REQUESTED_METADATA]: new Date(now).toISOString().slice(0, 10) },
        StorageClass: head.StorageClass,
      }),
    );
  }
}
