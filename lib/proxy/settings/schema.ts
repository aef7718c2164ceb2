import { availableParallelism } from "node:os";
import { PREFETCH_MODES } from "../cache/prefetch";
import { DEFAULT_SPOOL_MAX_BYTES } from "../cache/spool-directory";
import { parseRewriteRules, type RewriteRule } from "../git/rewrite";
import { parseProxyList, type ProxyListEntry } from "../sources/proxy-list";
import { parseCidr } from "../net/cidr";
import { checkS3Url } from "../storage/s3-url";
import { parseGosumdb } from "../sumdb/config";
import {
  bool,
  bytes,
  formatBytes,
  ConfigError,
  count,
  list,
  oneOf,
  parsedBy,
  patterns,
  secretText,
  seconds,
  text,
  type Kind,
} from "./kinds";

/**
 * One proxy setting. Everything else about it is derived from this declaration: the config
 * field (its key in SCHEMA), env and flag parsing, `--help`, the construct prop and its type
 * (`ProxySettings`), the environment the constructs write, and the documentation tables.
 */
export interface SettingSpec<T = unknown, P = never> {
  /** The environment variable (the go command's own name where there is one). */
  readonly env: string;
  /** The command-line flag, without `--`. */
  readonly flag: string;
  readonly kind: Kind<T, P>;
  /** The value when unset, as text; `$NAME` means "the value of setting NAME". */
  readonly default: string;
  /** One line for `--help` and the documentation. */
  readonly help: string;
  /**
   * The construct prop that sets it (the same name on AWS and Kubernetes). Without one, the
   * setting can still be given through the constructs' `environment` prop, unless `managed`.
   */
  readonly prop?: string;
  /**
   * The constructs set it themselves from what this names (the image's port, their storage
   * props, `gitCredentials`), so their `environment` prop may not.
   */
  readonly managed?: string;
  /**
   * The value is a secret: constructs take a reference to their secret store under `prop`
   * (Secrets Manager, a Kubernetes Secret) and never see it.
   */
  readonly secret?: boolean;
  /** Props read together with `prop` (`upstreamFallback` for `upstreams`), for the generated type. */
  readonly companions?: readonly Companion[];
}

export interface Companion {
  readonly prop: string;
  readonly propType: string;
  readonly help: string;
  readonly default: string;
}

function setting<T, P>(spec: SettingSpec<T, P>): SettingSpec<T, P> {
  return spec;
}

export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ["auto", "json", "pretty"] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

/** Parses `host:port`, `[v6]:port` or `:port` (all addresses). */
function parseHostPort(value: string, env: string, example: string): ListenAddress {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]*)):(\d{1,5})$/.exec(value.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) {
    throw new ConfigError(`${env}=${JSON.stringify(value)}: want host:port, e.g. ${example}`);
  }
  return { host: m[1] ?? (m[2] || "0.0.0.0"), port };
}

const hostPort: Kind<ListenAddress, string> = {
  syntax: "host:port",
  propType: "string",
  parse: (value, env) => parseHostPort(value, env, "127.0.0.1:3000"),
  fromProp: (value) => value,
};

/** Like hostPort, but empty means "no such listener". */
const optionalHostPort: Kind<ListenAddress | undefined, string> = {
  ...hostPort,
  parse: (value, env) => (value.trim() === "" ? undefined : parseHostPort(value, env, "0.0.0.0:9090")),
};

/** CIDR blocks, kept as written once each is known to parse. */
const cidrList = list("CIDR block", (item, env) => parseCidr(item, env).text);

const storageLocation: Kind<string, string> = {
  syntax: "directory or s3://bucket/prefix",
  propType: "string",
  parse: (value, env) => {
    const v = value.trim();
    if (v === "" || /[\0-\x1f]/.test(v)) {
      throw new ConfigError(`${env}=${JSON.stringify(value)}: want a directory or s3://bucket/prefix`);
    }
    if (v.startsWith("s3:")) {
      try {
        checkS3Url(v);
      } catch (err) {
        throw new ConfigError(`${env}=${JSON.stringify(value)}: ${(err as Error).message}`);
      }
    }
    return v;
  },
  fromProp: (value) => value,
};

