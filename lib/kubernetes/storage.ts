import { PersistentVolumeClaimV1 } from "@cdktf/provider-kubernetes/lib/persistent-volume-claim-v1";
import type { Construct } from "constructs";
import { CACHE_DIR } from "../image-contract";
import { formatS3Url, isBucketName, isKeyPrefix } from "../proxy/storage/s3-url";
import { type EnvVar, type PodParts, secretKeyEnv } from "./pod-parts";
import { checkDnsSubdomain, checkQuantity, checkSecretKey, fail } from "./validation";

/** What the construct tells a storage choice when it binds it to the pod. */
export interface StorageBindOptions {
  /** Namespace of the pod (a token when the namespace is created in the same stack). */
  readonly namespace: string;
  /** The construct's base name, used for the names of created objects. */
  readonly name: string;
  readonly labels: Record<string, string>;
}

/** A network destination the storage needs (the NetworkPolicy allows it). */
export interface StorageEndpoint {
  /** The endpoint URL; undefined means AWS S3 itself. */
  readonly url: string | undefined;
  readonly port: number;
}

export interface StorageBinding extends PodParts {
  /** The claim created for the disk backend, if one was created. */
  readonly persistentVolumeClaim?: PersistentVolumeClaimV1;
  /** Where the pod must be able to connect for this storage; undefined for volumes. */
  readonly endpoint?: StorageEndpoint;
}

/**
 * Where the mirror keeps modules. Pick one with `GoMirrorStorage.persistentVolumeClaim()` (the disk
 * backend on a volume) or `GoMirrorStorage.s3()` (S3-compatible object storage, for several replicas).
 */
export abstract class GoMirrorStorage {
  /** The disk backend on a PersistentVolumeClaim (created, or an existing one). */
  static persistentVolumeClaim(options: PersistentVolumeClaimStorageOptions = {}): GoMirrorStorage {
    return new PersistentVolumeClaimStorage(options);
  }

  /** The S3 backend: AWS S3, or any S3-compatible store (MinIO, Ceph RGW, SeaweedFS...). */
  static s3(options: S3CompatibleStorageOptions): GoMirrorStorage {
    return new S3Storage(options);
  }

  /** How the storage is named in error messages. */
  abstract readonly description: string;
  /** False when only one pod can use the storage at a time (a ReadWriteOnce claim). */
  abstract readonly sharedBetweenPods: boolean;
  /** Creates what the storage needs in `scope` and says what the pod gets. */
  abstract bind(scope: Construct, options: StorageBindOptions): StorageBinding;
}

export type PersistentVolumeAccessMode = "ReadWriteOnce" | "ReadWriteOncePod" | "ReadWriteMany";

export interface PersistentVolumeClaimStorageOptions {
  /**
   * How pods may mount the volume. `ReadWriteOnce` (what most block storage offers) means one
   * replica, no autoscaling, and a `Recreate` rollout; `ReadWriteMany` (NFS, CephFS...) allows
   * several replicas sharing the cache.
   * @default "ReadWriteOnce"
   */
  readonly accessMode?: PersistentVolumeAccessMode;
  /**
   * Requested size of a new claim.
   * @default "10Gi"
   */
  readonly size?: string;
  /**
   * StorageClass of a new claim.
   * @default the cluster's default StorageClass
   */
  readonly storageClassName?: string;
  /**
   * Use this existing claim instead of creating one; `accessMode` must still describe it.
   * Not together with `size` or `storageClassName`.
   * @default a new claim named `<name>-cache`
   */
  readonly existingClaimName?: string;
}

const CACHE_VOLUME = "cache";

export class PersistentVolumeClaimStorage extends GoMirrorStorage {
  readonly description: string;
  readonly sharedBetweenPods: boolean;

