import { createHash } from "node:crypto";
import { escapePath, escapeVersion } from "../module/escape";

/**
 * Where each answer lives in storage. The layout is a GOPROXY tree (so a disk cache can be
 * served as a file:// upstream), plus `@v/query/<sha256>.info` for query answers.
 */
export const storageKeys = {
  list: (path: string): string => `${escapePath(path)}/@v/list`,
  latest: (path: string): string => `${escapePath(path)}/@latest`,
  info: (path: string, version: string): string => `${escapePath(path)}/@v/${escapeVersion(version)}.info`,
  mod: (path: string, version: string): string => `${escapePath(path)}/@v/${escapeVersion(version)}.mod`,
  zip: (path: string, version: string): string => `${escapePath(path)}/@v/${escapeVersion(version)}.zip`,
  query: (path: string, query: string): string =>
    `${escapePath(path)}/@v/query/${createHash("sha256").update(query).digest("hex")}.info`,
};
