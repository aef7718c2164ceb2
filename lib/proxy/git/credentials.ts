import { readFileSync } from "node:fs";
import { ProxyError } from "../errors";

/**
 * Per-host credentials in netrc format (what the go command and git/curl read from ~/.netrc):
 * `machine <host> login <user> password <token>` entries and an optional `default` entry.
 * The go command itself ignores `default`; git (through curl) honours it, and so do we.
 *
 * Credentials are matched on the host name alone (no port), as the go command does, and are
 * only ever handed to a request for that host: the HTTP client drops them on any redirect that
 * leaves the original scheme, host and port.
 */
export interface Credential {
  readonly login: string;
  readonly password: string;
}

export interface Credentials {
  /** The credential for `host` (a host name, optionally with `:port`), if any. */
  forHost(host: string): Credential | undefined;
  /** Hosts that have an explicit entry (for startup logging; never the secrets). */
  readonly hosts: readonly string[];
}

export const noCredentials: Credentials = { forHost: () => undefined, hosts: [] };

/** Parses netrc text. Tokens are whitespace-separated; `macdef` bodies are skipped. */
export function parseNetrc(text: string): Credentials {
  const machines = new Map<string, Credential>();
  let fallback: Credential | undefined;
  let current: { machine?: string; isDefault: boolean; login?: string; password?: string } | undefined;
  const flush = (): void => {
    if (current?.login !== undefined && current.password !== undefined) {
      const cred = { login: current.login, password: current.password };
      if (current.isDefault) fallback ??= cred;
      else if (current.machine && !machines.has(current.machine.toLowerCase())) {
        machines.set(current.machine.toLowerCase(), cred);
      }
    }
  };
  let inMacro = false;
  for (const line of text.split("\n")) {
    if (inMacro) {
      if (line.trim() === "") inMacro = false;
      continue;
    }
    const f = line
      .trim()
      .split(/\s+/)
      .filter((t) => t !== "");
    for (let i = 0; i < f.length; i++) {
      switch (f[i]) {
        case "machine":
          flush();
          current = { machine: f[++i], isDefault: false };
          break;
        case "default":
          flush();
          current = { isDefault: true };
          break;
        case "login":
          if (current) current.login = f[++i];
          else i++;
          break;
        case "password":
          if (current) current.password = f[++i];
          else i++;
          break;
        case "account":
          i++;
          break;
        case "macdef":
          inMacro = true;
          i = f.length;
          break;
        default:
          break;
      }
    }
  }
  flush();
  return {
    forHost(host: string) {
      const name = hostName(host);
      return machines.get(host.toLowerCase()) ?? machines.get(name) ?? fallback;
    },
    hosts: [...machines.keys()],
  };
}

/**
 * Credentials from the environment: `GOMIRROR_NETRC` (netrc content, e.g. mounted from a secret)
 * takes precedence over `NETRC` (a netrc file path). Neither set: no credentials.
 */
export function credentialsFromEnv(env: NodeJS.ProcessEnv): Credentials {
  if (env.GOMIRROR_NETRC && env.GOMIRROR_NETRC.trim() !== "") return parseNetrc(env.GOMIRROR_NETRC);
  if (env.NETRC) {
    let text: string;
    try {
      text = readFileSync(env.NETRC, "utf8");
    } catch (err) {
      throw new ProxyError(
        "invalid",
        `NETRC=${env.NETRC} cannot be read (${(err as NodeJS.ErrnoException).code ?? "error"}): ` +
          "point it at a readable netrc file or unset it",
      );
    }
    return parseNetrc(text);
  }
  return noCredentials;
}

/** The HTTP Basic `Authorization` header value for a credential. */
export function basicAuth(cred: Credential): string {
  return `Basic ${Buffer.from(`${cred.login}:${cred.password}`, "utf8").toString("base64")}`;
}

/** A URL fit for logs and error messages: user info, query and fragment removed. */
export function redactURL(url: string): string {
  try {
    const u = new URL(url);
    u.username = "";
    u.password = "";
    u.search = "";
    u.hash = "";
    return u.toString();
  } catch {
    return "<unparseable URL>";
  }
}

function hostName(host: string): string {
  const h = host.toLowerCase();
  if (h.startsWith("[")) return h.slice(0, h.indexOf("]") + 1);
  const colon = h.lastIndexOf(":");
  return colon >= 0 ? h.slice(0, colon) : h;
}
