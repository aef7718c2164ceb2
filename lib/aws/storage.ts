import { Annotations, Duration, RemovalPolicy } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as s3 from "aws-cdk-lib/aws-s3";
import { Construct } from "constructs";
import { formatS3Url, isKeyPrefix } from "../proxy/storage/s3-url";

/** The key prefix used when none is given. */
export const DEFAULT_STORAGE_PREFIX = "gomirror";

export interface MirrorStorageProps {
  /**
   * A bucket to keep the module cache in. Give this or `bucketProps`, not both.
   * GoMirror cannot change an existing bucket's policy: make sure it blocks public access and
   * denies non-TLS requests itself.
   *
   * @default - a new bucket is created (see `bucketProps`)
   */
  readonly existingBucket?: s3.IBucket;

  /**
   * Settings for the new bucket, laid over the secure defaults: block all public access,
   * S3-managed encryption, TLS-only bucket policy, bucket-owner-enforced object ownership,
   * retained on stack deletion, no versioning. Lifecycle rules given here are added after the
   * rule that aborts incomplete multipart uploads. Set `versioned: true` to keep old versions.
   *
   * @default - the secure defaults above
   */
  readonly bucketProps?: s3.BucketProps;

  /**
   * The key prefix under which the mirror stores everything (no leading or trailing slash).
   * The task role's S3 permissions are limited to it. An empty string means the whole bucket.
   *
   * @default "gomirror"
   */
  readonly prefix?: string;

  /**
   * How long an unfinished multipart upload (an interrupted `.zip` store) may linger before S3
   * deletes its parts.
   *
   * @default Duration.days(1)
   */
  readonly abortIncompleteUploadsAfter?: Duration;

  /**
   * Move objects of 128 KiB and more under the prefix to S3 Intelligent-Tiering as soon as they
   * are stored: module zips, which hold nearly all the bytes (go.mod and .info files are smaller,
   * and S3 never moves objects under 128 KiB there anyway). A zip nobody downloads for a month
   * then costs less, with no retrieval fee when it is wanted again. Only on a bucket GoMirror
   * creates.
   *
   * @default true
   */
  readonly intelligentTiering?: boolean;

  /**
   * Expire what nobody requested for this long: a lifecycle rule removes objects under the
   * prefix this many days after they were last written, and the proxy
   * (`GOMIRROR_S3_LAST_REQUESTED=true`) copies a module's `.zip`, `.mod` or `.info` onto itself
   * when it is requested a day or more after its last write, which renews that date. Lists,
   * `@latest` and checksum database tiles are fetched again when needed. Whole days, at least 2.
   * Only on a bucket GoMirror creates; with `versioned: true` each renewal keeps the previous
   * copy as a noncurrent version.
   *
   * @default - nothing expires
   */
  readonly expireUnrequestedAfter?: Duration;
}

/** S3 moves nothing smaller to Intelligent-Tiering: it would cost more than it saves. */
const TIERING_MIN_BYTES = 128 * 1024;

/** Lifecycle props GoMirror can act on; refuses what it cannot do, saying what to do instead. */
function checkLifecycle(props: MirrorStorageProps): void {
  const expiry = props.expireUnrequestedAfter;
  if (expiry !== undefined) {
    const days = expiry.toDays({ integral: false });
    if (!Number.isInteger(days) || days < 2) {
      throw new Error(
        `GoMirror: expireUnrequestedAfter is ${expiry.toHumanString()}; give whole days, at least 2 (the proxy renews what it serves once a day)`,
      );
    }
  }
  if (props.existingBucket && (expiry !== undefined || props.intelligentTiering === true)) {
    throw new Error(
      "GoMirror: lifecycle rules (expireUnrequestedAfter, intelligentTiering) are added to a bucket GoMirror creates, " +
        "not to existingBucket; add them to your bucket yourself, and for expiry set " +
        'environment: { GOMIRROR_S3_LAST_REQUESTED: "true" }',
    );
  }
}

/** Strips surrounding slashes and rejects what IAM resource patterns would misread. */
export function normaliseStoragePrefix(prefix: string): string {
  const trimmed = prefix.replace(/^\/+|\/+$/g, "");
  if (!isKeyPrefix(trimmed)) {
    throw new Error(
      `invalid storage prefix "${prefix}": use plain path segments such as "gomirror" or "team/gomirror" ` +
        "(letters, digits and ._~!+@-; no *, ?, $ or empty segments)",
    );
  }
  return trimmed;
}

