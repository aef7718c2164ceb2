import { createHash } from "node:crypto";
import { escapePath, escapeVersion, unescapePath, unescapeVersion } from "../module/escape";
import { remembered } from "./memo";

// Escaping validates the whole path again; every cached hit needs its storage key.
const escapedPath = remembered(escapePath);
const escapedVersion = remembered(escapeVersion);

/**
 * Where each answer lives in storage. The layout is a GOPROXY tree (so a disk cache can be
 * served as a file:// upstream), plus `@v/query/<sha256>.info` for query answers.
 */
export const storageKeys = {
  list: (path: string): string => `${escapedPath(path)}/@v/list`,
  latest: (path: string): string => `${escapedPath(path)}/@latest`,
  info: (path: string, version: string): string => `${escapedPath(path)}/@v/${escapedVersion(version)}.info`,
  mod: (path: string, version: string): string => `${escapedPath(path)}/@v/${escapedVersion(version)}.mod`,
  zip: (path: string, version: string): string => `${escapedPath(path)}/@v/${escapedVersion(version)}.zip`,
  query: (path: string, query: string): string =>
    `${escapedPath(path)}/@v/query/${createHash("sha256").update(query).digest("hex")}.info`,
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