  constructor(private readonly options: PersistentVolumeClaimStorageOptions) {
    super();
    const mode = options.accessMode ?? "ReadWriteOnce";
    if (!["ReadWriteOnce", "ReadWriteOncePod", "ReadWriteMany"].includes(mode)) {
      fail(`storage accessMode "${mode}" is not one of ReadWriteOnce, ReadWriteOncePod, ReadWriteMany`);
    }
    if (options.existingClaimName !== undefined) {
      checkDnsSubdomain(options.existingClaimName, "storage existingClaimName");
      if (options.size !== undefined || options.storageClassName !== undefined) {
        fail(
          `storage names the existing claim "${options.existingClaimName}" and also size/storageClassName for a new one; ` +
            `drop size and storageClassName to use the existing claim, or existingClaimName to create one`,
        );
      }
    }
    if (options.size !== undefined) checkQuantity(options.size, "storage size");
    if (options.storageClassName !== undefined)
      checkDnsSubdomain(options.storageClassName, "storage storageClassName");
    this.sharedBetweenPods = mode === "ReadWriteMany";
    this.description = `a ${mode} PersistentVolumeClaim`;
  }

  bind(scope: Construct, o: StorageBindOptions): StorageBinding {
    let claimName = this.options.existingClaimName;
    let claim: PersistentVolumeClaimV1 | undefined;
    if (claimName === undefined) {
      claim = new PersistentVolumeClaimV1(scope, "CacheClaim", {
        metadata: { name: `${o.name}-cache`, namespace: o.namespace, labels: o.labels },
        spec: {
          accessModes: [this.options.accessMode ?? "ReadWriteOnce"],
          storageClassName: this.options.storageClassName,
          resources: { requests: { storage: this.options.size ?? "10Gi" } },
        },
        // With WaitForFirstConsumer storage classes the claim binds only once the pod exists,
        // and Terraform creates the pod after the claim: waiting here would never end.
        waitUntilBound: false,
      });
      claimName = claim.metadata.name;
    }
    return {
      env: [{ name: "GOMIRROR_STORAGE", value: CACHE_DIR }],
      volumes: [{ name: CACHE_VOLUME, persistentVolumeClaim: { claimName } }],
      volumeMounts: [{ name: CACHE_VOLUME, mountPath: CACHE_DIR }],
      persistentVolumeClaim: claim,
    };
  }
}

/** Keys of an existing Secret that hold S3 access keys. */
export interface S3CredentialsSecret {
  /** Name of the existing Secret. */
  readonly secretName: string;
  /** @default "AWS_ACCESS_KEY_ID" */
  readonly accessKeyIdKey?: string;
  /** @default "AWS_SECRET_ACCESS_KEY" */
  readonly secretAccessKeyKey?: string;
}

export interface S3CompatibleStorageOptions {
  /** Bucket name. */
  readonly bucket: string;
  /**
   * Key prefix inside the bucket, e.g. `gomirror` (no leading or trailing `/`).
   * @default the bucket root
   */
  readonly prefix?: string;
  /**
   * Endpoint URL of an S3-compatible store, e.g. `http://minio.storage.svc:9000`.
   * @default AWS S3
   */
  readonly endpoint?: string;
  /**
   * @default "us-east-1" with an `endpoint` (what most S3-compatible stores expect); for AWS S3,
   * the AWS SDK's own chain (AWS_REGION, e.g. from IRSA)
   */
  readonly region?: string;
  /**
   * Address buckets as `endpoint/bucket` rather than `bucket.endpoint`.
   * @default true with an endpoint (MinIO and most on-prem stores need it), false for AWS S3
   */
  readonly forcePathStyle?: boolean;
  /**
   * The Secret with access keys, passed as AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.
   * @default none: the SDK's default chain (e.g. a web identity token) supplies credentials
   */
  readonly credentialsSecret?: S3CredentialsSecret;
  /**
   * Size limit of the emptyDir mounted at the cache directory for local scratch files.
   * @default "2Gi"
   */
  readonly localScratchSizeLimit?: string;
}

