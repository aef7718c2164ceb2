/**
 * Small pieces of Go's string handling that the module rules depend on, so that error messages
 * and orderings come out exactly as the go command prints them.
 *
 * Go strings are UTF-8 bytes; JavaScript strings are UTF-16. The only UTF-16 string that has no
 * UTF-8 form is one holding an unpaired surrogate: it is treated here as Go treats invalid UTF-8
 * (the rune decodes as U+FFFD, and the string is not valid UTF-8).
 */

const REPLACEMENT = 0xfffd;

// With the `u` flag a well-formed surrogate pair is one code point, so only unpaired halves match.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/** Whether `s` has a UTF-8 encoding (no unpaired surrogates): Go's utf8.ValidString. */
export function isValidUtf8(s: string): boolean {
  return !LONE_SURROGATE.test(s);
}

/** The runes of `s` as Go's `for range` yields them (unpaired surrogates become U+FFFD). */
export function runes(s: string): number[] {
  const out: number[] = [];
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? REPLACEMENT;
    out.push(cp >= 0xd800 && cp <= 0xdfff ? REPLACEMENT : cp);
  }
  return out;
}

const ENCODER = new TextEncoder();

/** The UTF-8 bytes of `s`. */
export function utf8Bytes(s: string): Uint8Array {
  return ENCODER.encode(s);
}

/** Length of `s` in UTF-8 bytes: Go's len(s). */
export function byteLength(s: string): number {
  return Buffer.byteLength(s, "utf8");
}

/** Go's string comparison (`a < b` compares UTF-8 bytes, which orders by code point). */
export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  const ra = runes(a);
  const rb = runes(b);
  const n = Math.min(ra.length, rb.length);
  for (let i = 0; i < n; i++) {
    if (ra[i] !== rb[i]) return ra[i] < rb[i] ? -1 : 1;
  }
  return ra.length < rb.length ? -1 : ra.length > rb.length ? 1 : 0;
}

const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;

/** Go's strconv.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space. */
export function isPrint(r: number): boolean {
  if (r <= 0xff) {
    if (r >= 0x20 && r <= 0x7e) return true;
    if (r >= 0xa1 && r <= 0xff) return r !== 0xad;
    return false;
  }
  if (r >= 0xd800 && r <= 0xdfff) return false;
  return PRINTABLE.test(String.fromCodePoint(r));
}

const NAMED_ESCAPES: Record<number, string> = {
  0x07: "\\a",
  0x08: "\\b",
  0x0c: "\\f",
  0x0a: "\\n",
  0x0d: "\\r",
  0x09: "\\t",
  0x0b: "\\v",
};

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, "0");
}

function escapeRune(r: number, quote: number): string {
  if (r === quote || r === 0x5c) return "\\" + String.fromCodePoint(r);
  if (isPrint(r)) return String.fromCodePoint(r);
  const named = NAMED_ESCAPES[r];
  if (named) return named;
  if (r < 0x20 || r === 0x7f) return "\\x" + hex(r, 2);
  if (r < 0x10000) return "\\u" + hex(r, 4);
  return "\\U" + hex(r, 8);
}

/** Go's `%q` of a string (strconv.Quote). */
export function quote(s: string): string {
  let out = '"';
  for (const r of runes(s)) out += escapeRune(r, 0x22);
  return out + '"';
}

/** Go's `%q` of a rune (strconv.QuoteRune). */
export function quoteRune(r: number): string {
  const valid = r >= 0 && r <= 0x10ffff && !(r >= 0xd800 && r <= 0xdfff);
  return "'" + escapeRune(valid ? r : REPLACEMENT, 0x27) + "'";
}
