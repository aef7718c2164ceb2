import { createHash, createPublicKey, verify as cryptoVerify, type KeyObject } from "node:crypto";

/**
 * Signed notes (golang.org/x/mod/sumdb/note): the format in which a checksum database signs its
 * tree heads.
 *
 * A note is UTF-8 text ending in a newline, a blank line, then one line per signature:
 * `— <name> <base64(4-byte key hash || signature)>\n`. A verifier key is written
 * `<name>+<8 hex digits key hash>+<base64(algorithm byte || public key)>`; algorithm 1 is
 * Ed25519 with a 32-byte key. The key hash is the first 4 bytes (big-endian) of
 * SHA-256(name || "\n" || algorithm byte || public key).
 */

const ALG_ED25519 = 1;
/** Go refuses notes carrying more signature lines than this. */
const MAX_SIGNATURES = 100;
const SIG_PREFIX = "\u2014 "; // an em dash and a space

export class NoteError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NoteError";
  }
}

/** A public key that can check signatures made under one name. */
export interface NoteVerifier {
  readonly name: string;
  readonly keyHash: number;
  verify(message: Buffer, signature: Buffer): boolean;
}

export interface NoteSignature {
  readonly name: string;
  readonly keyHash: number;
  readonly base64: string;
}

/** An opened note: its text and which signatures were verified. */
export interface Note {
  readonly text: string;
  readonly sigs: readonly NoteSignature[];
  readonly unverifiedSigs: readonly NoteSignature[];
}

/** Go's unicode.IsSpace. */
function isGoSpace(c: number): boolean {
  if (c <= 0xff) return c === 0x20 || (c >= 0x09 && c <= 0x0d) || c === 0x85 || c === 0xa0;
  return (
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000
  );
}

/** A key or signer name: non-empty, no white space (Go's definition), no `+`. */
export function isValidKeyName(name: string): boolean {
  if (name === "" || name.includes("+")) return false;
  for (const ch of name) if (isGoSpace(ch.codePointAt(0) as number)) return false;
  return Buffer.from(name, "utf8").toString("utf8") === name; // no lone surrogates
}

/** Strict standard base64 with padding, as Go's base64.StdEncoding (which also skips CR/LF). */
export function decodeBase64Strict(s: string): Buffer | undefined {
  const t = s.replace(/[\r\n]/g, "");
  if (t.length % 4 !== 0 || !/^[A-Za-z0-9+/]*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(t))
    return undefined;
  return Buffer.from(t, "base64");
}

export function noteKeyHash(name: string, key: Buffer): number {
  const sum = createHash("sha256").update(name, "utf8").update("\n").update(key).digest();
  return sum.readUInt32BE(0);
}

function chop(s: string, sep: string): [string, string] {
  const i = s.indexOf(sep);
  return i < 0 ? [s, ""] : [s.slice(0, i), s.slice(i + sep.length)];
}

// The DER prefix of an Ed25519 SubjectPublicKeyInfo; the 32-byte raw key follows it.
const ED25519_SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");

/**
 * Parses a verifier key `name+hash+base64key` (the GOSUMDB key syntax). Throws NoteError
 * "malformed verifier id", "invalid verifier hash" or "unknown verifier algorithm" as Go does.
 */
export function parseVerifierKey(vkey: string): NoteVerifier {
  const [name, rest] = chop(vkey, "+");
  const [hash16, key64] = chop(rest, "+");
  const key = decodeBase64Strict(key64);
  if (!/^[0-9a-fA-F]{8}$/.test(hash16) || key === undefined || !isValidKeyName(name) || key.length === 0) {
    throw new NoteError("malformed verifier id");
  }
  const hash = parseInt(hash16, 16) >>> 0;
  if (hash !== noteKeyHash(name, key)) throw new NoteError("invalid verifier hash");
  if (key[0] !== ALG_ED25519) throw new NoteError("unknown verifier algorithm");
  const raw = key.subarray(1);
  if (raw.length !== 32) throw new NoteError("malformed verifier id");
  const publicKey: KeyObject = createPublicKey({
    key: Buffer.concat([ED25519_SPKI_PREFIX, raw]),
    format: "der",
    type: "spki",
  });
  return {
    name,
    keyHash: hash,
    verify: (message, signature) => {
      if (signature.length !== 64) return false;
      try {
        return cryptoVerify(null, message, publicKey, signature);
      } catch {
        return false;
      }
    },
  };
}

const utf8Strict = new TextDecoder("utf-8", { fatal: true });

/**
 * Opens a signed note and verifies it with the known verifiers, following Go's note.Open: the
 * whole message must be valid UTF-8 without control characters other than newline; signatures by
 * unknown keys are collected as unverified; a bad signature by a known key is an error; at least
 * one known signature is required.
 */
export function openNote(msg: Buffer, known: readonly NoteVerifier[]): Note {
  let decoded: string;
  try {
    decoded = utf8Strict.decode(msg);
  } catch {
    throw new NoteError("malformed note");
  }
  for (let i = 0; i < decoded.length; i++) {
    const c = decoded.charCodeAt(i);
    if (c < 0x20 && c !== 0x0a) throw new NoteError("malformed note");
  }
  const split = msg.lastIndexOf("\n\n");
  if (split < 0) throw new NoteError("malformed note");
  const text = msg.subarray(0, split + 1);
  let sigs = msg.subarray(split + 2);
  if (sigs.length === 0 || sigs[sigs.length - 1] !== 0x0a) throw new NoteError("malformed note");

  const verified: NoteSignature[] = [];
  const unverified: NoteSignature[] = [];
  const seen = new Set<string>();
  const seenUnverified = new Set<string>();
  let count = 0;
  while (sigs.length > 0) {
    const nl = sigs.indexOf(0x0a);
    const line = sigs.subarray(0, nl).toString("utf8");
    sigs = sigs.subarray(nl + 1);
    if (!line.startsWith(SIG_PREFIX)) throw new NoteError("malformed note");
    const body = line.slice(SIG_PREFIX.length);
    const [name, b64] = chop(body, " ");
    const sig = decodeBase64Strict(b64);
    if (sig === undefined || !isValidKeyName(name) || b64 === "" || sig.length < 5) {
      throw new NoteError("malformed note");
    }
    const keyHash = sig.readUInt32BE(0);
    const signature = sig.subarray(4);
    if (++count > MAX_SIGNATURES) throw new NoteError("malformed note");

    const matches = known.filter((v) => v.name === name && v.keyHash === keyHash);
    if (matches.length === 0) {
      if (!seenUnverified.has(body)) {
        seenUnverified.add(body);
        unverified.push({ name, keyHash, base64: b64 });
      }
      continue;
    }
    if (matches.length > 1) throw new NoteError(`ambiguous key ${name}+${hex8(keyHash)}`);
    const id = `${name}+${keyHash}`;
    if (seen.has(id)) continue;
    seen.add(id);
    if (!matches[0].verify(text, signature)) {
      throw new NoteError(`invalid signature for key ${name}+${hex8(keyHash)}`);
    }
    verified.push({ name, keyHash, base64: b64 });
  }
  if (verified.length === 0) {
    const keys = unverified.map((s) => `${s.name}+${hex8(s.keyHash)}`).join(", ");
    throw new NoteError(`note has no verifiable signatures${keys ? ` (signed by unknown key ${keys})` : ""}`);
  }
  return { text: text.toString("utf8"), sigs: verified, unverifiedSigs: unverified };
}

export function hex8(n: number): string {
  return (n >>> 0).toString(16).padStart(8, "0");
}
