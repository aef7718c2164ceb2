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

/** What JSON gives a prop; the construct checks the values. */
type JsonKind = "text" | "number" | "true or false" | "list of text" | "object";

// Every prop with its kind, so that a misspelt prop is refused instead of ignored and a value of
// the wrong kind is named before the construct trips over it; `satisfies` makes the compiler
// point here when a prop is added or renamed.
const PROPS = {
  image: "text",
  imagePullPolicy: "text",
  imagePullSecrets: "list of text",
  name: "text",
  namespace: "text",
  createNamespace: "true or false",
  labels: "object",
  podAnnotations: "object",
  nodeSelector: "object",
  replicas: "number",
  resources: "object",
  autoscaling: "object",
  podDisruptionBudget: "object",
  topologySpread: "object",
  tmpSizeLimit: "text",
  service: "object",
  ingress: "object",
  networkPolicy: "object",
  storage: "object",
  proxy: "object",
  gitCredentials: "object",
  auth: "object",
  tls: "object",
  monitoring: "object",
  sync: "object",
} as const satisfies Record<keyof GoMirrorKubernetesProps, JsonKind>;

const CLAIM_OPTIONS = {
  accessMode: "text",
  size: "text",
  storageClassName: "text",
  existingClaimName: "text",
} as const satisfies Record<keyof PersistentVolumeClaimStorageOptions, JsonKind>;

const S3_OPTIONS = {
  bucket: "text",
  prefix: "text",
  endpoint: "text",
  region: "text",
  forcePathStyle: "true or false",
  credentialsSecret: "object",
  localScratchSizeLimit: "text",
} as const satisfies Record<keyof S3CompatibleStorageOptions, JsonKind>;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function kindOf(value: unknown): JsonKind | "a list" | "null" {
  if (typeof value === "string") return "text";
  if (typeof value === "number") return "number";
  if (typeof value === "boolean") return "true or false";
  if (Array.isArray(value)) return value.every((v) => typeof v === "string") ? "list of text" : "a list";
  return value === null ? "null" : "object";
}

/** Refuses names `shape` does not list and values of another kind than it says; `path` "" is the top. */
function checkShape(
  value: Record<string, unknown>,
  shape: Readonly<Record<string, JsonKind>>,
  path: string,
): void {
  const unknown = Object.keys(value).filter((k) => !Object.hasOwn(shape, k));
  if (unknown.length > 0) {
    throw new GoMirrorConfigError(
      `${path === "" ? "the config" : path} has ${unknown.map((k) => `"${k}"`).join(", ")}, ` +
        `which is not a setting; the settings are ${Object.keys(shape).join(", ")}`,
    );
  }
  for (const [name, v] of Object.entries(value)) {
    if (kindOf(v) !== shape[name]) {
      const at = path === "" ? name : `${path}.${name}`;
      throw new GoMirrorConfigError(`${at} is ${JSON.stringify(v)}; want ${shape[name]}`);
    }
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
    checkShape(options, S3_OPTIONS, "storage.s3");
    return GoMirrorStorage.s3(options as unknown as S3CompatibleStorageOptions);
  }
  checkShape(options, CLAIM_OPTIONS, "storage.persistentVolumeClaim");
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
  checkShape(value, PROPS, "");
  const { storage, ...rest } = value;
  return {
    ...(rest as unknown as GoMirrorKubernetesProps),
    ...(storage === undefined ? {} : { storage: storageFromJson(storage) }),
  };
}