/**
 * The S3 side of the mirror: the bucket (given or created with secure defaults), the key
 * prefix, the `GOMIRROR_STORAGE` URL, and the least-privilege grant for the task role.
 */
export class MirrorStorage extends Construct {
  /** The bucket the cache lives in. */
  public readonly bucket: s3.IBucket;
  /** The key prefix, without slashes at either end ("" for the whole bucket). */
  public readonly prefix: string;
  /** The value for `GOMIRROR_STORAGE`: `s3://bucket/prefix`. */
  public readonly storageUrl: string;
  /** Whether objects expire when unrequested, so the proxy must renew what it serves. */
  public readonly expiresUnrequested: boolean;

  constructor(scope: Construct, id: string, props: MirrorStorageProps) {
    super(scope, id);
    if (props.existingBucket && props.bucketProps) {
      throw new Error(
        "GoMirror: both existingBucket and bucketProps were given; pass existingBucket to use your bucket " +
          "as it is, or bucketProps to create a new one, not both",
      );
    }
    this.prefix = normaliseStoragePrefix(props.prefix ?? DEFAULT_STORAGE_PREFIX);
    checkLifecycle(props);
    this.expiresUnrequested = props.expireUnrequestedAfter !== undefined;
    this.bucket = props.existingBucket ?? this.createBucket(props);
    this.storageUrl = formatS3Url({ bucket: this.bucket.bucketName, prefix: this.prefix });
  }

  private createBucket(props: MirrorStorageProps): s3.Bucket {
    const given = props.bucketProps ?? {};
    const abortAfter = props.abortIncompleteUploadsAfter ?? Duration.days(1);
    const prefix = this.prefix === "" ? undefined : `${this.prefix}/`;
    if (given.versioned && props.expireUnrequestedAfter) {
      Annotations.of(this).addWarningV2(
        "gomirror:versioned-expiry",
        "expireUnrequestedAfter with versioned: true keeps a noncurrent version per renewal; add a noncurrentVersionExpiration rule",
      );
    }
    return new s3.Bucket(this, "Bucket", {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy: RemovalPolicy.RETAIN,
      versioned: false,
      ...given,
      lifecycleRules: [
        { id: "AbortIncompleteUploads", abortIncompleteMultipartUploadAfter: abortAfter },
        ...((props.intelligentTiering ?? true)
          ? [
              {
                id: "IntelligentTiering",
                prefix,
                objectSizeGreaterThan: TIERING_MIN_BYTES - 1,
                transitions: [
                  { storageClass: s3.StorageClass.INTELLIGENT_TIERING, transitionAfter: Duration.days(0) },
                ],
              },
            ]
          : []),
        ...(props.expireUnrequestedAfter
          ? [{ id: "ExpireUnrequested", prefix, expiration: props.expireUnrequestedAfter }]
          : []),
        ...(given.lifecycleRules ?? []),
      ],
    });
  }

  /** The object ARN pattern covering everything under the prefix. */
  public objectsArn(): string {
    return this.bucket.arnForObjects(this.prefix ? `${this.prefix}/*` : "*");
  }

  /**
   * Grants exactly what the proxy's S3 backend does: read, conditional write (single and
   * multipart), delete and abort under the prefix, and listing restricted to the prefix.
   * Presigned `.zip` redirects are signed with the same role and need nothing more than
   * `s3:GetObject`. A customer-managed KMS key on the bucket is granted encrypt/decrypt.
   */
  public grantReadWrite(grantee: iam.IGrantable): void {
    const objects = this.objectsArn();
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: "MirrorObjects",
        actions: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
        resources: [objects],
      }),
    );
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: "MirrorList",
        actions: ["s3:ListBucket"],
        resources: [this.bucket.bucketArn],
        // IfExists: a GET or HEAD of a missing key is answered 404 only when the caller may list
        // the bucket, and that implicit check carries no s3:prefix; a plain StringLike would turn
        // every cache miss into a 403. Listing with a prefix stays confined to the mirror's.
        ...(this.prefix ? { conditions: { StringLikeIfExists: { "s3:prefix": [`${this.prefix}/*`] } } } : {}),
      }),
    );
    this.bucket.encryptionKey?.grantEncryptDecrypt(grantee);
  }
}
