import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import { parseRewriteRules } from "./git/rewrite";
import { parseProxyList, ProxyListError, type ProxyListEntry } from "./sources/proxy-list";
import { parseGosumdb } from "./sumdb/config";

/**
 * Every setting of the proxy, validated once at startup. Settings come from environment
 * variables (the go command's own names where one exists) and from flags, flags winning.
 */
export interface ProxyConfig {
  /** Where to listen (GOMIRROR_LISTEN). */
  readonly listen: { readonly host: string; readonly port: number };
  /** A directory, or `s3://bucket/prefix` (GOMIRROR_STORAGE). */
  readonly storage: string;
  /** The upstream GOPROXY list. */
  readonly proxyList: readonly ProxyListEntry[];
  /** Module path patterns never requested from an upstream proxy (GONOPROXY, else GOPRIVATE). */
  readonly noProxy: string;
  /** Module path patterns that are private (GOPRIVATE). */
  readonly private: string;
  /** The checksum database setting, in GOSUMDB syntax. */
  readonly sumdb: string;
  /** Module path patterns not checked against the checksum database (GONOSUMDB, else GOPRIVATE). */
  readonly noSumdb: string;
  /** Seconds that `list`, `@latest` and query `.info` answers stay fresh. */
  readonly cacheTtlSeconds: number;
  /** Seconds an upstream may take before it counts as failed. */
  readonly upstreamTimeoutSeconds: number;
  /** pino log level. */
  readonly logLevel: string;
  /** Git URL rewrites, `from=to` pairs (GOMIRROR_GIT_REWRITE). */
  readonly gitRewrite: readonly { readonly from: string; readonly to: string }[];
  /** Path of a netrc file with git credentials (NETRC). */
  readonly netrcPath: string | undefined;
  /** netrc content with git credentials, e.g. from a secret (GOMIRROR_NETRC). */
  readonly netrc: string | undefined;
  /** The git cache directory (GOMIRROR_GIT_CACHE); undefined: one under the OS temporary directory. */
  readonly gitCacheDir: string | undefined;
  /** Private key file for ssh:// git remotes (GOMIRROR_GIT_SSH_KEY). */
  readonly gitSshKey: string | undefined;
  /** known_hosts file that ssh:// git remotes are checked against (GOMIRROR_GIT_KNOWN_HOSTS). */
  readonly gitKnownHosts: string | undefined;
  readonly s3: {
    readonly endpoint: string | undefined;
    readonly forcePathStyle: boolean;
    readonly region: string | undefined;
  };
  /** Answer zip requests with a redirect to a presigned S3 URL. */
  readonly zipRedirect: boolean;
  /** Seconds SIGTERM waits for in-flight requests and downloads. */
  readonly shutdownGraceSeconds: number;
  /** Seconds the proxy keeps accepting after SIGTERM, with /readyz failing, before it stops. */
  readonly shutdownDelaySeconds: number;
  /** Server processes sharing the listening socket (node:cluster); 1 runs no cluster. */
  readonly workers: number;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

type Parsed = Record<string, unknown>;

interface Setting {
  readonly env: string;
  readonly flag: string;
  readonly description: string;
  readonly default: string;
  /** Set in the result object under this key; the value is validated by `parse`. */
  readonly parse: (value: string, out: Parsed) => void;
}

function positiveNumber(env: string, max: number): (value: string, out: Parsed) => void {
  return (value, out) => {
    const n = Number(value);
    if (value.trim() === "" || !Number.isFinite(n) || n < 0 || n > max) {
      throw new ConfigError(`${env}=${JSON.stringify(value)}: want a number of seconds from 0 to ${max}`);
    }
    out[env] = n;
  };
}

function bool(env: string): (value: string, out: Parsed) => void {
  return (value, out) => {
    const v = value.trim().toLowerCase();
    if (!["true", "false", "1", "0", "yes", "no", ""].includes(v)) {
      throw new ConfigError(`${env}=${JSON.stringify(value)}: want true or false`);
    }
    out[env] = v === "true" || v === "1" || v === "yes";
  };
}

function text(env: string): (value: string, out: Parsed) => void {
  return (value, out) => {
    if (/[\0-\x08\x0a-\x1f\x7f]/.test(value)) {
      throw new ConfigError(`${env} holds a control character`);
    }
    out[env] = value;
  };
}

/** A comma list of module path glob patterns, as GOPRIVATE takes. */
function patterns(env: string): (value: string, out: Parsed) => void {
  return (value, out) => {
    for (const p of value.split(",")) {
      const pattern = p.trim();
      if (/[\s\0-\x1f]/.test(pattern) || pattern.includes("\\")) {
        throw new ConfigError(
          `${env}=${JSON.stringify(value)}: pattern ${JSON.stringify(pattern)} is not a module path glob`,
        );
      }
    }
    out[env] = value;
  };
}

const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"];

/** The one table of settings: parsing, flags and `--help` all come from it. */
export const SETTINGS: readonly Setting[] = [
  {
    env: "GOMIRROR_LISTEN",
    flag: "listen",
    description: "host:port to listen on",
    default: "127.0.0.1:3000",
    parse: (value, out) => {
      const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]*)):(\d{1,5})$/.exec(value.trim());
      const port = m ? Number(m[3]) : NaN;
      if (!m || port > 65535) {
        throw new ConfigError(
          `GOMIRROR_LISTEN=${JSON.stringify(value)}: want host:port, e.g. 127.0.0.1:3000`,
        );
      }
      out.GOMIRROR_LISTEN = { host: m[1] ?? (m[2] || "0.0.0.0"), port };
    },
  },
  {
    env: "GOMIRROR_STORAGE",
    flag: "storage",
    description: "cache location: a directory, or s3://bucket/prefix",
    default: "./.gomirror",
    parse: (value, out) => {
      const v = value.trim();
      if (v === "" || /[\0-\x1f]/.test(v)) {
        throw new ConfigError(
          `GOMIRROR_STORAGE=${JSON.stringify(value)}: want a directory or s3://bucket/prefix`,
        );
      }
      if (v.startsWith("s3:") && !/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?$/.test(v)) {
        throw new ConfigError(
          `GOMIRROR_STORAGE=${JSON.stringify(value)}: want s3://bucket/prefix with a valid bucket name`,
        );
      }
      out.GOMIRROR_STORAGE = v;
    },
  },
  {
    env: "GOPROXY",
    flag: "goproxy",
    description: "upstream GOPROXY list (`,` falls through on 404/410, `|` on any error; off; direct)",
    default: "https://proxy.golang.org,direct",
    parse: (value, out) => {
      try {
        out.GOPROXY = parseProxyList(value);
      } catch (err) {
        if (err instanceof ProxyListError) {
          // The value may carry a password (user:password@host): never repeat that part.
          const shown = value.replace(/\/\/[^/@\s]*@/g, "//[redacted]@");
          throw new ConfigError(`GOPROXY=${JSON.stringify(shown)}: ${err.message}`);
        }
        throw err;
      }
    },
  },
  {
    env: "GOPRIVATE",
    flag: "goprivate",
    description: "module path patterns that are private (default for GONOPROXY and GONOSUMDB)",
    default: "",
    parse: patterns("GOPRIVATE"),
  },
  {
    env: "GONOPROXY",
    flag: "gonoproxy",
    description: "module path patterns fetched from their git servers, never from an upstream proxy",
    default: "$GOPRIVATE",
    parse: patterns("GONOPROXY"),
  },
  {
    env: "GOSUMDB",
    flag: "gosumdb",
    description: "checksum database: name, name+key, `name+key url`, or off",
    default: "sum.golang.org",
    parse: (value, out) => {
      try {
        parseGosumdb(value);
      } catch (err) {
        throw new ConfigError(`GOSUMDB=${JSON.stringify(value)}: ${(err as Error).message}`);
      }
      out.GOSUMDB = value;
    },
  },
  {
    env: "GONOSUMDB",
    flag: "gonosumdb",
    description: "module path patterns not checked against the checksum database",
    default: "$GOPRIVATE",
    parse: patterns("GONOSUMDB"),
  },
  {
    env: "GOMIRROR_CACHE_TTL",
    flag: "cache-ttl",
    description: "seconds that list, @latest and query .info answers stay fresh",
    default: "60",
    parse: positiveNumber("GOMIRROR_CACHE_TTL", 86400 * 30),
  },
  {
    env: "GOMIRROR_UPSTREAM_TIMEOUT",
    flag: "upstream-timeout",
    description: "seconds an upstream may take to answer before it counts as failed",
    default: "30",
    parse: (value, out) => {
      positiveNumber("GOMIRROR_UPSTREAM_TIMEOUT", 3600)(value, out);
      // 0 would switch every timeout off, not make them immediate.
      if ((out.GOMIRROR_UPSTREAM_TIMEOUT as number) < 1) {
        throw new ConfigError(`GOMIRROR_UPSTREAM_TIMEOUT=${JSON.stringify(value)}: want at least 1 second`);
      }
    },
  },
  {
    env: "GOMIRROR_LOG_LEVEL",
    flag: "log-level",
    description: `log level (${LOG_LEVELS.join(", ")})`,
    default: "info",
    parse: (value, out) => {
      if (!LOG_LEVELS.includes(value)) {
        throw new ConfigError(
          `GOMIRROR_LOG_LEVEL=${JSON.stringify(value)}: want one of ${LOG_LEVELS.join(", ")}`,
        );
      }
      out.GOMIRROR_LOG_LEVEL = value;
    },
  },
  {
    env: "GOMIRROR_GIT_REWRITE",
    flag: "git-rewrite",
    description: "git URL rewrites like git's insteadOf: from=to,from=to",
    default: "",
    parse: (value, out) => {
      try {
        out.GOMIRROR_GIT_REWRITE = parseRewriteRules(value);
      } catch (err) {
        throw new ConfigError(`GOMIRROR_GIT_REWRITE=${JSON.stringify(value)}: ${(err as Error).message}`);
      }
    },
  },
  {
    env: "NETRC",
    flag: "netrc",
    description: "path of a netrc file with git credentials",
    default: "",
    parse: text("NETRC"),
  },
  {
    env: "GOMIRROR_NETRC",
    flag: "netrc-content",
    description: "netrc-format git credentials given inline (e.g. from a secret)",
    default: "",
    parse: (value, out) => {
      out.GOMIRROR_NETRC = value;
    },
  },
  {
    env: "GOMIRROR_GIT_CACHE",
    flag: "git-cache",
    description:
      "directory of the git cache (a bare repository per remote, kept across restarts; default <tmp>/gomirror-git-<uid>)",
    default: "",
    parse: text("GOMIRROR_GIT_CACHE"),
  },
  {
    env: "GOMIRROR_GIT_SSH_KEY",
    flag: "git-ssh-key",
    description: "path of the private key for ssh:// git remotes (e.g. a mounted secret)",
    default: "",
    parse: text("GOMIRROR_GIT_SSH_KEY"),
  },
  {
    env: "GOMIRROR_GIT_KNOWN_HOSTS",
    flag: "git-known-hosts",
    description: "path of the known_hosts file ssh:// git remotes are checked against (ssh needs it)",
    default: "",
    parse: text("GOMIRROR_GIT_KNOWN_HOSTS"),
  },
  {
    env: "GOMIRROR_S3_ENDPOINT",
    flag: "s3-endpoint",
    description: "S3-compatible endpoint URL (MinIO and similar)",
    default: "",
    parse: (value, out) => {
      if (value !== "" && !/^https?:\/\/[^\s/]+/.test(value)) {
        throw new ConfigError(`GOMIRROR_S3_ENDPOINT=${JSON.stringify(value)}: want an http(s) URL`);
      }
      out.GOMIRROR_S3_ENDPOINT = value;
    },
  },
  {
    env: "GOMIRROR_S3_FORCE_PATH_STYLE",
    flag: "s3-force-path-style",
    description: "address S3 buckets by path instead of by host name",
    default: "false",
    parse: bool("GOMIRROR_S3_FORCE_PATH_STYLE"),
  },
  {
    env: "GOMIRROR_S3_REGION",
    flag: "s3-region",
    description: "S3 region (else the AWS SDK's default chain)",
    default: "",
    parse: text("GOMIRROR_S3_REGION"),
  },
  {
    env: "GOMIRROR_ZIP_REDIRECT",
    flag: "zip-redirect",
    description: "answer .zip requests with a redirect to a presigned S3 URL (S3 storage only)",
    default: "false",
    parse: bool("GOMIRROR_ZIP_REDIRECT"),
  },
  {
    env: "GOMIRROR_SHUTDOWN_GRACE",
    flag: "shutdown-grace",
    description: "seconds SIGTERM waits for in-flight requests and downloads",
    default: "25",
    parse: positiveNumber("GOMIRROR_SHUTDOWN_GRACE", 3600),
  },
  {
    env: "GOMIRROR_SHUTDOWN_DELAY",
    flag: "shutdown-delay",
    description:
      "seconds the proxy keeps serving after SIGTERM, /readyz failing, so load balancers stop sending first",
    default: "0",
    parse: positiveNumber("GOMIRROR_SHUTDOWN_DELAY", 300),
  },
  {
    env: "GOMIRROR_WORKERS",
    flag: "workers",
    description:
      "server processes sharing the port (auto = one per CPU); single-flight and the memory cache are per process",
    default: "1",
    parse: (value, out) => {
      const n = value.trim() === "auto" ? availableParallelism() : Number(value);
      if (!Number.isInteger(n) || n < 1 || n > 64) {
        throw new ConfigError(
          `GOMIRROR_WORKERS=${JSON.stringify(value)}: want a whole number from 1 to 64, or auto`,
        );
      }
      out.GOMIRROR_WORKERS = n;
    },
  },
];