/** Entries of `upstreams` are joined with `,`, or with `|` when `upstreamFallback` is "any-error". */
const goproxy: Kind<ProxyListEntry[], readonly string[]> = parsedBy({
  syntax: "GOPROXY list",
  propType: "string[]",
  parse: parseProxyList,
  // The value may carry a password (user:password@host): never repeat that part.
  shown: (value) => value.replace(/\/\/[^/@\s]*@/g, "//[redacted]@"),
  fromProp: (upstreams, what) => {
    if (upstreams.length === 0) {
      throw new ConfigError(`${what} is empty; list at least one upstream URL, "direct" or "off"`);
    }
    upstreams.forEach((u, i) => {
      if (u.trim() === "" || /[,\s]/.test(u)) {
        throw new ConfigError(
          `${what}[${i}] ${JSON.stringify(u)} must be a single URL, "direct" or "off"; give each upstream its own entry`,
        );
      }
      const last = u.split("|").pop();
      if ((last === "direct" || last === "off") && i < upstreams.length - 1) {
        throw new ConfigError(
          `${what}[${i}] is ${JSON.stringify(u)}, which ends the list: the entries after it would never be used`,
        );
      }
    });
    return upstreams.join(",");
  },
});

const gosumdb: Kind<string, string> = parsedBy({
  syntax: "name, name+key, `name+key url`, or off",
  propType: "string",
  parse: (value) => {
    parseGosumdb(value);
    return value;
  },
  fromProp: (value, what) => {
    if (value.trim() === "" || /[\0-\x1f]/.test(value)) {
      throw new ConfigError(
        `${what} ${JSON.stringify(value)} is empty or holds a control character; use e.g. sum.golang.org or off`,
      );
    }
    return value;
  },
});

const rewrites: Kind<RewriteRule[], Readonly<Record<string, string>>> = parsedBy({
  syntax: "from=to,...",
  propType: "Record<string, string>",
  parse: parseRewriteRules,
  fromProp: (value, what) =>
    Object.entries(value)
      .map(([from, to]) => {
        if (from.trim() === "" || /[=,\s]/.test(from)) {
          throw new ConfigError(
            `${what} key ${JSON.stringify(from)} must be a URL prefix without '=', ',' or spaces`,
          );
        }
        if (/[,\s]/.test(to)) {
          throw new ConfigError(
            `${what}[${JSON.stringify(from)}] = ${JSON.stringify(to)} must be one URL without ',' or spaces`,
          );
        }
        return `${from}=${to}`;
      })
      .join(","),
});

const workerCount: Kind<number, number | "auto"> = {
  syntax: "count or auto",
  propType: 'number | "auto"',
  parse: (value, env) => {
    const n = value.trim() === "auto" ? availableParallelism() : Number(value);
    if (!Number.isInteger(n) || n < 1 || n > 64) {
      throw new ConfigError(`${env}=${JSON.stringify(value)}: want a whole number from 1 to 64, or auto`);
    }
    return n;
  },
  fromProp: (value) => String(value),
};

const httpUrl: Kind<string | undefined, string> = {
  syntax: "URL",
  propType: "string",
  parse: (value, env) => {
    if (value !== "" && !/^https?:\/\/[^\s/]+/.test(value)) {
      throw new ConfigError(`${env}=${JSON.stringify(value)}: want an http(s) URL`);
    }
    return value === "" ? undefined : value;
  },
  fromProp: (value) => value,
};

/**
 * Every setting of the proxy. The key is the field of `ProxyConfig` the setting fills; the order
 * is the order of `--help` and the documentation tables.
 */
