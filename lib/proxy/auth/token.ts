import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * gomirror client tokens: their format, the record stored for each, hashing and verification.
 *
 * Everything here is plain JavaScript over `crypto`'s HMAC-SHA-256 (plus `randomBytes` to make
 * tokens and `timingSafeEqual` to compare), so the same rules can run where only those exist:
 * a CloudFront Function (runtime 2.0 has `crypto.createHmac` and `Buffer`, nothing slower)
 * reading records from a KeyValueStore keyed by token id.
 *
 * - A token is `gmt_<id>_<secret>`: `id` is 16 lowercase hex digits (8 random bytes), public,
 *   the key its record is found under; `secret` is 43 base64url characters (32 random bytes,
 *   256 bits from the CSPRNG). Verifying is one lookup by id, whatever login name an HTTP Basic
 *   client sends along.
 * - A record is one line of text, `<id> <name> <scopes> <salt> <hash>`, at most
 *   {@link MAX_RECORD_BYTES} bytes (a KeyValueStore value holds 1 KB):
 *   - `name`: who holds the token; shown in logs and metrics labels
 *   - `scopes`: GOPRIVATE-syntax patterns of the private module paths the token may read, comma
 *     separated; `*` (a pattern that matches every path) when not limited
 *   - `salt`: 22 base64url characters (16 random bytes)
 *   - `hash`: lowercase hex of HMAC-SHA-256 with the salt's text (UTF-8) as key, over the whole
 *     token text. A fast hash is right here: tokens are random, not passwords, so there is
 *     nothing to guess from the hash; the salt keeps equal tokens from looking equal.
 */

export const TOKEN_PREFIX = "gmt_";
export const MAX_RECORD_BYTES = 1024;
/** The scopes of a token that may read every path (a GOPRIVATE pattern matching all paths). */
export const ALL_PATHS = "*";

const ID_BYTES = 8;
const SECRET_BYTES = 32;
const SALT_BYTES = 16;
const TOKEN = /^gmt_([0-9a-f]{16})_[A-Za-z0-9_-]{43}$/;
const ID = /^[0-9a-f]{16}$/;
const SALT = /^[A-Za-z0-9_-]{22}$/;
const HASH = /^[0-9a-f]{64}$/;
/** Names end up in logs and metric labels: letters, digits and a few separators only. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
/** One GOPRIVATE pattern: no separators, spaces or control characters. */
const PATTERN = /^[^\s,\0-\x1f\x7f\\]+$/;

export interface TokenRecord {
  readonly id: string;
  readonly name: string;
  /** Comma-separated GOPRIVATE patterns; {@link ALL_PATHS} when not limited. */
  readonly scopes: string;
  readonly salt: string;
  readonly hash: string;
}

export class TokenFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TokenFormatError";
  }
}

/** Where random bytes come from; tests may pass their own. */
export type RandomSource = (size: number) => Buffer;

/** The id of a well-formed token, or undefined for anything else. */
export function tokenId(token: string): string | undefined {
  return TOKEN.exec(token)?.[1];
}

/** Whether a text holds something shaped like a token (to refuse storing or echoing one). */
export function containsToken(text: string): boolean {
  return /gmt_[0-9a-f]{16}_[A-Za-z0-9_-]{43}/.test(text);
}

/** The stored verifier of `token` under `salt`: hex HMAC-SHA-256, key = salt text, message = token. */
export function hashToken(token: string, salt: string): string {
  return createHmac("sha256", salt).update(token).digest("hex");
}

/** Checks a token name; returns an error message or undefined. */
export function checkName(name: string): string | undefined {
  if (NAME.test(name)) return undefined;
  return `token name ${JSON.stringify(name)} is not allowed: use 1 to 64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit`;
}

/**
 * Normalizes scopes given as comma-separated GOPRIVATE patterns (empty = every path).
 * @throws TokenFormatError for a pattern with spaces or control characters
 */
export function normalizeScopes(patterns: string): string {
  const list = patterns
    .split(",")
    .map((p) => p.trim())
    .filter((p) => p !== "");
  for (const p of list) {
    if (!PATTERN.test(p)) {
      throw new TokenFormatError(
        `scope ${JSON.stringify(p)} is not a module path pattern (GOPRIVATE syntax)`,
      );
    }
  }
  return list.length === 0 ? ALL_PATHS : list.join(",");
}

/** Makes a new token for `name` and its record. The token is returned once; only the record is kept. */
export function generateToken(
  name: string,
  scopes: string = ALL_PATHS,
  random: RandomSource = randomBytes,
): { token: string; record: TokenRecord } {
  const problem = checkName(name);
  if (problem) throw new TokenFormatError(problem);
  const id = random(ID_BYTES).toString("hex");
  const token = `${TOKEN_PREFIX}${id}_${random(SECRET_BYTES).toString("base64url")}`;
  const salt = random(SALT_BYTES).toString("base64url");
  const record: TokenRecord = {
    id,
    name,
    scopes: normalizeScopes(scopes),
    salt,
    hash: hashToken(token, salt),
  };
  if (Buffer.byteLength(formatRecord(record)) > MAX_RECORD_BYTES) {
    throw new TokenFormatError(
      `the scopes are too long: a token record holds at most ${MAX_RECORD_BYTES} bytes`,
    );
  }
  return { token, record };
}

/** The record's one canonical text form (a token file line, a KeyValueStore value). */
export function formatRecord(record: TokenRecord): string {
  return `${record.id} ${record.name} ${record.scopes} ${record.salt} ${record.hash}`;
}

/**
 * Parses one record line.
 * @throws TokenFormatError saying which field is wrong; the message never repeats the line, which
 *   may hold a token pasted by mistake
 */
export function parseRecord(line: string): TokenRecord {
  if (containsToken(line)) {
    throw new TokenFormatError(
      "holds a token itself, not its record: a token file keeps only hashes (use gomirror token add)",
    );
  }
  if (Buffer.byteLength(line) > MAX_RECORD_BYTES) {
    throw new TokenFormatError(`is longer than ${MAX_RECORD_BYTES} bytes`);
  }
  const fields = line.trim().split(/\s+/);
  if (fields.length !== 5) {
    throw new TokenFormatError(`has ${fields.length} fields; want 5: id name scopes salt hash`);
  }
  const [id, name, scopes, salt, hash] = fields as [string, string, string, string, string];
  if (!ID.test(id)) throw new TokenFormatError("has a malformed id (want 16 lowercase hex digits)");
  if (checkName(name)) throw new TokenFormatError(`has a malformed name (${checkName(name)})`);
  if (scopes.split(",").some((p) => !PATTERN.test(p))) {
    throw new TokenFormatError("has malformed scopes (want comma-separated GOPRIVATE patterns, or *)");
  }
  if (!SALT.test(salt)) throw new TokenFormatError("has a malformed salt (want 22 base64url characters)");
  if (!HASH.test(hash)) throw new TokenFormatError("has a malformed hash (want 64 lowercase hex digits)");
  return { id, name, scopes, salt, hash };
}

/**
 * The record of `token` if the token is genuine: its id is looked up, and its hash under the
 * record's salt compared with the stored one in constant time.
 */
export function verifyToken(
  token: string,
  lookup: (id: string) => TokenRecord | undefined,
): TokenRecord | undefined {
  const id = tokenId(token);
  const record = id === undefined ? undefined : lookup(id);
  if (!record) return undefined;
  const computed = Buffer.from(hashToken(token, record.salt), "hex");
  const stored = Buffer.from(record.hash, "hex");
  return stored.length === computed.length && timingSafeEqual(computed, stored) ? record : undefined;
}
