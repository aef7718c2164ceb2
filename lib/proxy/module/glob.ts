import { invalid } from "../errors";
import { quote, utf8Bytes } from "./gotext";

/**
 * Go's shell patterns (path.Match) and the GOPRIVATE / GONOPROXY / GONOSUMDB matching built on
 * them (x/mod's MatchPrefixPatterns). Matching runs over UTF-8 bytes as Go's does: `*` may skip
 * part of a multi-byte character, and `?` or a class then sees an invalid byte as U+FFFD.
 */

const STAR = 0x2a; // *
const QUESTION = 0x3f; // ?
const OPEN = 0x5b; // [
const CLOSE = 0x5d; // ]
const CARET = 0x5e; // ^
const DASH = 0x2d; // -
const BACKSLASH = 0x5c; // \
const SLASH = 0x2f; // /
const RUNE_ERROR = 0xfffd;

/** Go's utf8.DecodeRune: [rune, width]; invalid or truncated encodings give [U+FFFD, 1]. */
function decodeRune(b: Uint8Array): [number, number] {
  if (b.length === 0) return [RUNE_ERROR, 0];
  const b0 = b[0];
  if (b0 < 0x80) return [b0, 1];
  const cont = (i: number, lo = 0x80, hi = 0xbf) => i < b.length && b[i] >= lo && b[i] <= hi;
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    if (cont(1)) return [((b0 & 0x1f) << 6) | (b[1] & 0x3f), 2];
  } else if (b0 >= 0xe0 && b0 <= 0xef) {
    const lo = b0 === 0xe0 ? 0xa0 : 0x80;
    const hi = b0 === 0xed ? 0x9f : 0xbf; // no surrogates
    if (cont(1, lo, hi) && cont(2)) return [((b0 & 0x0f) << 12) | ((b[1] & 0x3f) << 6) | (b[2] & 0x3f), 3];
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    const lo = b0 === 0xf0 ? 0x90 : 0x80;
    const hi = b0 === 0xf4 ? 0x8f : 0xbf; // nothing above U+10FFFF
    if (cont(1, lo, hi) && cont(2) && cont(3)) {
      return [((b0 & 0x07) << 18) | ((b[1] & 0x3f) << 12) | ((b[2] & 0x3f) << 6) | (b[3] & 0x3f), 4];
    }
  }
  return [RUNE_ERROR, 1];
}

/** Thrown inside the matcher for a malformed pattern; turned into a result at the surface. */
class BadPattern extends Error {}

/** The next chunk of a pattern: an optional run of stars, then everything up to the next star. */
function scanChunk(pattern: Uint8Array): [boolean, Uint8Array, Uint8Array] {
  let star = false;
  while (pattern.length > 0 && pattern[0] === STAR) {
    pattern = pattern.subarray(1);
    star = true;
  }
  let inRange = false;
  let i = 0;
  for (; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === BACKSLASH) {
      if (i + 1 < pattern.length) i++; // a dangling backslash is reported by matchChunk
    } else if (c === OPEN) {
      inRange = true;
    } else if (c === CLOSE) {
      inRange = false;
    } else if (c === STAR && !inRange) {
      break;
    }
  }
  return [star, pattern.subarray(0, i), pattern.subarray(i)];
}

/** A possibly escaped character of a class, and the rest of the chunk after it. */
function classChar(chunk: Uint8Array): [number, Uint8Array] {
  if (chunk.length === 0 || chunk[0] === DASH || chunk[0] === CLOSE) throw new BadPattern();
  if (chunk[0] === BACKSLASH) {
    chunk = chunk.subarray(1);
    if (chunk.length === 0) throw new BadPattern();
  }
  const [r, n] = decodeRune(chunk);
  if (r === RUNE_ERROR && n === 1) throw new BadPattern();
  const rest = chunk.subarray(n);
  if (rest.length === 0) throw new BadPattern(); // the class never closes
  return [r, rest];
}

/**
 * Matches a star-free chunk against the start of `s`: the rest of `s`, or undefined when it does
 * not match. The whole chunk is read even after a mismatch, so syntax errors are always found.
 */
