import { createHash } from "node:crypto";
import { escapePath, escapeVersion, unescapePath, unescapeVersion } from "../module/escape";
import { remembered } from "./memo";

// Escaping validates the whole path again; every cached hit needs its storage key.
const escapedPath = remembered(escapePath);
const escapedVersion = remembered(escapeVersion);

/** A file name: 255 bytes on every common file system (NAME_MAX). */
const MAX_SEGMENT_BYTES = 255;
/** S3 takes keys of up to 1,024 bytes, its bucket prefix included: this leaves the prefix 256. */
const MAX_KEY_BYTES = 768;

/**
 * `key` itself when every backend can hold it, else `@hashed/<sha256 of key>`. Valid requests
 * can name keys no file system takes (a 300-byte path element, a 1,000-byte module path); those
 * are hashed, while every ordinary key stays as it is, so existing caches stay valid. A module
 * path's first element holds a dot, so no GOPROXY key starts with `@hashed`.
 */
export function fitStorageKey(key: string): string {
  // Keys are escaped ASCII: a length in characters is one in bytes.
  if (key.length <= MAX_SEGMENT_BYTES) return key;
  if (key.length <= MAX_KEY_BYTES && key.split("/").every((s) => s.length <= MAX_SEGMENT_BYTES)) return key;
  return `@hashed/${createHash("sha256").update(key).digest("hex")}`;
}

/**
 * Where each answer lives in storage. The layout is a GOPROXY tree (so a disk cache can be
 * served as a file:// upstream), plus `@v/query/<sha256>.info` for query answers, and hashed
 * keys for the extraordinary paths no backend could hold otherwise (fitStorageKey).
 */
export const storageKeys = {
  list: (path: string): string => fitStorageKey(`${escapedPath(path)}/@v/list`),
  latest: (path: string): string => fitStorageKey(`${escapedPath(path)}/@latest`),
  info: (path: string, version: string): string =>
    fitStorageKey(`${escapedPath(path)}/@v/${escapedVersion(version)}.info`),
  mod: (path: string, version: string): string =>
    fitStorageKey(`${escapedPath(path)}/@v/${escapedVersion(version)}.mod`),
  zip: (path: string, version: string): string =>
    fitStorageKey(`${escapedPath(path)}/@v/${escapedVersion(version)}.zip`),
  query: (path: string, query: string): string =>
    fitStorageKey(`${escapedPath(path)}/@v/query/${createHash("sha256").update(query).digest("hex")}.info`),
};

/** A `.mod` or `.zip` as its storage key names it. */
export interface ModuleFileKey {
  readonly key: string;
  readonly path: string;
  readonly version: string;
  readonly ext: "mod" | "zip";
}

/** Reads a storage key `<escaped path>/@v/<escaped version>.(mod|zip)`; undefined for anything else. */
export function parseModuleFileKey(key: string): ModuleFileKey | undefined {
  const m = /^(.+)\/@v\/([^/]+)\.(mod|zip)$/.exec(key);
  if (!m || key.startsWith("sumdb/")) return undefined;
  try {
    return { key, path: unescapePath(m[1]), version: unescapeVersion(m[2]), ext: m[3] as "mod" | "zip" };
  } catch {
    return undefined;
  }
}
