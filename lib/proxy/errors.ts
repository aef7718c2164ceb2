/**
 * The kinds of failure the proxy distinguishes. They are internal error kinds, not HTTP
 * statuses: the HTTP layer maps them once (see http/errors.ts), and the GOPROXY chain decides
 * fall-through from the kind, never from a status code an upstream happened to send.
 */
export type ErrorKind =
  /** The module or version does not exist here (404/410: a client's GOPROXY list falls through). */
  | "not-found"
  /** The request itself is malformed: bad module path, bad version, traversal attempt. */
  | "invalid"
  /** Refused by policy (GOPROXY=off, a private path asked of a public service). */
  | "forbidden"
  /** An upstream, git server or checksum database failed, timed out or answered garbage. */
  | "upstream"
  /** A file exceeds a limit (Go's 500 MiB zip limit, 16 MiB go.mod). */
  | "too-large"
  /** A checksum or signature check failed: the data must not be cached or served. */
  | "security"
  /** We cannot take this on right now (spool space in use is at its limit, spool disk full): try again soon. */
  | "unavailable"
  /** Our own fault: storage failure, bug. */
  | "internal";

export class ProxyError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "ProxyError";
  }
}

export function notFound(message: string): ProxyError {
  return new ProxyError("not-found", message);
}

export function invalid(message: string): ProxyError {
  return new ProxyError("invalid", message);
}

export function isNotFound(err: unknown): boolean {
  return err instanceof ProxyError && err.kind === "not-found";
}

/** The kind of any thrown value; anything that is not a ProxyError is an internal fault. */
export function errorKind(err: unknown): ErrorKind {
  return err instanceof ProxyError ? err.kind : "internal";
}
