// Generated from lib/proxy/settings/schema.ts by `npm run settings`; do not edit.
import type { ByteSize, DurationValue } from "./kinds";

/**
 * The proxy's settings as construct props, identical on `GoMirror` (AWS) and
 * `GoMirrorKubernetes`. A prop left out is not set at all, so the proxy's default applies.
 * Durations take seconds, a string such as "5m", or an aws-cdk-lib `Duration`.
 */
export interface ProxySettings {
  /**
   * Upstream list: `,` falls through only on 404/410, `|` on any error; `off` refuses; `direct` is
   * the git source (`GOPROXY`).
   *
   * @default - the proxy's default, `https://proxy.golang.org,direct`
   */
  readonly upstreams?: string[];
  /**
   * Joins `upstreams` with `,` (next entry only after a 404/410, the go command's default) or `|`
   * (after any error).
   *
   * @default "not-found"
   */
  readonly upstreamFallback?: "not-found" | "any-error";
  /**
   * Private module path patterns; the default of GONOPROXY and GONOSUMDB (`GOPRIVATE`).
   *
   * @default - not set
   */
  readonly privatePatterns?: string[];
  /**
   * Patterns fetched from their git servers, never from an upstream proxy (`GONOPROXY`).
   *
   * @default - the value of `privatePatterns`
   */
  readonly noProxy?: string[];
  /**
   * Checksum database: `name`, `name+key`, `name+key url`, or `off` (`GOSUMDB`).
   *
   * @default - the proxy's default, `sum.golang.org`
   */
  readonly sumdb?: string;
  /**
   * Patterns not checked against the checksum database (`GONOSUMDB`).
   *
   * @default - the value of `privatePatterns`
   */
  readonly noSumdb?: string[];
  /**
   * How long `list`, `@latest` and query `.info` answers stay fresh, in seconds
   * (`GOMIRROR_CACHE_TTL`).
   *
   * @default - the proxy's default, `60`
   */
  readonly cacheTtl?: DurationValue;
  /**
   * How long an upstream may take to answer before it counts as failed, in seconds
   * (`GOMIRROR_UPSTREAM_TIMEOUT`).
   *
   * @default - the proxy's default, `30`
   */
  readonly upstreamTimeout?: DurationValue;
  /**
   * Failures of an upstream within the fail window that make it skipped for the fail timeout, a skip
   * failing at once (0: never) (`GOMIRROR_UPSTREAM_MAX_FAILS`).
   *
   * @default - the proxy's default, `3`
   */
  readonly upstreamMaxFails?: number;
  /**
   * Seconds within which `GOMIRROR_UPSTREAM_MAX_FAILS` failures make an upstream skipped
   * (`GOMIRROR_UPSTREAM_FAIL_WINDOW`).
   *
   * @default - the proxy's default, `30`
   */
  readonly upstreamFailWindow?: DurationValue;
  /**
   * Seconds a failing upstream is skipped; then one probe request tries it, and its success ends the
   * skipping (`GOMIRROR_UPSTREAM_FAIL_TIMEOUT`).
   *
   * @default - the proxy's default, `30`
   */
  readonly upstreamFailTimeout?: DurationValue;
  /**
   * Log level (`GOMIRROR_LOG_LEVEL`).
   *
   * @default - the proxy's default, `info`
   */
  readonly logLevel?: "trace" | "debug" | "info" | "warn" | "error" | "fatal" | "silent";
  /**
   * Git URL rewrites like git's `insteadOf`: from a URL prefix to its replacement
   * (`GOMIRROR_GIT_REWRITE`).
   *
   * @default - not set
   */
  readonly gitRewrites?: Record<string, string>;
  /**
   * Disk storage only: past this size the least recently served zips are removed, down to 90% of it
   * (0: no limit) (`GOMIRROR_DISK_MAX`).
   *
   * @default - the proxy's default, `0`
   */
  readonly diskMax?: ByteSize;
  /**
   * Answer `.zip` requests with a redirect to a presigned S3 URL (S3 storage only)
   * (`GOMIRROR_ZIP_REDIRECT`).
   *
   * @default - the proxy's default, `false`
   */
  readonly zipRedirect?: boolean;
  /**
   * Bytes of downloads in progress at once (spooled in the temp directory; a zip up to 1 MiB in
   * memory); a cold fetch beyond it answers 503 (`GOMIRROR_SPOOL_MAX`).
   *
   * @default - the proxy's default, `1GiB`
   */
  readonly spoolMax?: ByteSize;
  /**
   * Memory per process for small immutable files (`.info`, `.mod`, zips up to 1 MiB) so hot hits
   * skip storage; 0 turns it off (`GOMIRROR_MEMORY_CACHE`).
   *
   * @default - the proxy's default, `64MiB`
   */
  readonly memoryCache?: ByteSize;
  /**
   * What a cold `.info` or `.mod` also fetches in the background: `zip` (the version's other files
   * and zip), `mod` (`.info` and `.mod` only), `off` (`GOMIRROR_PREFETCH`).
   *
   * @default - the proxy's default, `zip`
   */
  readonly prefetch?: "zip" | "mod" | "off";
  /**
   * With client tokens, what clients without one may read: `none`, or `public` (public modules and
   * `/sumdb/`, never a private path) (`GOMIRROR_ANONYMOUS`).
   *
   * @default - the proxy's default, `none`
   */
  readonly anonymous?: "none" | "public";
  /**
   * More environment variables for the proxy, for settings without a prop. Variables a prop sets,
   * and those the construct manages (listen address, storage, credentials), are refused.
   *
   * @default - none
   */
  readonly environment?: Record<string, string>;
}
