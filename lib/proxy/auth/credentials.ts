/**
 * The token a request carries: `Authorization: Bearer TOKEN` (curl, CI) or HTTP Basic with the
 * token as password (a netrc line, which is what the go command sends). The Basic login name is
 * not looked at: the token's own id finds its record, and the record's name is what gets logged.
 */
export type Credentials =
  | { readonly kind: "none" }
  | { readonly kind: "token"; readonly token: string }
  /** An Authorization header that holds no token we could read: counts as a failed attempt. */
  | { readonly kind: "malformed" };

/** Far above any token; a longer header is not worth decoding. */
const MAX_HEADER = 1024;

export function readCredentials(header: string | undefined): Credentials {
  if (header === undefined) return { kind: "none" };
  if (header.length > MAX_HEADER) return { kind: "malformed" };
  const m = /^([A-Za-z]+) +(\S+) *$/.exec(header);
  if (!m) return { kind: "malformed" };
  const scheme = m[1].toLowerCase();
  if (scheme === "bearer") return { kind: "token", token: m[2] };
  if (scheme !== "basic" || !/^[A-Za-z0-9+/]+={0,2}$/.test(m[2])) return { kind: "malformed" };
  const pair = Buffer.from(m[2], "base64").toString("utf8");
  const colon = pair.indexOf(":");
  return colon < 0 ? { kind: "malformed" } : { kind: "token", token: pair.slice(colon + 1) };
}
