import { unescapePath } from "../module/escape";
import { matchPrefixPatterns } from "../module/glob";
import { parseRoute, type Route } from "../http/routes";
import { ALL_PATHS, type TokenRecord } from "./token";

/**
 * What a client may read. Private paths (GONOPROXY or GOPRIVATE patterns, the ones fetched with
 * the team's git credentials) only inside a token's scopes; public modules and the checksum
 * database proxy by every valid token, and by anonymous clients when GOMIRROR_ANONYMOUS=public;
 * `/metrics` only with a token.
 */

export type Anonymous = "none" | "public";

export type Decision =
  | { readonly allowed: true }
  /** A private path outside the token's scopes, or what anonymous clients may not read. */
  | { readonly allowed: false; readonly path: string | undefined };

const ALLOWED: Decision = { allowed: true };

export class AccessPolicy {
  constructor(
    /** Comma-separated patterns of private module paths. */
    private readonly privatePatterns: string,
    private readonly anonymous: Anonymous,
  ) {}

  isPrivate(path: string): boolean {
    return matchPrefixPatterns(this.privatePatterns, path);
  }

  /** Whether the holder of `token` (undefined: anonymous) may read module `path` (what /index lists). */
  mayRead(path: string, token: TokenRecord | undefined): boolean {
    return !this.isPrivate(path) || (token !== undefined && inScope(token, path));
  }

  /** Whether the holder of `token` (undefined: an anonymous client) may make this request. */
  decide(target: string, token: TokenRecord | undefined): Decision {
    if (!token && this.anonymous === "none") return { allowed: false, path: undefined };
    let route: Route;
    try {
      route = parseRoute(target);
    } catch {
      // Malformed or unknown: the handler answers 400 or 404, naming nothing private.
      return ALLOWED;
    }
    if (route.kind === "metrics") return token ? ALLOWED : { allowed: false, path: undefined };
    const path = modulePathOf(route);
    if (path === null) return ALLOWED;
    // A lookup whose module path cannot be read counts as private: refuse rather than guess.
    if (path !== undefined && !this.isPrivate(path)) return ALLOWED;
    return token && inScope(token, path) ? ALLOWED : { allowed: false, path };
  }
}

function inScope(token: TokenRecord, path: string | undefined): boolean {
  if (token.scopes === ALL_PATHS) return true;
  return path !== undefined && matchPrefixPatterns(token.scopes, path);
}

/** The module path a route reads; null when it reads none; undefined when it cannot be told. */
function modulePathOf(route: Route): string | null | undefined {
  switch (route.kind) {
    case "list":
    case "latest":
    case "info":
    case "mod":
    case "zip":
      return route.path;
    case "sumdb":
      return sumdbLookupPath(route.rest);
    // The feed lists versions of many modules; it leaves out those the client may not read.
    case "index":
    case "healthz":
    case "readyz":
    case "metrics":
    case "status":
      return null;
  }
}

/**
 * The module path of a checksum database lookup (`<db name>/lookup/<escaped path>@<version>`);
 * null for the other `/sumdb/` requests (supported, latest, tiles), which name no module.
 */
export function sumdbLookupPath(rest: string): string | null | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(rest);
  } catch {
    return undefined;
  }
  const at = decoded.indexOf("/lookup/");
  if (at < 0) return null;
  const modVer = decoded.slice(at + "/lookup/".length);
  // The first @, as the lookup handler splits it.
  const version = modVer.indexOf("@");
  try {
    return unescapePath(version < 0 ? modVer : modVer.slice(0, version));
  } catch {
    return undefined;
  }
}
