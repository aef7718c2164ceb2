import { parseProxyList, ProxyListError } from "../proxy/sources/proxy-list";
import type { EnvVar, PodParts } from "./pod-parts";
import { checkInteger, fail } from "./validation";

export type LogLevel = "trace" | "debug" | "info" | "warn" | "error" | "fatal" | "silent";

/**
 * The proxy's own settings, typed. Each becomes the environment variable the proxy reads; a
 * setting left out is not set at all, so the proxy's documented default applies.
 */
export interface ProxySettings {
  /**
   * Where modules come from, in order: upstream proxy URLs, `direct` (fetch from the module's
   * git server) or `off`. Becomes GOPROXY.
   * @default the proxy's default, `https://proxy.golang.org,direct`
   */
  readonly upstreams?: string[];
  /**
   * When the next upstream is tried: `not-found` only after a 404/410 (GOPROXY's `,`, the go
   * command's default), `any-error` also after errors and timeouts (`|`).
   * @default "not-found"
   */
  readonly upstreamFallback?: "not-found" | "any-error";
  /**
   * Module path patterns of private modules (GOPRIVATE), e.g. `git.example.com/*`.
   * @default none
   */
  readonly privatePatterns?: string[];
  /**
   * Patterns fetched straight from git, never from an upstream proxy (GONOPROXY).
   * @default privatePatterns
   */
  readonly noProxy?: string[];
  /**
   * The checksum database (GOSUMDB): a name, `name+key`, `name+key url`, or `off`.
   * @default "sum.golang.org"
   */
  readonly sumdb?: string;
  /**
   * Patterns not checked against the checksum database (GONOSUMDB).
   * @default privatePatterns
   */
  readonly noSumdb?: string[];
  /**
   * Seconds that `list`, `@latest` and query `.info` answers stay fresh (GOMIRROR_CACHE_TTL).
   * @default 60
   */
  readonly cacheTtlSeconds?: number;
  /**
   * Seconds an upstream may take before it counts as failed (GOMIRROR_UPSTREAM_TIMEOUT).
   * @default 30
   */
  readonly upstreamTimeoutSeconds?: number;
  /**
   * Git URL rewrites like git's `insteadOf`, from a URL prefix to its replacement
   * (GOMIRROR_GIT_REWRITE), e.g. `{ "https://github.com/acme/": "https://git.internal/mirror/acme/" }`.
   * @default none
   */
  readonly gitRewrites?: Record<string, string>;
  /** @default "info" */
  readonly logLevel?: LogLevel;
  /**
   * Further environment variables for the proxy container, for settings without a typed prop.
   * @default none
   */
  readonly extraEnv?: Record<string, string>;
}

const LOG_LEVELS: readonly string[] = ["trace", "debug", "info", "warn", "error", "fatal", "silent"];

function checkPatterns(patterns: string[], what: string): string {
  patterns.forEach((p, i) => {
    if (p.trim() === "" || /[\s,\\]/.test(p)) {
      fail(
        `${what}[${i}] "${p}" is not a module path pattern; write one glob per entry, like git.example.com/*`,
      );
    }
  });
  return patterns.join(",");
}

function goproxyValue(upstreams: string[], fallback: ProxySettings["upstreamFallback"]): string {
  if (upstreams.length === 0) {
    fail(`proxy.upstreams is empty; list at least one upstream URL, "direct" or "off"`);
  }
  upstreams.forEach((u, i) => {
    if (/[,|\s]/.test(u) || u === "") {
      fail(
        `proxy.upstreams[${i}] "${u}" must be a single URL, "direct" or "off"; give each upstream its own entry`,
      );
    }
    const terminal = u === "direct" || u === "off";
    if (terminal && i < upstreams.length - 1) {
      fail(`proxy.upstreams[${i}] is "${u}", which ends the list: the entries after it would never be used`);
    }
  });
  const value = upstreams.join(fallback === "any-error" ? "|" : ",");
  try {
    // The proxy's own parser: what passes here is what the proxy will accept at startup.
    parseProxyList(value);
  } catch (err) {
    if (err instanceof ProxyListError) fail(`proxy.upstreams: ${err.message}`);
    throw err;
  }
  return value;
}

function gitRewriteValue(rewrites: Record<string, string>): string {
  return Object.entries(rewrites)
    .map(([from, to]) => {
      if (from.trim() === "" || /[=,\s]/.test(from)) {
        fail(`proxy.gitRewrites key "${from}" must be a URL prefix without '=', ',' or spaces`);
      }
      if (!/^[a-z][a-z0-9+.-]*:\/\/[^=,\s]+$/.test(to)) {
        fail(`proxy.gitRewrites["${from}"] = "${to}" must be a URL such as https://git.example.com/mirror/`);
      }
      return `${from}=${to}`;
    })
    .join(",");
}

/** The environment variables that carry the proxy settings. */
export function proxySettingsPodParts(settings: ProxySettings = {}): PodParts {
  const env: EnvVar[] = [];
  const set = (name: string, value: string | undefined): void => {
    if (value !== undefined) env.push({ name, value });
  };
  if (settings.upstreamFallback !== undefined && settings.upstreams === undefined) {
    fail(`proxy.upstreamFallback needs proxy.upstreams: the fallback joins the entries of that list`);
  }
  set("GOPROXY", settings.upstreams && goproxyValue(settings.upstreams, settings.upstreamFallback));
  set(
    "GOPRIVATE",
    settings.privatePatterns && checkPatterns(settings.privatePatterns, "proxy.privatePatterns"),
  );
  set("GONOPROXY", settings.noProxy && checkPatterns(settings.noProxy, "proxy.noProxy"));
  if (
    settings.sumdb !== undefined &&
    (settings.sumdb.trim() === "" || [...settings.sumdb].some((c) => c.charCodeAt(0) < 0x20))
  ) {
    fail(
      `proxy.sumdb "${settings.sumdb}" is empty or holds a control character; use e.g. sum.golang.org or off`,
    );
  }
  set("GOSUMDB", settings.sumdb);
  set("GONOSUMDB", settings.noSumdb && checkPatterns(settings.noSumdb, "proxy.noSumdb"));
  if (settings.cacheTtlSeconds !== undefined) {
    checkInteger(settings.cacheTtlSeconds, "proxy.cacheTtlSeconds", 0, 86400 * 30);
    set("GOMIRROR_CACHE_TTL", String(settings.cacheTtlSeconds));
  }
  if (settings.upstreamTimeoutSeconds !== undefined) {
    checkInteger(settings.upstreamTimeoutSeconds, "proxy.upstreamTimeoutSeconds", 1, 3600);
    set("GOMIRROR_UPSTREAM_TIMEOUT", String(settings.upstreamTimeoutSeconds));
  }
  if (settings.gitRewrites !== undefined && Object.keys(settings.gitRewrites).length > 0) {
    set("GOMIRROR_GIT_REWRITE", gitRewriteValue(settings.gitRewrites));
  }
  if (settings.logLevel !== undefined && !LOG_LEVELS.includes(settings.logLevel)) {
    fail(`proxy.logLevel "${settings.logLevel}" is not one of ${LOG_LEVELS.join(", ")}`);
  }
  set("GOMIRROR_LOG_LEVEL", settings.logLevel);
  for (const [name, value] of Object.entries(settings.extraEnv ?? {})) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      fail(`proxy.extraEnv key "${name}" is not an environment variable name`);
    }
    set(name, value);
  }
  return { env, volumes: [], volumeMounts: [] };
}