export const SCHEMA = {
  listen: setting({
    env: "GOMIRROR_LISTEN",
    flag: "listen",
    kind: hostPort,
    default: "127.0.0.1:3000",
    help: "host:port to listen on",
    managed: "the image's port",
  }),
  storage: setting({
    env: "GOMIRROR_STORAGE",
    flag: "storage",
    kind: storageLocation,
    default: "./.gomirror",
    help: "cache location: a directory, or s3://bucket/prefix",
    managed: "the storage props",
  }),
  proxyList: setting({
    env: "GOPROXY",
    flag: "goproxy",
    kind: goproxy,
    default: "https://proxy.golang.org,direct",
    help: "upstream list: `,` falls through only on 404/410, `|` on any error; `off` refuses; `direct` is the git source",
    prop: "upstreams",
    companions: [
      {
        prop: "upstreamFallback",
        propType: '"not-found" | "any-error"',
        help: "joins `upstreams` with `,` (next entry only after a 404/410, the go command's default) or `|` (after any error)",
        default: '"not-found"',
      },
    ],
  }),
  private: setting({
    env: "GOPRIVATE",
    flag: "goprivate",
    kind: patterns,
    default: "",
    help: "private module path patterns; the default of GONOPROXY and GONOSUMDB",
    prop: "privatePatterns",
  }),
  noProxy: setting({
    env: "GONOPROXY",
    flag: "gonoproxy",
    kind: patterns,
    default: "$GOPRIVATE",
    help: "patterns fetched from their git servers, never from an upstream proxy",
    prop: "noProxy",
  }),
  sumdb: setting({
    env: "GOSUMDB",
    flag: "gosumdb",
    kind: gosumdb,
    default: "sum.golang.org",
    help: "checksum database: `name`, `name+key`, `name+key url`, or `off`",
    prop: "sumdb",
  }),
  noSumdb: setting({
    env: "GONOSUMDB",
    flag: "gonosumdb",
    kind: patterns,
    default: "$GOPRIVATE",
    help: "patterns not checked against the checksum database",
    prop: "noSumdb",
  }),
  cacheTtlSeconds: setting({
    env: "GOMIRROR_CACHE_TTL",
    flag: "cache-ttl",
    kind: seconds(0, 86400 * 30),
    default: "60",
    help: "how long `list`, `@latest` and query `.info` answers stay fresh, in seconds",
    prop: "cacheTtl",
  }),
  upstreamTimeoutSeconds: setting({
    env: "GOMIRROR_UPSTREAM_TIMEOUT",
    flag: "upstream-timeout",
    kind: seconds(1, 3600),
    default: "30",
    help: "how long an upstream may take to answer before it counts as failed, in seconds",
    prop: "upstreamTimeout",
  }),
  upstreamMaxFails: setting({
    env: "GOMIRROR_UPSTREAM_MAX_FAILS",
    flag: "upstream-max-fails",
    kind: count(0, 1000),
    default: "3",
    help: "failures of an upstream within the fail window that make it skipped for the fail timeout, a skip failing at once (0: never)",
    prop: "upstreamMaxFails",
  }),
  upstreamFailWindowSeconds: setting({
    env: "GOMIRROR_UPSTREAM_FAIL_WINDOW",
    flag: "upstream-fail-window",
    kind: seconds(1, 3600),
    default: "30",
    help: "seconds within which `GOMIRROR_UPSTREAM_MAX_FAILS` failures make an upstream skipped",
    prop: "upstreamFailWindow",
  }),
  upstreamFailTimeoutSeconds: setting({
    env: "GOMIRROR_UPSTREAM_FAIL_TIMEOUT",
    flag: "upstream-fail-timeout",
    kind: seconds(1, 3600),
    default: "30",
    help: "seconds a failing upstream is skipped; then one probe request tries it, and its success ends the skipping",
    prop: "upstreamFailTimeout",
  }),
  logLevel: setting({
    env: "GOMIRROR_LOG_LEVEL",
    flag: "log-level",
    kind: oneOf(LOG_LEVELS),
    default: "info",
    help: "log level",
    prop: "logLevel",
  }),
  logFormat: setting({
    env: "GOMIRROR_LOG_FORMAT",
    flag: "log-format",
    kind: oneOf(LOG_FORMATS),
    default: "auto",
    help: "log lines: `json`, `pretty` (one readable line each), or `auto` (pretty when stdout is a terminal, else JSON)",
  }),
  gitRewrite: setting({
    env: "GOMIRROR_GIT_REWRITE",
    flag: "git-rewrite",
    kind: rewrites,
    default: "",
    help: "git URL rewrites like git's `insteadOf`: from a URL prefix to its replacement",
    prop: "gitRewrites",
  }),
  netrcPath: setting({
    env: "NETRC",
    flag: "netrc",
    kind: text,
    default: "",
    help: "path of a netrc file with git credentials",
    managed: "gitCredentials",
  }),
  netrc: setting({
    env: "GOMIRROR_NETRC",
    flag: "netrc-content",
    kind: secretText,
    default: "",
    help: "netrc-format git credentials given inline (from a secret)",
    prop: "gitCredentials",
    managed: "gitCredentials",
    secret: true,
  }),
  gitCacheDir: setting({
    env: "GOMIRROR_GIT_CACHE",
    flag: "git-cache",
    kind: text,
    default: "",
    help: "the git cache, a bare repository per git remote kept across restarts (not set: `gomirror-git-<uid>` in the temp directory)",
  }),
  gitSshKey: setting({
    env: "GOMIRROR_GIT_SSH_KEY",
    flag: "git-ssh-key",
    kind: text,
    default: "",
    help: "private key file for `ssh://` git remotes (a mounted secret); needs `GOMIRROR_GIT_KNOWN_HOSTS`",
  }),
  gitKnownHosts: setting({
    env: "GOMIRROR_GIT_KNOWN_HOSTS",
    flag: "git-known-hosts",
    kind: text,
    default: "",
    help: "known_hosts file that `ssh://` git remotes are checked against",
  }),
  s3Endpoint: setting({
    env: "GOMIRROR_S3_ENDPOINT",
    flag: "s3-endpoint",
    kind: httpUrl,
    default: "",
    help: "S3-compatible endpoint URL (MinIO and similar)",
    managed: "the storage props",
  }),
  s3ForcePathStyle: setting({
    env: "GOMIRROR_S3_FORCE_PATH_STYLE",
    flag: "s3-force-path-style",
    kind: bool,
    default: "false",
    help: "address S3 buckets by path instead of by host name",
    managed: "the storage props",
  }),
  s3Region: setting({
    env: "GOMIRROR_S3_REGION",
    flag: "s3-region",
    kind: text,
    default: "",
    help: "S3 region (else the AWS SDK's default chain)",
    managed: "the storage props",
  }),
  diskMaxBytes: setting({
    env: "GOMIRROR_DISK_MAX",
    flag: "disk-max",
    kind: bytes({ zeroMeans: "no limit" }),
    default: "0",
    help: "disk storage only: past this size the least recently served zips are removed, down to 90% of it (0: no limit)",
    prop: "diskMax",
  }),
  s3LastRequested: setting({
    env: "GOMIRROR_S3_LAST_REQUESTED",
    flag: "s3-last-requested",
    kind: bool,
    default: "false",
    help: "S3 storage only: a module file read a day or more after it was written is copied onto itself, so a lifecycle rule can expire what nobody requests",
  }),
  zipRedirect: setting({
    env: "GOMIRROR_ZIP_REDIRECT",
    flag: "zip-redirect",
    kind: bool,
    default: "false",
    help: "answer `.zip` requests with a redirect to a presigned S3 URL (S3 storage only)",
    prop: "zipRedirect",
  }),
  shutdownGraceSeconds: setting({
    env: "GOMIRROR_SHUTDOWN_GRACE",
    flag: "shutdown-grace",
    kind: seconds(0, 3600),
    default: "25",
    help: "seconds SIGTERM waits for in-flight requests and downloads",
  }),
  shutdownDelaySeconds: setting({
    env: "GOMIRROR_SHUTDOWN_DELAY",
    flag: "shutdown-delay",
    kind: seconds(0, 300),
    default: "0",
    help: "seconds the proxy keeps serving after SIGTERM with `/readyz` failing, so load balancers stop sending first",
  }),
  workers: setting({
    env: "GOMIRROR_WORKERS",
    flag: "workers",
    kind: workerCount,
    default: "1",
    help: "server processes sharing the port (`auto`: one per CPU); single-flight and the memory cache are per process",
  }),
  spoolMaxBytes: setting({
    env: "GOMIRROR_SPOOL_MAX",
    flag: "spool-max",
    kind: bytes(),
    default: formatBytes(DEFAULT_SPOOL_MAX_BYTES),
    help: "bytes of downloads in progress at once (spooled in the temp directory; a zip up to 1 MiB in memory); a cold fetch beyond it answers 503",
    prop: "spoolMax",
  }),
  memoryCacheBytes: setting({
    env: "GOMIRROR_MEMORY_CACHE",
    flag: "memory-cache",
    kind: bytes({ zeroMeans: "no memory cache" }),
    default: "64MiB",
    help: "memory per process for small immutable files (`.info`, `.mod`, zips up to 1 MiB) so hot hits skip storage; 0 turns it off",
    prop: "memoryCache",
  }),
  prefetch: setting({
    env: "GOMIRROR_PREFETCH",
    flag: "prefetch",
    kind: oneOf(PREFETCH_MODES),
    default: "zip",
    help: "what a cold `.info` or `.mod` also fetches in the background: `zip` (the version's other files and zip), `mod` (`.info` and `.mod` only), `off`",
    prop: "prefetch",
  }),
  authFile: setting({
    env: "GOMIRROR_AUTH_FILE",
    flag: "auth-file",
    kind: text,
    default: "",
    help: "client token file (`gomirror token add`): every request but `/healthz` and `/readyz` needs a token; re-read when it changes",
    managed: "auth",
  }),
  authSecret: setting({
    env: "GOMIRROR_AUTH_SECRET",
    flag: "auth-secret",
    kind: text,
    default: "",
    help: "the client token file kept in AWS Secrets Manager (ARN or name), read again every 30 seconds; instead of `GOMIRROR_AUTH_FILE`",
    managed: "auth",
  }),
  anonymous: setting({
    env: "GOMIRROR_ANONYMOUS",
    flag: "anonymous",
    kind: oneOf(["none", "public"] as const),
    default: "none",
    help: "with client tokens, what clients without one may read: `none`, or `public` (public modules and `/sumdb/`, never a private path)",
    prop: "anonymous",
  }),
  allowCidrs: setting({
    env: "GOMIRROR_ALLOW_CIDRS",
    flag: "allow-cidrs",
    kind: cidrList,
    default: "",
    help: "IPv4 and IPv6 CIDR blocks of the clients let in; others get 403 (not set: every address)",
  }),
  trustedProxies: setting({
    env: "GOMIRROR_TRUSTED_PROXIES",
    flag: "trusted-proxies",
    kind: cidrList,
    default: "",
    help: "CIDR blocks of load balancers whose `X-Forwarded-For` names the client (not set: the socket's address counts)",
    managed: "the load balancer or ingress in front of the proxy",
  }),
  tlsCert: setting({
    env: "GOMIRROR_TLS_CERT",
    flag: "tls-cert",
    kind: text,
    default: "",
    help: "PEM certificate chain file: serve HTTPS (with `GOMIRROR_TLS_KEY`); re-read when it changes",
    managed: "tls",
  }),
  tlsKey: setting({
    env: "GOMIRROR_TLS_KEY",
    flag: "tls-key",
    kind: text,
    default: "",
    help: "PEM private key file of `GOMIRROR_TLS_CERT`; re-read when it changes",
    managed: "tls",
  }),
  metricsListen: setting({
    env: "GOMIRROR_METRICS_LISTEN",
    flag: "metrics-listen",
    kind: optionalHostPort,
    default: "",
    help: "host:port of a second listener serving only `/metrics`, without a token (not set: none)",
  }),
};

export type Schema = typeof SCHEMA;
export type SettingKey = keyof Schema;

/** The settings in declaration order. */
export const SETTINGS: readonly SettingSpec<unknown, never>[] = Object.values(SCHEMA) as SettingSpec<
  unknown,
  never
>[];

/** The setting read from environment variable `env`, if there is one. */
export function settingByEnv(env: string): SettingSpec<unknown, never> | undefined {
  return SETTINGS.find((s) => s.env === env);
}
