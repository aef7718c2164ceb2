import { storageKeys } from "../cache/keys";
import { checkCanonicalVersion } from "../module/version";
import { checkPath } from "../module/path";
import { checkStorageKey } from "../storage/storage";

/**
 * A bundle's manifest: what the tar holds and what each file must hash to. It is the first entry
 * of the tar (`.gomirror/manifest.json`, a name no module path can take), so a reader knows
 * everything to expect before the first byte of a module.
 *
 * - `modules`: each version with the `h1:` hash and size of its go.mod and, unless only its
 *   go.mod travels (a version in the requirement graph that is never built), of its zip.
 *   `private` marks versions the exporter did not look up in the checksum database
 *   (GONOSUMDB/GOPRIVATE).
 * - `files`: every other entry (`.info` files, the checksum database's tree head, tiles and
 *   lookups) with its size and SHA-256.
 * - `sumdb`: the database whose proofs travel, and the size of the tree they prove against.
 */

export const MANIFEST_NAME = ".gomirror/manifest.json";
export const BUNDLE_FORMAT = "gomirror-bundle/1";
/** A manifest lists every version: thousands of lines, never gigabytes. */
export const MAX_MANIFEST_BYTES = 64 * 1024 * 1024;

export interface HashedFile {
  readonly h1: string;
  readonly size: number;
}

export interface ManifestModule {
  readonly path: string;
  readonly version: string;
  readonly mod: HashedFile;
  readonly zip?: HashedFile;
  readonly private?: boolean;
}

export interface ManifestFile {
  readonly name: string;
  readonly size: number;
  /** Hex SHA-256. */
  readonly sha256: string;
}

export interface BundleManifest {
  readonly format: typeof BUNDLE_FORMAT;
  /** When the bundle was written, RFC 3339. */
  readonly created: string;
  readonly sumdb?: { readonly name: string; readonly tree: number };
  readonly modules: readonly ManifestModule[];
  readonly files: readonly ManifestFile[];
}

export class ManifestError extends Error {
  constructor(message: string) {
    super(`bundle manifest: ${message}`);
    this.name = "ManifestError";
  }
}

const H1 = /^h1:[A-Za-z0-9+/]{43}=$/;
const SHA256 = /^[0-9a-f]{64}$/;

/** The tar entry names of a module version's files. */
export function moduleEntryNames(m: { path: string; version: string }): {
  mod: string;
  zip: string;
  info: string;
} {
  return {
    mod: storageKeys.mod(m.path, m.version),
    zip: storageKeys.zip(m.path, m.version),
    info: storageKeys.info(m.path, m.version),
  };
}

function fail(message: string): never {
  throw new ManifestError(message);
}

function hashedFile(value: unknown, what: string): HashedFile {
  const v = value as Partial<HashedFile> | undefined;
  if (typeof v !== "object" || v === null || typeof v.h1 !== "string" || !H1.test(v.h1)) {
    fail(`${what}: want {"h1": "h1:<base64 SHA-256>", "size": N}`);
  }
  if (!Number.isSafeInteger(v.size) || (v.size as number) < 0)
    fail(`${what}: invalid size ${String(v.size)}`);
  return { h1: v.h1, size: v.size as number };
}

/** Parses and checks a manifest: format, module paths and versions, hashes, unique names. */
export function parseManifest(data: Buffer): BundleManifest {
  let doc: Partial<BundleManifest>;
  try {
    doc = JSON.parse(data.toString("utf8")) as Partial<BundleManifest>;
  } catch (err) {
    fail(`not JSON: ${(err as Error).message}`);
  }
  if (doc.format !== BUNDLE_FORMAT) {
    fail(`format ${JSON.stringify(doc.format)} is not ${BUNDLE_FORMAT} (a newer gomirror may be needed)`);
  }
  if (!Array.isArray(doc.modules) || !Array.isArray(doc.files)) fail("modules and files must be lists");
  const names = new Set<string>([MANIFEST_NAME]);
  const claim = (name: string): void => {
    if (names.has(name)) fail(`${name} is listed twice`);
    names.add(name);
  };
  const modules = doc.modules.map((m: ManifestModule, i): ManifestModule => {
    const what = `modules[${i}]`;
    try {
      checkPath(m.path);
      checkCanonicalVersion(m.path, m.version);
    } catch (err) {
      fail(`${what}: ${(err as Error).message}`);
    }
    const entries = moduleEntryNames(m);
    claim(entries.mod);
    const mod = hashedFile(m.mod, `${what} (${m.path}@${m.version}) mod`);
    let zip: HashedFile | undefined;
    if (m.zip !== undefined) {
      claim(entries.zip);
      zip = hashedFile(m.zip, `${what} (${m.path}@${m.version}) zip`);
    }
    return {
      path: m.path,
      version: m.version,
      mod,
      ...(zip ? { zip } : {}),
      ...(m.private ? { private: true } : {}),
    };
  });
  const files = doc.files.map((f: ManifestFile, i): ManifestFile => {
    try {
      checkStorageKey(f.name);
    } catch (err) {
      fail(`files[${i}]: ${(err as Error).message}`);
    }
    if (
      !Number.isSafeInteger(f.size) ||
      f.size < 0 ||
      typeof f.sha256 !== "string" ||
      !SHA256.test(f.sha256)
    ) {
      fail(`files[${i}] (${f.name}): want {"name", "size": N, "sha256": "<hex>"}`);
    }
    claim(f.name);
    return { name: f.name, size: f.size, sha256: f.sha256 };
  });
  let sumdb: BundleManifest["sumdb"];
  if (doc.sumdb !== undefined) {
    if (typeof doc.sumdb.name !== "string" || !Number.isSafeInteger(doc.sumdb.tree)) {
      fail('sumdb: want {"name": "<database>", "tree": N}');
    }
    sumdb = { name: doc.sumdb.name, tree: doc.sumdb.tree };
  }
  return {
    format: BUNDLE_FORMAT,
    created: String(doc.created ?? ""),
    ...(sumdb ? { sumdb } : {}),
    modules,
    files,
  };
}

export function formatManifest(manifest: BundleManifest): Buffer {
  return Buffer.from(`${JSON.stringify(manifest, null, 1)}\n`);
}
