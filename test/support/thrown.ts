import { ProxyError } from "../../lib/proxy/errors";

/** The ProxyError that `f` throws; the test fails when it throws anything else, or nothing. */
export function thrownProxyError(f: () => unknown): ProxyError {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(ProxyError);
    return err as ProxyError;
  }
  throw new Error("expected a ProxyError, nothing was thrown");
}

/** The message of the ProxyError of kind "invalid" that `f` throws. */
export function invalidMessage(f: () => unknown): string {
  const err = thrownProxyError(f);
  expect(err.kind).toBe("invalid");
  return err.message;
}
