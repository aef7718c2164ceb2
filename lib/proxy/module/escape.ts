import { invalid } from "../errors";
import { quote } from "./gotext";
import { checkPathLength, elementProblem, modulePathProblem } from "./path";

/**
 * The GOPROXY protocol's case encoding (x/mod's EscapePath / EscapeVersion): every upper-case
 * letter becomes `!` and its lower-case form, so `github.com/Azure/x` is served and stored as
 * `github.com/!azure/x` and no two module paths ever differ only in case on disk or in a URL.
 */

/** Escapes ASCII capitals; a string holding a non-ASCII character or a `!` cannot be escaped. */
function escapeString(s: string): string {
  if (/[!\u0080-\uFFFF]/.test(s)) {
    // x/mod's own wording: the checks before this should have ruled such strings out.
    throw invalid("internal error: inconsistency in EscapePath");
  }
  return s.replace(/[A-Z]/g, (c) => "!" + c.toLowerCase());
}

/** Undoes escapeString, or undefined for upper case, non-ASCII, or a `!` not before a-z. */
function unescapeString(escaped: string): string | undefined {
  if (/[\u0080-\uFFFF]|[A-Z]|![^a-z]|!$/.test(escaped)) return undefined;
  return escaped.replace(/!([a-z])/g, (_m, c: string) => c.toUpperCase());
}

/**
 * The escaped form of module path `path`, as used in proxy URLs and storage keys.
 * @throws ProxyError "invalid" when `path` is not a valid module path (or is absurdly long)
 */
export function escapePath(path: string): string {
  checkPathLength(path);
  const problem = modulePathProblem(path);
  if (problem) throw invalid(`malformed module path ${quote(path)}: ${problem}`);
  return escapeString(path);
}

/**
 * The module path an escaped path (from a URL or storage key) stands for.
 * @throws ProxyError "invalid" for upper case, a bad `!` sequence, or an invalid module path
 */
export function unescapePath(escaped: string): string {
  checkPathLength(escaped);
  const path = unescapeString(escaped);
  if (path === undefined) throw invalid(`invalid escaped module path ${quote(escaped)}`);
  const problem = modulePathProblem(path);
  if (problem) {
    throw invalid(
      `invalid escaped module path ${quote(escaped)}: malformed module path ${quote(path)}: ${problem}`,
    );
  }
  return path;
}

/**
 * The escaped form of a version or query. Any string that is a valid file name element and holds
 * no `!` is accepted, not only semantic versions (a branch name is a fine query).
 * @throws ProxyError "invalid" with x/mod's message
 */
export function escapeVersion(v: string): string {
  if (elementProblem(v, "file") !== undefined || v.includes("!")) {
    throw invalid(`version ${quote(v)} invalid: disallowed version string`);
  }
  return escapeString(v);
}

/**
 * The version or query an escaped version (from a URL or storage key) stands for.
 * @throws ProxyError "invalid" for upper case, a bad `!` sequence, or a version that is not a
 * valid file name element
 */
export function unescapeVersion(escaped: string): string {
  const v = unescapeString(escaped);
  if (v === undefined) throw invalid(`invalid escaped version ${quote(escaped)}`);
  const problem = elementProblem(v, "file");
  // x/mod quotes the unescaped version here, not the escaped one.
  if (problem) throw invalid(`invalid escaped version ${quote(v)}: ${problem}`);
  return v;
}
