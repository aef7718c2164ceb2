import { DiskStorage } from "./disk";
import { S3Storage, parseS3Url } from "./s3";
import type { Storage } from "./storage";

export interface OpenStorageOptions {
  /** S3-compatible endpoint (MinIO and similar). */
  readonly endpoint?: string;
  /** Path-style bucket addressing. */
  readonly forcePathStyle?: boolean;
  readonly region?: string;
}

/** The storage a GOMIRROR_STORAGE value names: `s3://bucket/prefix`, else a directory. */
export function openStorage(spec: string, options: OpenStorageOptions = {}): Storage {
  if (spec.startsWith("s3://")) {
    return new S3Storage({
      ...parseS3Url(spec),
      endpoint: options.endpoint,
      forcePathStyle: options.forcePathStyle,
      region: options.region,
    });
  }
  return new DiskStorage(spec);
}
