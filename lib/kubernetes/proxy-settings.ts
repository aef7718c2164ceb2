import { ConfigError } from "../proxy/settings/kinds";
import { toEnvironment } from "../proxy/settings/environment";
import type { ProxySettings } from "../proxy/settings/props";
import type { EnvVar, PodParts } from "./pod-parts";
import { fail } from "./validation";

export type { ProxySettings } from "../proxy/settings/props";
export type { LogLevel } from "../proxy/settings/schema";

/**
 * The env entries for the proxy's settings. `others` are the variables the rest of the pod
 * already sets (address, storage, credentials): they take part in the check, which is the
 * proxy's own startup code, and `proxy.environment` may not repeat them. Values from Secrets
 * are only known in the cluster and stay out of the check.
 */
export function proxySettingsPodParts(settings: ProxySettings, others: readonly EnvVar[]): PodParts {
  const managed: Record<string, string> = {};
  for (const e of others) if (typeof e.value === "string") managed[e.name] = e.value;
  let env: Record<string, string>;
  try {
    env = toEnvironment(settings, { managed, construct: "GoMirrorKubernetes", propPath: "proxy." });
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message);
    throw err;
  }
  const entries = Object.entries(env).filter(([name]) => !(name in managed));
  return { env: entries.map(([name, value]) => ({ name, value })), volumes: [], volumeMounts: [] };
}