export class S3Storage extends GoMirrorStorage {
  readonly description = "S3 object storage";
  readonly sharedBetweenPods = true;
  private readonly endpointUrl: URL | undefined;

  constructor(private readonly options: S3CompatibleStorageOptions) {
    super();
    const o = options;
    if (!isBucketName(o.bucket)) {
      fail(
        `storage bucket "${o.bucket}" is not an S3 bucket name; use 3-63 lowercase letters, digits, '.' and '-'`,
      );
    }
    if (o.prefix !== undefined) {
      if (o.prefix === "" || !isKeyPrefix(o.prefix)) {
        fail(
          `storage prefix "${o.prefix}" must be path segments like "gomirror" or "team/gomirror", no leading or trailing '/'`,
        );
      }
    }
    if (o.endpoint !== undefined) {
      let url: URL | undefined;
      try {
        url = new URL(o.endpoint);
      } catch {
        url = undefined;
      }
      if (url === undefined || !["http:", "https:"].includes(url.protocol) || url.username || url.password) {
        fail(
          `storage endpoint "${o.endpoint}" is not an http(s) URL without credentials, like http://minio.storage.svc:9000`,
        );
      }
      this.endpointUrl = url;
    }
    if (o.region !== undefined && !/^[a-z0-9-]+$/.test(o.region)) {
      fail(`storage region "${o.region}" is not a region name like us-east-1`);
    }
    if (o.credentialsSecret !== undefined) {
      const c = o.credentialsSecret;
      checkDnsSubdomain(c.secretName, "storage credentialsSecret.secretName");
      if (c.accessKeyIdKey !== undefined)
        checkSecretKey(c.accessKeyIdKey, "storage credentialsSecret.accessKeyIdKey");
      if (c.secretAccessKeyKey !== undefined) {
        checkSecretKey(c.secretAccessKeyKey, "storage credentialsSecret.secretAccessKeyKey");
      }
    }
    if (o.localScratchSizeLimit !== undefined)
      checkQuantity(o.localScratchSizeLimit, "storage localScratchSizeLimit");
  }

  /** The GOMIRROR_STORAGE value. */
  get location(): string {
    return formatS3Url({ bucket: this.options.bucket, prefix: this.options.prefix ?? "" });
  }

  bind(): StorageBinding {
    const o = this.options;
    const env: EnvVar[] = [{ name: "GOMIRROR_STORAGE", value: this.location }];
    if (o.endpoint !== undefined) env.push({ name: "GOMIRROR_S3_ENDPOINT", value: o.endpoint });
    const region = o.region ?? (o.endpoint !== undefined ? "us-east-1" : undefined);
    if (region !== undefined) env.push({ name: "GOMIRROR_S3_REGION", value: region });
    env.push({
      name: "GOMIRROR_S3_FORCE_PATH_STYLE",
      value: String(o.forcePathStyle ?? o.endpoint !== undefined),
    });
    if (o.credentialsSecret !== undefined) {
      const c = o.credentialsSecret;
      env.push(secretKeyEnv("AWS_ACCESS_KEY_ID", c.secretName, c.accessKeyIdKey ?? "AWS_ACCESS_KEY_ID"));
      env.push(
        secretKeyEnv("AWS_SECRET_ACCESS_KEY", c.secretName, c.secretAccessKeyKey ?? "AWS_SECRET_ACCESS_KEY"),
      );
    }
    const url = this.endpointUrl;
    const port =
      url === undefined ? 443 : url.port !== "" ? Number(url.port) : url.protocol === "https:" ? 443 : 80;
    return {
      env,
      // The image's cache directory stays writable for scratch files; modules live in the bucket.
      volumes: [{ name: CACHE_VOLUME, emptyDir: { sizeLimit: o.localScratchSizeLimit ?? "2Gi" } }],
      volumeMounts: [{ name: CACHE_VOLUME, mountPath: CACHE_DIR }],
      endpoint: { url: o.endpoint, port },
    };
  }
}
