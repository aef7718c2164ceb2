import { checkProxyEnvironment } from "../config";
import { ConfigError } from "./kinds";
import type { ProxySettings } from "./props";
import { SETTINGS, settingByEnv, type SettingSpec } from "./schema";

/**
 * The one mapping from construct props to the proxy's environment, used by the AWS and the
 * Kubernetes construct alike: typed props become the variables the schema names, `environment`
 * adds the rest, and the result is checked with the proxy's own startup code, so a value the
 * proxy would refuse fails at synth instead of in a crash-looping task.
 */
export interface EnvironmentOptions {
  /**
   * Variables the construct sets itself (listen address, storage, shutdown timing), with their
   * values. They are part of the result and of the check; `environment` may not set them.
   */
  readonly managed: Readonly<Record<string, string>>;
  /** The construct's name, for messages: "GoMirror", "GoMirrorKubernetes". */
  readonly construct: string;
  /** Written before prop names in messages: "proxy." on Kubernetes, "" on AWS. */
  readonly propPath?: string;
  /**
   * Whether a value is only known at deploy time (a CDK token); such values are checked through
   * `standIns` of the same shape, or not at all.
   */
  readonly isUnresolved?: (value: string) => boolean;
  readonly standIns?: Readonly<Record<string, string>>;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

type PropValues = Readonly<Record<string, unknown>>;

/** The value of one setting's prop as environment text, or undefined when the prop is not set. */
function propText(
  setting: SettingSpec<unknown, never>,
  settings: PropValues,
  path: string,
): string | undefined {
  if (setting.prop === undefined || setting.secret) return undefined;
  const value = settings[setting.prop];
  if (value === undefined) {
    const orphan = setting.companions?.find((c) => settings[c.prop] !== undefined);
    if (orphan) {
      throw new ConfigError(
        `${path}${orphan.prop} needs ${path}${setting.prop}: it applies to the entries of that list`,
      );
    }
    return undefined;
  }
  const textValue = (setting.kind.fromProp as (v: unknown, what: string) => string)(
    value,
    `${path}${setting.prop}`,
  );
  // GOPROXY's companion chooses the separator between the entries.
  return settings.upstreamFallback === "any-error" && setting.env === "GOPROXY"
    ? textValue.replace(/,/g, "|")
    : textValue;
}

/**
 * The proxy's environment for a deployment: `managed` variables, then every typed prop that is
 * set, then `settings.environment`.
 * @throws ConfigError naming the prop or variable and what to do instead
 */
export function toEnvironment(settings: ProxySettings, options: EnvironmentOptions): Record<string, string> {
  const path = options.propPath ?? "";
  const env: Record<string, string> = { ...options.managed };
  const fromProps = new Map<string, string>();
  for (const setting of SETTINGS) {
    const value = propText(setting, settings as PropValues, path);
    if (value === undefined) continue;
    if (setting.env in options.managed) {
      throw new ConfigError(
        `${path}${setting.prop} sets ${setting.env}, which ${options.construct} sets itself`,
      );
    }
    env[setting.env] = value;
    fromProps.set(setting.env, setting.prop!);
  }
  for (const [name, value] of Object.entries(settings.environment ?? {})) {
    if (!ENV_NAME.test(name)) {
      throw new ConfigError(
        `${path}environment key ${JSON.stringify(name)} is not an environment variable name`,
      );
    }
    const setting = settingByEnv(name);
    if (name in options.managed || setting?.managed !== undefined) {
      const from = setting?.managed === undefined ? "" : `, from ${setting.managed}`;
      throw new ConfigError(
        `${path}environment.${name} is set by ${options.construct} itself${from}; remove it from ${path}environment`,
      );
    }
    const prop = fromProps.get(name);
    if (prop !== undefined) {
      throw new ConfigError(
        `environment variable ${name} is set twice; remove it from ${path}environment and keep ${path}${prop}`,
      );
    }
    env[name] = value;
  }
  check(env, options, fromProps, path);
  return env;
}

/** Runs the proxy's own parser over what is known at synth time. */
function check(
  env: Record<string, string>,
  options: EnvironmentOptions,
  fromProps: Map<string, string>,
  path: string,
): void {
  const known: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (!options.isUnresolved?.(value)) known[name] = value;
    else if (options.standIns?.[name] !== undefined) known[name] = options.standIns[name];
  }
  try {
    checkProxyEnvironment(known);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const name = /^([A-Z_][A-Z0-9_]*)=/.exec(err.message)?.[1];
    const prop = name === undefined ? undefined : fromProps.get(name);
    const from = prop === undefined ? "" : ` (from ${path}${prop})`;
    throw new ConfigError(`the proxy would refuse its settings: ${err.message}${from}`);
  }
}
