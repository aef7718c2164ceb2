import type { Readable } from "node:stream";

/** The JSON of a `.info` file (`$module/@v/$version.info`). */
export interface ModuleInfo {
  /** Canonical version (a semantic version or pseudo-version). */
  readonly Version: string;
  /** Commit time, RFC 3339 in UTC. */
  readonly Time: string;
  /** Where the version came from, when the source knows (git sources always do). */
  readonly Origin?: ModuleOrigin;
}

export interface ModuleOrigin {
  readonly VCS?: string;
  readonly URL?: string;
  readonly Subdir?: string;
  readonly Hash?: string;
  readonly Ref?: string;
  readonly TagPrefix?: string;
  readonly TagSum?: string;
}

/** A streamed file: a large `.zip` is never held in memory. */
export interface Download {
  readonly body: Readable;
  /** Size in bytes when the source knows it up front. */
  readonly size?: number;
  /**
   * A check of the whole file that must pass before anyone may have all of it (the checksum
   * database's `h1:` hash): given the file the body was written to (or, for a small zip, its
   * bytes), it rejects with a ProxyError when the bytes must not be used. Whoever hands the bytes
   * on runs it before the last byte leaves (CachedSource does, on its spool); the HTTP layer
   * refuses a download that still carries one.
   */
  readonly check?: (zip: string | Buffer) => Promise<void>;
  /**
   * The whole file, when the source already holds it in memory (the cache, for small zips): a
   * consumer may send these bytes instead of reading `body`, which is only made when asked for.
   */
  readonly data?: Buffer;
}

/**
 * Where modules come from: an upstream GOPROXY, a git server, the GOPROXY chain of several,
 * or a wrapper adding caching, single-flight or checksum verification around another source.
 *
 * Paths and versions given to a source are already validated and unescaped (`module.checkPath`,
 * canonical versions for mod/zip). A source signals "not here" with a ProxyError of kind
 * "not-found"; any other failure is a real fault that stops a `,` fall-through.
 */
export interface ModuleSource {
  /** Versions listed by `$module/@v/list` (tagged versions, no pseudo-versions), unsorted. */
  list(path: string): Promise<string[]>;
  /**
   * `$module/@v/$query.info`: a canonical version is answered as itself; anything else
   * (branch name, commit-hash prefix, `v1`, `v1.2`) is a query the source resolves.
   */
  info(path: string, query: string): Promise<ModuleInfo>;
  /** `$module/@latest`. */
  latest(path: string): Promise<ModuleInfo>;
  /** `$module/@v/$version.mod` (canonical version). */
  mod(path: string, version: string): Promise<Buffer>;
  /** `$module/@v/$version.zip` (canonical version). */
  zip(path: string, version: string): Promise<Download>;
}