function matchChunk(chunk: Uint8Array, s: Uint8Array): Uint8Array | undefined {
  let failed = false;
  while (chunk.length > 0) {
    if (!failed && s.length === 0) failed = true;
    const c = chunk[0];
    if (c === OPEN) {
      let r = 0;
      if (!failed) {
        const [rune, n] = decodeRune(s);
        r = rune;
        s = s.subarray(n);
      }
      chunk = chunk.subarray(1);
      const negated = chunk.length > 0 && chunk[0] === CARET;
      if (negated) chunk = chunk.subarray(1);
      let match = false;
      let ranges = 0;
      for (;;) {
        if (chunk.length > 0 && chunk[0] === CLOSE && ranges > 0) {
          chunk = chunk.subarray(1);
          break;
        }
        let lo: number;
        let hi: number;
        [lo, chunk] = classChar(chunk);
        hi = lo;
        if (chunk[0] === DASH) [hi, chunk] = classChar(chunk.subarray(1));
        if (lo <= r && r <= hi) match = true;
        ranges++;
      }
      if (match === negated) failed = true;
    } else if (c === QUESTION) {
      if (!failed) {
        if (s[0] === SLASH) failed = true;
        s = s.subarray(decodeRune(s)[1]);
      }
      chunk = chunk.subarray(1);
    } else {
      if (c === BACKSLASH) {
        chunk = chunk.subarray(1);
        if (chunk.length === 0) throw new BadPattern();
      }
      if (!failed) {
        if (chunk[0] !== s[0]) failed = true;
        s = s.subarray(1);
      }
      chunk = chunk.subarray(1);
    }
  }
  return failed ? undefined : s;
}

function matchBytes(pattern: Uint8Array, name: Uint8Array): boolean {
  next: while (pattern.length > 0) {
    let star: boolean;
    let chunk: Uint8Array;
    [star, chunk, pattern] = scanChunk(pattern);
    // A trailing star matches the rest of the name unless it holds a slash.
    if (star && chunk.length === 0) return !name.includes(SLASH);
    const rest = matchChunk(chunk, name);
    // The last chunk must use up the name; otherwise a later star may still match.
    if (rest !== undefined && (rest.length === 0 || pattern.length > 0)) {
      name = rest;
      continue;
    }
    if (star) {
      // Let the star swallow 1, 2, ... bytes, never a slash.
      for (let i = 0; i < name.length && name[i] !== SLASH; i++) {
        const after = matchChunk(chunk, name.subarray(i + 1));
        if (after === undefined) continue;
        if (pattern.length === 0 && after.length > 0) continue;
        name = after;
        continue next;
      }
    }
    // No match: still report a syntax error anywhere in the rest of the pattern.
    while (pattern.length > 0) {
      [, chunk, pattern] = scanChunk(pattern);
      matchChunk(chunk, new Uint8Array(0));
    }
    return false;
  }
  return name.length === 0;
}

/** The outcome of Go's path.Match: whether it matched, or that the pattern is malformed. */
export type MatchResult = "match" | "no-match" | "bad-pattern";

/** Go's path.Match as a three-way result (Go may report a bad pattern only after a mismatch). */
export function pathMatchResult(pattern: string, name: string): MatchResult {
  try {
    return matchBytes(utf8Bytes(pattern), utf8Bytes(name)) ? "match" : "no-match";
  } catch (err) {
    if (err instanceof BadPattern) return "bad-pattern";
    throw err;
  }
}

/**
 * Whether `name` matches the shell pattern `pattern` (Go's path.Match): `*` matches any run of
 * non-slash characters, `?` one non-slash character, `[a-z]` / `[^a-z]` a class, `\` escapes.
 * @throws ProxyError "invalid" when the pattern is malformed (Go's ErrBadPattern)
 */
export function pathMatch(pattern: string, name: string): boolean {
  const result = pathMatchResult(pattern, name);
  if (result === "bad-pattern") {
    throw invalid(`syntax error in pattern ${quote(pattern)}: check for an unclosed [ or a trailing \\`);
  }
  return result === "match";
}

/**
 * Whether some leading part of module path `target` matches one of the comma-separated patterns
 * in `globs`, as the go command matches GOPRIVATE, GONOPROXY and GONOSUMDB. A pattern with N
 * slashes is matched against the first N+1 elements of `target`, so `example.com/*` covers
 * `example.com/a/b`. Empty and malformed patterns are ignored; a trailing slash is dropped.
 */
export function matchPrefixPatterns(globs: string, target: string): boolean {
  for (let glob of globs.split(",")) {
    if (glob.endsWith("/")) glob = glob.slice(0, -1);
    if (glob === "") continue;
    let n = glob.split("/").length - 1;
    let prefix = target;
    for (let i = 0; i < target.length; i++) {
      if (target[i] !== "/") continue;
      if (n === 0) {
        prefix = target.slice(0, i);
        break;
      }
      n--;
    }
    if (n > 0) continue; // the target has fewer elements than the pattern
    if (pathMatchResult(glob, prefix) === "match") return true;
  }
  return false;
}
