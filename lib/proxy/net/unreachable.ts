/** Error codes that say a host could not be reached at all: no network, no name, nobody listening. */
const UNREACHABLE = new Set([
  "ENOTFOUND",
  "EAI_AGAIN",
  "ECONNREFUSED",
  "ENETUNREACH",
  "EHOSTUNREACH",
  "ENETDOWN",
  "UND_ERR_CONNECT_TIMEOUT",
]);

/** The code of a failure to reach a host (through `cause` too), or undefined. */
export function unreachableCode(err: unknown): string | undefined {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; depth++) {
    if (typeof e.code === "string" && UNREACHABLE.has(e.code)) return e.code;
    e = e.cause as typeof e;
  }
  return undefined;
}

/** What a user with an unreachable upstream proxy can do. */
export const UPSTREAM_HINT =
  "no network, or a name that does not resolve? Set the proxy's GOPROXY to an upstream it can reach";

/** What a user with an unreachable checksum database can do. */
export const SUMDB_HINT =
  "the checksum database cannot be reached (no network?): set the proxy's GOSUMDB to one it can " +
  "reach, GONOSUMDB to the paths not to check, or GOSUMDB=off";
