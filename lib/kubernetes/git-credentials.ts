import { GIT_CREDENTIALS_DIR } from "./image-contract";
import { type EnvVar, type PodParts, type Volume, type VolumeMount, secretKeyEnv } from "./pod-parts";
import { checkDnsSubdomain, checkHostname, checkSecretKey, fail } from "./validation";

/**
 * Credentials for private git servers, read from a Secret that already exists in the namespace
 * (created by your secret manager, sealed-secrets, external-secrets...). The construct never
 * sees the values: it only refers to the Secret's keys.
 *
 * Give either `netrcKey` (a whole netrc file) or `tokenKey` (one access token for `tokenHosts`).
 * There is no SSH key option: the proxy's git client fetches over HTTP(S) only.
 */
export interface GitCredentialsOptions {
  /** Name of the existing Secret. */
  readonly secretName: string;
  /**
   * Key holding a netrc file. It is mounted read-only as a file and `NETRC` points at it.
   * @default none
   */
  readonly netrcKey?: string;
  /**
   * Key holding an access token (GitHub/GitLab personal or app token). The pod gets a netrc entry
   * `machine <host> login <tokenUsername> password <token>` for each of `tokenHosts`
   * through `GOMIRROR_NETRC`, built with Kubernetes' `$(VAR)` expansion so the token stays in the Secret.
   * @default none
   */
  readonly tokenKey?: string;
  /**
   * The git hosts the token is sent to. Required with `tokenKey`.
   * @default none
   */
  readonly tokenHosts?: string[];
  /**
   * The login paired with the token. GitHub accepts any name with a token; `x-access-token`
   * also works for GitHub App tokens, GitLab accepts any non-empty name.
   * @default "x-access-token"
   */
  readonly tokenUsername?: string;
}

const NETRC_VOLUME = "git-netrc";
/** Only feeds the `$(...)` expansion of GOMIRROR_NETRC; the proxy does not read it. */
export const GIT_TOKEN_ENV = "GOMIRROR_GIT_TOKEN";

function validate(o: GitCredentialsOptions): void {
  checkDnsSubdomain(o.secretName, "gitCredentials.secretName");
  for (const key of ["netrcKey", "tokenKey"] as const) {
    const value = o[key];
    if (value !== undefined) checkSecretKey(value, `gitCredentials.${key}`);
  }
  if (o.netrcKey !== undefined && o.tokenKey !== undefined) {
    fail(
      `gitCredentials has both netrcKey and tokenKey; give one: put every host in the netrc file, or use a token`,
    );
  }
  if (o.netrcKey === undefined && o.tokenKey === undefined) {
    fail(`gitCredentials names Secret "${o.secretName}" but no key in it; set netrcKey or tokenKey`);
  }
  if (o.tokenKey !== undefined && (o.tokenHosts === undefined || o.tokenHosts.length === 0)) {
    fail(`gitCredentials.tokenKey needs tokenHosts, the git hosts the token is for (e.g. ["github.com"])`);
  }
  if (o.tokenKey === undefined && o.tokenHosts !== undefined) {
    fail(`gitCredentials.tokenHosts is set without tokenKey; name the Secret key that holds the token`);
  }
  o.tokenHosts?.forEach((h, i) => checkHostname(h, `gitCredentials.tokenHosts[${i}]`));
  if (o.tokenUsername !== undefined && !/^[^\s]+$/.test(o.tokenUsername)) {
    fail(`gitCredentials.tokenUsername "${o.tokenUsername}" must be one word without spaces`);
  }
}

/** Env, volumes and mounts that hand the credentials to the proxy. */
export function gitCredentialsPodParts(o: GitCredentialsOptions | undefined): PodParts {
  if (o === undefined) return { env: [], volumes: [], volumeMounts: [] };
  validate(o);
  const env: EnvVar[] = [];
  const volumes: Volume[] = [];
  const volumeMounts: VolumeMount[] = [];
  if (o.netrcKey !== undefined) {
    volumes.push({
      name: NETRC_VOLUME,
      // 0440: the kubelet makes the file group-owned by the pod's fsGroup (the proxy's group).
      secret: { secretName: o.secretName, items: [{ key: o.netrcKey, path: "netrc", mode: "0440" }] },
    });
    volumeMounts.push({ name: NETRC_VOLUME, mountPath: GIT_CREDENTIALS_DIR, readOnly: true });
    env.push({ name: "NETRC", value: `${GIT_CREDENTIALS_DIR}/netrc` });
  }
  if (o.tokenKey !== undefined) {
    const login = o.tokenUsername ?? "x-access-token";
    env.push(secretKeyEnv(GIT_TOKEN_ENV, o.secretName, o.tokenKey));
    const lines = (o.tokenHosts ?? []).map(
      (host) => `machine ${host} login ${login} password $(${GIT_TOKEN_ENV})`,
    );
    env.push({ name: "GOMIRROR_NETRC", value: lines.join("\n") });
  }
  return { env, volumes, volumeMounts };
}
