import { GIT_CREDENTIALS_DIR, SSH_DIR } from "./image-contract";
import { type EnvVar, type PodParts, type Volume, type VolumeMount, secretKeyEnv } from "./pod-parts";
import { checkDnsSubdomain, checkHostname, checkSecretKey, fail } from "./validation";

/**
 * Credentials for private git servers, read from a Secret that already exists in the namespace
 * (created by your secret manager, sealed-secrets, external-secrets...). The construct never
 * sees the values: it only refers to the Secret's keys.
 *
 * Give either `netrcKey` (a whole netrc file) or `tokenKey` (one access token for `tokenHosts`);
 * an SSH key can come on top.
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
  /**
   * Key holding an SSH private key, mounted read-only with mode 0400 and used by `GIT_SSH_COMMAND`.
   * @default none
   */
  readonly sshPrivateKeyKey?: string;
  /**
   * Key holding a known_hosts file for SSH host key checking. Required with `sshPrivateKeyKey`:
   * without it every host key would have to be trusted blindly.
   * @default none
   */
  readonly sshKnownHostsKey?: string;
}

const NETRC_VOLUME = "git-netrc";
const SSH_VOLUME = "git-ssh";
/** Only feeds the `$(...)` expansion of GOMIRROR_NETRC; the proxy does not read it. */
export const GIT_TOKEN_ENV = "GOMIRROR_GIT_TOKEN";

function validate(o: GitCredentialsOptions): void {
  checkDnsSubdomain(o.secretName, "gitCredentials.secretName");
  for (const key of ["netrcKey", "tokenKey", "sshPrivateKeyKey", "sshKnownHostsKey"] as const) {
    const value = o[key];
    if (value !== undefined) checkSecretKey(value, `gitCredentials.${key}`);
  }
  if (o.netrcKey !== undefined && o.tokenKey !== undefined) {
    fail(
      `gitCredentials has both netrcKey and tokenKey; give one: put every host in the netrc file, or use a token`,
    );
  }
  if (o.netrcKey === undefined && o.tokenKey === undefined && o.sshPrivateKeyKey === undefined) {
    fail(
      `gitCredentials names Secret "${o.secretName}" but no key in it; set netrcKey, tokenKey or sshPrivateKeyKey`,
    );
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
  if (o.sshPrivateKeyKey !== undefined && o.sshKnownHostsKey === undefined) {
    fail(
      `gitCredentials.sshPrivateKeyKey needs sshKnownHostsKey: add the git hosts' keys (ssh-keyscan) to the Secret`,
    );
  }
  if (o.sshPrivateKeyKey === undefined && o.sshKnownHostsKey !== undefined) {
    fail(`gitCredentials.sshKnownHostsKey is set without sshPrivateKeyKey`);
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
  if (o.sshPrivateKeyKey !== undefined && o.sshKnownHostsKey !== undefined) {
    volumes.push({
      name: SSH_VOLUME,
      secret: {
        secretName: o.secretName,
        defaultMode: "0400",
        items: [
          { key: o.sshPrivateKeyKey, path: "id_key", mode: "0400" },
          { key: o.sshKnownHostsKey, path: "known_hosts", mode: "0444" },
        ],
      },
    });
    volumeMounts.push({ name: SSH_VOLUME, mountPath: SSH_DIR, readOnly: true });
    env.push({
      name: "GIT_SSH_COMMAND",
      value:
        `ssh -i ${SSH_DIR}/id_key -o IdentitiesOnly=yes ` +
        `-o UserKnownHostsFile=${SSH_DIR}/known_hosts -o StrictHostKeyChecking=yes`,
    });
  }
  return { env, volumes, volumeMounts };
}
