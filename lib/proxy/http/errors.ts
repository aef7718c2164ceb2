import type { ErrorKind } from "../errors";
import { ProxyError, errorKind } from "../errors";

/**
 * The one place where internal error kinds become HTTP statuses. Only "not found" becomes
 * 404 (so a client's GOPROXY list falls through); every real fault keeps the client from
 * silently moving on to a source it may not trust.
 */
const STATUS: Record<ErrorKind, number> = {
  "not-found": 404,
  invalid: 400,
  forbidden: 403,
  upstream: 502,
  "too-large": 502,
  security: 502,
  unavailable: 503,
  internal: 500,
};

/** Seconds a client is asked to wait before it tries an "unavailable" request again. */
export const RETRY_AFTER_SECONDS = 5;

export function statusFor(err: unknown): number {
  return STATUS[errorKind(err)];
}

/** Extra headers of an error answer: a 503 says when to try again. */
export function errorHeaders(err: unknown): Record<string, string> {
  return errorKind(err) === "unavailable" ? { "retry-after": String(RETRY_AFTER_SECONDS) } : {};
}

/** The text/plain body: the error's own message for ProxyErrors, nothing internal otherwise. */
export function messageFor(err: unknown, requestId: string): string {
  if (err instanceof ProxyError && err.kind !== "internal") return err.message;
  return `internal error (request id ${requestId})`;
}
