import type { GoMirrorKubernetesProps } from "../props";
import {
  GoMirrorStorage,
  type PersistentVolumeClaimStorageOptions,
  type S3CompatibleStorageOptions,
} from "../storage";

/** A config file that does not describe `GoMirrorKubernetesProps`. */
export class GoMirrorConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "GoMirrorConfigError";
  }
}

// Every prop, so that a misspelt one in a JSON file is refused instead of ignored; `satisfies`
// makes the compiler point here when a prop is added or renamed.
const PROPS = {
  image: true,
  imagePullPolicy: true,
  imagePullSecrets: true,
  name: true,
  namespace: true,
  createNamespace: true,
  labels: true,
  podAnnotations: true,
  nodeSelector: true,
  replicas: true,
  resources: true,
  autoscaling: true,
  podDisruptionBudget: true,
  topologySpread: true,
  tmpSizeLimit: true,
  service: true,
  ingress: true,
  networkPolicy: true,
  storage: true,
  proxy: true,
  gitCredentials: true,
  auth: true,
  tls: true,
  monitoring: true,
} as const satisfies Record<keyof GoMirrorKubernetesProps, true>;

const CLAIM_OPTIONS = {
  accessMode: true,
  size: true,
  storageClassName: true,
  existingClaimName: true,
} as const satisfies Record<keyof PersistentVolumeClaimStorageOptions, true>;

const S3_OPTIONS = {
  bucket: true,
  prefix: true,
  endpoint: true,
  region: true,
  forcePathStyle: true,
  credentialsSecret: true,
  localScratchSizeLimit: true,
} as const satisfies Record<keyof S3CompatibleStorageOptions, true>;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function checkKeys(value: Record<string, unknown>, known: object, where: string): void {
  const unknown = Object.keys(value).filter((k) => !Object.hasOwn(known, k));
  if (unknown.length > 0) {
    throw new GoMirrorConfigError(
      `${where} has ${unknown.map((k) => `"${k}"`).join(", ")}, which is not a setting; ` +
        `the settings are ${Object.keys(known).join(", ")}`,
    );
  }
}

/**
 * `storage` in JSON: `GoMirrorStorage` is a class, so a file names the factory to call,
 * `{ "persistentVolumeClaim": {...} }` or `{ "s3": {...} }`.
 */
function storageFromJson(value: unknown): GoMirrorStorage {
  const example = `{ "persistentVolumeClaim": { "size": "20Gi" } } or { "s3": { "bucket": "go-modules" } }`;
  const [kind, ...more] = isRecord(value) ? Object.keys(value) : [];
  if (!isRecord(value) || more.length > 0 || (kind !== "persistentVolumeClaim" && kind !== "s3")) {
    throw new GoMirrorConfigError(`storage must name one kind of storage, like ${example}`);
  }
  const options = value[kind];
  if (!isRecord(options)) {
    throw new GoMirrorConfigError(`storage.${kind} must be an object of options, like ${example}`);
  }
  if (kind === "s3") {
    checkKeys(options, S3_OPTIONS, "storage.s3");
    return GoMirrorStorage.s3(options as unknown as S3CompatibleStorageOptions);
  }
  checkKeys(options, CLAIM_OPTIONS, "storage.persistentVolumeClaim");
  return GoMirrorStorage.persistentVolumeClaim(options as PersistentVolumeClaimStorageOptions);
}

/**
 * `GoMirrorKubernetesProps` from the text of a JSON file. Checks what JSON can get wrong (not an
 * object, unknown props, storage); the construct checks the values, with its own messages.
 * Messages leave the file's name to the caller.
 */
export function propsFromJson(textOfFile: string): GoMirrorKubernetesProps {
  let value: unknown;
  try {
    value = JSON.parse(textOfFile);
  } catch (err) {
    throw new GoMirrorConfigError(`not JSON: ${(err as Error).message}`);
  }
  if (!isRecord(value)) {
    throw new GoMirrorConfigError(
      `want one JSON object of GoMirrorKubernetes props, like { "image": "registry.example.com/gomirror:1.4.0" }`,
    );
  }
  checkKeys(value, PROPS, "the config");
  const { storage, ...rest } = value;
  return {
    ...(rest as unknown as GoMirrorKubernetesProps),
    ...(storage === undefined ? {} : { storage: storageFromJson(storage) }),
  };
}
