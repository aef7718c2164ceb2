import { parseArgs } from "node:util";
import { ConfigError } from "./settings/kinds";
import { SCHEMA, SETTINGS, type Schema, type SettingSpec } from "./settings/schema";

export { ConfigError } from "./settings/kinds";
export { SETTINGS } from "./settings/schema";

type ValueOf<S> = S extends SettingSpec<infer T, infer _P> ? T : never;

/**
 * Every setting of the proxy, validated once at startup: one field per entry of the settings
 * schema (`lib/proxy/settings/schema.ts`), typed by that entry's kind. Settings come from
 * environment variables (the go command's own names where one exists) and from flags, flags
 * winning.
 */
export type ProxyConfig = { readonly [K in keyof Schema]: ValueOf<Schema[K]> };

export interface ConfigSources {
  readonly env: NodeJS.ProcessEnv;
  /** Command-line arguments after the subcommand. */
  readonly argv: readonly string[];
}

/** Flags for `node:util` parseArgs, derived from the schema. */
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
  const given = (setting: SettingSpec<unknown, never>): string | undefined => {
    const flag = flags[setting.flag];
    if (typeof flag === "string") return flag;
    const value = env[setting.env];
    return value === undefined || value === "" ? undefined : value;
  };
  const text = (setting: SettingSpec<unknown, never>): string => {
    const value = given(setting);
    if (value !== undefined) return value;
    if (!setting.default.startsWith("$")) return setting.default;
    // A default naming another setting takes that setting's value as given (GONOPROXY=$GOPRIVATE).
    const other = SETTINGS.find((s) => s.env === setting.default.slice(1))!;
    return given(other) ?? "";
  };
  const config = Object.fromEntries(
    Object.entries(SCHEMA).map(([key, setting]) => {
      const spec = setting as SettingSpec<unknown, never>;
      return [key, spec.kind.parse(text(spec), spec.env)];
    }),
  ) as ProxyConfig;
  const explicit = new Set(
    SETTINGS.filter((setting) => given(setting) !== undefined).map((setting) => setting.env),
  );
  checkTogether(config, explicit);
  return config;
}

/** Settings that only make sense with, or without, another. `explicit` holds the variables given. */
function checkTogether(config: ProxyConfig, explicit: ReadonlySet<string>): void {
  if (config.zipRedirect && !config.storage.startsWith("s3://")) {
    throw new ConfigError(
      `GOMIRROR_ZIP_REDIRECT=true needs S3 storage, but GOMIRROR_STORAGE=${JSON.stringify(config.storage)}`,
    );
  }
  if (config.diskMaxBytes > 0 && config.storage.startsWith("s3://")) {
    throw new ConfigError(
      `GOMIRROR_DISK_MAX limits disk storage, but GOMIRROR_STORAGE=${JSON.stringify(config.storage)}; ` +
        "bound an S3 bucket with a lifecycle rule (see GOMIRROR_S3_LAST_REQUESTED) and unset GOMIRROR_DISK_MAX",
    );
  }
  if (config.s3LastRequested && !config.storage.startsWith("s3://")) {
    throw new ConfigError(
      `GOMIRROR_S3_LAST_REQUESTED=true needs S3 storage, but GOMIRROR_STORAGE=${JSON.stringify(config.storage)}; ` +
        "bound a disk store with GOMIRROR_DISK_MAX instead",
    );
  }
  for (const [set, unset] of [
    ["GOMIRROR_TLS_CERT", "GOMIRROR_TLS_KEY"],
    ["GOMIRROR_TLS_KEY", "GOMIRROR_TLS_CERT"],
  ] as const) {
    if (explicit.has(set) && !explicit.has(unset)) {
      throw new ConfigError(
        `${set} is set but ${unset} is not: HTTPS needs both the certificate and its key`,
      );
    }
  }
  if (config.authFile !== undefined && config.authSecret !== undefined) {
    throw new ConfigError(
      "GOMIRROR_AUTH_FILE and GOMIRROR_AUTH_SECRET both name the token file; keep one (a file, or a Secrets Manager secret)",
    );
  }
  if (
    explicit.has("GOMIRROR_ANONYMOUS") &&
    config.authFile === undefined &&
    config.authSecret === undefined
  ) {
    throw new ConfigError(
      `GOMIRROR_ANONYMOUS=${config.anonymous} needs GOMIRROR_AUTH_FILE: without a token file every client may read ` +
        "everything (GOMIRROR_AUTH_SECRET names one in Secrets Manager)",
    );
  }
  if (config.gitSshKey !== undefined && config.gitKnownHosts === undefined) {
    throw new ConfigError(
      "GOMIRROR_GIT_SSH_KEY is set but GOMIRROR_GIT_KNOWN_HOSTS is not: ssh:// git remotes are only used " +
        "with the host keys they must have (a known_hosts file, e.g. from `ssh-keyscan`, checked by you)",
    );
  }
  const metrics = config.metricsListen;
  const listen = config.listen;
  if (metrics && metrics.port !== 0 && metrics.port === listen.port && metrics.host === listen.host) {
    throw new ConfigError(
      `GOMIRROR_METRICS_LISTEN=${metrics.host}:${metrics.port} is GOMIRROR_LISTEN itself; give it its own port`,
    );
  }
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
    return `${left.padEnd(48)} ${s.help.replace(/`/g, "")}${def}`;
  });
  return lines.join("\n");
}
