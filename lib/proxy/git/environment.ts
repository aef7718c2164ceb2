import { chmodSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Credential } from "./credentials";

/**
 * The environment every git process runs in: nothing inherited that could change what git does
 * (no GIT_* variable, no system or user configuration, a private HOME), prompts switched off,
 * only the transports a repository needs allowed, and credentials handed over in a way that
 * keeps them off every command line:
 * - HTTP(S): GIT_ASKPASS names a small Node script (written here, run by git directly, not by a
 *   shell) that answers git's username and password prompts from variables of this process's
 *   environment, and only for the origin (scheme, host, port) the credential belongs to. A
 *   redirect to another origin gets no credential.
 * - SSH: GIT_SSH names a Node script that runs `ssh` with no configuration files, batch mode,
 *   strict host key checking against the configured known_hosts, and the configured key only.
 */

/** Variables passed through from the proxy's own environment: where programs are, proxies, CAs. */
const PASSED_THROUGH = [
  "PATH",
  "http_proxy",
  "https_proxy",
  "no_proxy",
  "HTTP_PROXY",
  "HTTPS_PROXY",
  "NO_PROXY",
  "ALL_PROXY",
  "all_proxy",
  "SSL_CERT_FILE",
  "SSL_CERT_DIR",
];

export interface SshSettings {
  /** Private key file (GOMIRROR_GIT_SSH_KEY). */
  readonly keyFile?: string;
  /** known_hosts file (GOMIRROR_GIT_KNOWN_HOSTS); without it ssh:// is refused. */
  readonly knownHostsFile?: string;
}

/** The helper scripts, written once into a private directory. */
export interface GitHelpers {
  /** HOME of git processes (empty of configuration). */
  readonly home: string;
  readonly askpass: string;
  readonly ssh: string;
}

const ASKPASS = `
const m = /^(Username|Password) for '([^']*)'/.exec(process.argv[2] || "");
const env = process.env;
let origin = "";
try { origin = m ? new URL(m[2]).origin : ""; } catch { origin = ""; }
if (!m || origin === "" || origin !== env.GOMIRROR_GIT_CREDENTIAL_ORIGIN) process.exit(1);
const value = m[1] === "Username" ? env.GOMIRROR_GIT_CREDENTIAL_LOGIN : env.GOMIRROR_GIT_CREDENTIAL_PASSWORD;
if (value === undefined) process.exit(1);
process.stdout.write(value + "\\n");
`;

const SSH = `
const { spawn } = require("node:child_process");
const env = process.env;
const quote = (p) => '"' + p + '"';
const args = [
  "-F", "none",
  "-T",
  "-o", "BatchMode=yes",
  "-o", "StrictHostKeyChecking=yes",
  "-o", "UserKnownHostsFile=" + quote(env.GOMIRROR_GIT_SSH_KNOWN_HOSTS || "none"),
  "-o", "GlobalKnownHostsFile=none",
  "-o", "UpdateHostKeys=no",
  "-o", "ControlMaster=no",
  "-o", "PasswordAuthentication=no",
  "-o", "KbdInteractiveAuthentication=no",
  "-o", "ConnectTimeout=30",
  "-o", "ServerAliveInterval=15",
  "-o", "ServerAliveCountMax=4",
  "-o", "IdentitiesOnly=yes",
];
if (env.GOMIRROR_GIT_SSH_KEY) args.push("-o", "IdentityFile=" + quote(env.GOMIRROR_GIT_SSH_KEY));
const child = spawn("ssh", args.concat(process.argv.slice(2)), { stdio: "inherit" });
child.on("error", (err) => {
  process.stderr.write("gomirror: cannot run ssh: " + err.message + "\\n");
  process.exit(255);
});
child.on("exit", (code, signal) => process.exit(code === null ? 255 : code));
for (const s of ["SIGTERM", "SIGINT", "SIGHUP"]) process.on(s, () => child.kill(s));
`;

/** Writes the helper scripts into `dir` (replacing older ones atomically) and returns their paths. */
export function writeGitHelpers(dir: string, nodeBinary = process.execPath): GitHelpers {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const put = (name: string, body: string): string => {
    const file = path.join(dir, name);
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, `#!${nodeBinary}\n${body}`, { mode: 0o700 });
    chmodSync(tmp, 0o700);
    renameSync(tmp, file);
    return file;
  };
  return { home: dir, askpass: put("askpass.js", ASKPASS), ssh: put("ssh.js", SSH) };
}

export type Transport = "https" | "http" | "ssh";

export interface RepoEnvironmentOptions {
  readonly helpers: GitHelpers;
  readonly transport: Transport;
  /** The credential for `origin` (the URL's scheme, host and port) only. */
  readonly credential?: { readonly origin: string } & Credential;
  readonly ssh?: SshSettings;
}

/** The complete environment of the git processes working on one repository. */
export function repoEnvironment(options: RepoEnvironmentOptions, from = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const name of PASSED_THROUGH) if (from[name] !== undefined) env[name] = from[name];
  const config: [string, string][] = [
    ["protocol.allow", "never"],
    [`protocol.${options.transport}.allow`, "always"],
    ["credential.helper", ""],
    ["gc.auto", "0"],
    ["maintenance.auto", "false"],
    ["init.defaultBranch", "main"],
    // Every fetch is kept as one pack, which git renames into place whole: a fetch killed
    // halfway leaves no loose objects behind.
    ["fetch.unpackLimit", "1"],
    ["transfer.unpackLimit", "1"],
    ["core.hooksPath", "/dev/null"],
    // A transfer that stalls below 1 kB/s for a minute is given up (beside the deadline).
    ["http.lowSpeedLimit", "1000"],
    ["http.lowSpeedTime", "60"],
  ];
  Object.assign(env, {
    HOME: options.helpers.home,
    XDG_CONFIG_HOME: path.join(options.helpers.home, ".config"),
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
    GIT_TERMINAL_PROMPT: "0",
    GIT_ASKPASS: options.helpers.askpass,
    GIT_SSH: options.helpers.ssh,
    GIT_SSH_VARIANT: "ssh",
    LC_ALL: "C",
    LANG: "C",
    GIT_CONFIG_COUNT: String(config.length),
  });
  config.forEach(([key, value], i) => {
    env[`GIT_CONFIG_KEY_${i}`] = key;
    env[`GIT_CONFIG_VALUE_${i}`] = value;
  });
  if (options.credential) {
    env.GOMIRROR_GIT_CREDENTIAL_ORIGIN = options.credential.origin;
    env.GOMIRROR_GIT_CREDENTIAL_LOGIN = options.credential.login;
    env.GOMIRROR_GIT_CREDENTIAL_PASSWORD = options.credential.password;
  }
  if (options.ssh?.knownHostsFile) env.GOMIRROR_GIT_SSH_KNOWN_HOSTS = options.ssh.knownHostsFile;
  if (options.ssh?.keyFile) env.GOMIRROR_GIT_SSH_KEY = options.ssh.keyFile;
  return env;
}