export interface ConfigSources {
  readonly env: NodeJS.ProcessEnv;
  /** Command-line arguments after the subcommand. */
  readonly argv: readonly string[];
}

/** Flags for `node:util` parseArgs, derived from SETTINGS. */
export function settingFlags(): Record<string, { type: "string" }> {
  return Object.fromEntries(SETTINGS.map((s) => [s.flag, { type: "string" as const }]));
}

/** Builds the configuration; throws ConfigError naming the variable and the value. */
export function loadConfig({ env, argv }: ConfigSources): ProxyConfig {
  let flags: Record<string, string | boolean | undefined>;
  try {
    flags = parseArgs({
      args: [...argv],
      options: settingFlags(),
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  const raw = (setting: Setting): string | undefined => {
    const flag = flags[setting.flag];
    if (typeof flag === "string") return flag;
    const value = env[setting.env];
    return value === undefined || value === "" ? undefined : value;
  };
  const parsed: Parsed = {};
  const lookup = (name: string): string => {
    const s = SETTINGS.find((x) => x.env === name)!;
    return raw(s) ?? "";
  };
  for (const setting of SETTINGS) {
    let value = raw(setting);
    if (value === undefined)
      value = setting.default.startsWith("$") ? lookup(setting.default.slice(1)) : setting.default;
    setting.parse(value, parsed);
  }
  const listen = parsed.GOMIRROR_LISTEN as ProxyConfig["listen"];
  const config: ProxyConfig = {
    listen,
    storage: parsed.GOMIRROR_STORAGE as string,
    proxyList: parsed.GOPROXY as ProxyListEntry[],
    private: parsed.GOPRIVATE as string,
    noProxy: parsed.GONOPROXY as string,
    sumdb: parsed.GOSUMDB as string,
    noSumdb: parsed.GONOSUMDB as string,
    cacheTtlSeconds: parsed.GOMIRROR_CACHE_TTL as number,
    upstreamTimeoutSeconds: parsed.GOMIRROR_UPSTREAM_TIMEOUT as number,
    logLevel: parsed.GOMIRROR_LOG_LEVEL as string,
    gitRewrite: parsed.GOMIRROR_GIT_REWRITE as ProxyConfig["gitRewrite"],
    netrcPath: (parsed.NETRC as string) || undefined,
    netrc: (parsed.GOMIRROR_NETRC as string) || undefined,
    gitCacheDir: (parsed.GOMIRROR_GIT_CACHE as string) || undefined,
    gitSshKey: (parsed.GOMIRROR_GIT_SSH_KEY as string) || undefined,
    gitKnownHosts: (parsed.GOMIRROR_GIT_KNOWN_HOSTS as string) || undefined,
    s3: {
      endpoint: (parsed.GOMIRROR_S3_ENDPOINT as string) || undefined,
      forcePathStyle: parsed.GOMIRROR_S3_FORCE_PATH_STYLE as boolean,
      region: (parsed.GOMIRROR_S3_REGION as string) || undefined,
    },
    zipRedirect: parsed.GOMIRROR_ZIP_REDIRECT as boolean,
    shutdownGraceSeconds: parsed.GOMIRROR_SHUTDOWN_GRACE as number,
    shutdownDelaySeconds: parsed.GOMIRROR_SHUTDOWN_DELAY as number,
    workers: parsed.GOMIRROR_WORKERS as number,
  };
  if (config.gitSshKey && !config.gitKnownHosts) {
    throw new ConfigError(
      "GOMIRROR_GIT_SSH_KEY is set but GOMIRROR_GIT_KNOWN_HOSTS is not: ssh:// git remotes are only used " +
        "with the host keys they must have (a known_hosts file, e.g. from `ssh-keyscan`, checked by you)",
    );
  }
  if (config.zipRedirect && !config.storage.startsWith("s3://")) {
    throw new ConfigError(
      `GOMIRROR_ZIP_REDIRECT=true needs S3 storage, but GOMIRROR_STORAGE=${JSON.stringify(config.storage)}`,
    );
  }
  return config;
}

/**
 * Checks environment variables that a deployment will hand to the proxy, the way the proxy will
 * read them at startup, so that a bad value fails at synth instead of in a crash-looping task.
 * Values that are not known yet (deploy-time tokens) are left out by the caller.
 * @throws ConfigError naming the variable and the value
 */
export function checkProxyEnvironment(env: Record<string, string>): void {
  loadConfig({ env, argv: [] });
}

/** The `--help` text for the settings. */
export function settingsHelp(): string {
  const lines = SETTINGS.map((s) => {
    const left = `  --${s.flag} (${s.env})`;
    const def = s.default === "" ? "" : ` [default: ${s.default}]`;
    return `${left.padEnd(48)} ${s.description}${def}`;
  });
  return lines.join("\n");
}
