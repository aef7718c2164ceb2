import type { ProxyConfig } from "../config";
import type { Logger } from "pino";
import { DiskStorage } from "./disk";
import type { S3Storage } from "./s3";
import type { LastRequestedStorage } from "./s3-last-requested";

/** Settings for S3 storage that do not fit in the `s3://bucket/prefix` URL. */
export interface OpenStorageOptions {
  /**
   * Endpoint of an S3-compatible server (GOMIRROR_S3_ENDPOINT).
   * @default AWS S3
   */
  readonly endpoint?: string;
  /**
   * Path-style bucket addressing (GOMIRROR_S3_FORCE_PATH_STYLE).
   * @default false
   */
  readonly forcePathStyle?: boolean;
  /**
   * The bucket's region (GOMIRROR_S3_REGION).
   * @default the AWS SDK's chain; "us-east-1" with a custom endpoint
   */
  readonly region?: string;
  /**
   * S3 only: renew an object's last-modified time when it is read a day or more after it was
   * written (GOMIRROR_S3_LAST_REQUESTED), for a lifecycle rule that expires unrequested objects.
   * @default false
   */
  readonly lastRequested?: boolean;
  /** Where a failed renewal is logged. @default not logged */
  readonly logger?: Logger;
}

/**
 * The storage GOMIRROR_STORAGE names: `s3://bucket/prefix` is an S3 bucket (or an S3-compatible
 * server, with `endpoint`), anything else a directory. Nothing is touched until first use.
 */
export function openStorage(
  spec: string,
  options: OpenStorageOptions = {},
): DiskStorage | S3Storage | LastRequestedStorage {
  if (spec.startsWith("s3://")) {
    // The AWS SDK is loaded only for S3 storage: a disk cache never pays for it.
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use
    const { S3Storage: S3 } = require("./s3") as typeof import("./s3");
    const s3 = S3.fromUrl(spec, {
      endpoint: options.endpoint,
      forcePathStyle: options.forcePathStyle,
      region: options.region,
    });
    if (!options.lastRequested) return s3;
    const { LastRequestedStorage: Renewing } =
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded with the SDK
      require("./s3-last-requested") as typeof import("./s3-last-requested");
    return new Renewing(s3, { logger: options.logger });
  }
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(spec);
  if (scheme) {
    throw new Error(
      `storage ${JSON.stringify(spec)} uses the unsupported scheme ${scheme[1]}:; use a directory or s3://bucket/prefix`,
    );
  }
  if (spec.trim() === "") {
    throw new Error("storage location is empty; use a directory or s3://bucket/prefix");
  }
  return new DiskStorage(spec);
}

/** The settings that say which storage a process uses. */
export type StorageSettings = Pick<
  ProxyConfig,
  "storage" | "s3Endpoint" | "s3ForcePathStyle" | "s3Region" | "s3LastRequested"
>;

/**
 * The storage a configuration names (GOMIRROR_STORAGE and the S3 settings): the server's and
 * every command's. Only the server renews what it reads (`renewReads`, GOMIRROR_S3_LAST_REQUESTED):
 * a command reading the storage is no client's request.
 */
export function openConfiguredStorage(
  config: StorageSettings,
  options: { readonly renewReads?: boolean; readonly logger?: Logger } = {},
): DiskStorage | S3Storage | LastRequestedStorage {
  return openStorage(config.storage, {
    endpoint: config.s3Endpoint,
    forcePathStyle: config.s3ForcePathStyle,
    region: config.s3Region,
    lastRequested: options.renewReads === true && config.s3LastRequested,
    logger: options.logger,
  });
}
