import { checkStorageKey } from "./storage";

/**
 * `s3://bucket/prefix`, the S3 form of GOMIRROR_STORAGE, in both directions. The constructs
 * write it with `formatS3Url` and the proxy reads it with `parseS3Url`; both use the one bucket
 * name rule below.
 */

/** Where `s3://bucket/prefix` points. */
export interface S3Location {
  readonly bucket: string;
  /** Key prefix without leading or trailing slash; "" for the bucket's root. */
  readonly prefix: string;
}

/** S3's bucket naming rules (also what MinIO and other S3-compatible servers accept). */
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** Whether `name` is a valid S3 bucket name: 3-63 lowercase letters, digits, dots and hyphens. */
export function isBucketName(name: string): boolean {
  return BUCKET_NAME.test(name) && !name.includes("..");
}

/** The longest key prefix: S3's 1,024-byte keys less the 768 the proxy's own keys may take. */
const MAX_PREFIX_BYTES = 255;

/** Whether `prefix` is a valid key prefix: safe key segments, no slash at either end, at most 255 bytes. */
export function isKeyPrefix(prefix: string): boolean {
  if (prefix === "") return true;
  // S3 keys are at most 1,024 bytes, and the proxy's own keys take up to 768 (cache/keys.ts).
  if (Buffer.byteLength(prefix) > MAX_PREFIX_BYTES) return false;
  try {
    checkStorageKey(prefix);
    return true;
  } catch {
    return false;
  }
}

/**
 * Parses `s3://bucket` or `s3://bucket/some/prefix` (GOMIRROR_STORAGE). The prefix must be made
 * of safe key segments, like every storage key.
 */
export function parseS3Url(url: string): S3Location {
  const match = /^s3:\/\/([^/?#]*)(\/[^?#]*)?$/.exec(url);
  if (!match) {
    throw new Error(`storage URL ${JSON.stringify(url)} is not of the form s3://bucket/prefix`);
  }
  const bucket = match[1]!;
  if (bucket.includes("@")) {
    // Not echoed: whatever precedes the @ may be a secret.
    throw new Error(
      "storage URL s3://... carries credentials before the bucket name; give credentials through the AWS " +
        "credential chain (environment, role, profile) instead",
    );
  }
  if (!isBucketName(bucket)) {
    throw new Error(
      `storage URL ${JSON.stringify(url)} names bucket ${JSON.stringify(bucket)}, which is not a valid S3 bucket name ` +
        "(3-63 lowercase letters, digits, dots and hyphens)",
    );
  }
  const prefix = (match[2] ?? "").replace(/^\/+|\/+$/g, "");
  if (!isKeyPrefix(prefix)) {
    throw new Error(
      `storage URL ${JSON.stringify(url)} has key prefix ${JSON.stringify(prefix)}; ` +
        "use at most 255 bytes of slash-separated segments of letters, digits and ._~!+@-",
    );
  }
  return { bucket, prefix };
}

/** Throws the message of `parseS3Url` when `url` is not a valid `s3://bucket/prefix`. */
export function checkS3Url(url: string): void {
  parseS3Url(url);
}

/**
 * `s3://bucket/prefix` for a location. The bucket may be a deploy-time token (CDK), so it is
 * not checked here; the prefix is written without slashes at either end.
 */
export function formatS3Url(location: S3Location): string {
  const prefix = location.prefix.replace(/^\/+|\/+$/g, "");
  return `s3://${location.bucket}${prefix ? `/${prefix}` : ""}`;
}
