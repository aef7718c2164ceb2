import { createHash } from "node:crypto";
import { escapePath, escapeVersion } from "../module/escape";
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
