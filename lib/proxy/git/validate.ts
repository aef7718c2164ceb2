import { ProxyError } from "../errors";
import { checkQuery } from "../module/version";

/**
 * Checks a query (tag, branch name, commit-hash prefix, version) before anything derived from it
 * reaches git: exactly git's own rules for a ref name (`git check-ref-format`, as for
 * `refs/heads/<query>`), plus what the go command's rules refuse anyway (checkQuery: no leading
 * `-`, which git could read as an option). So `fix@2024`, `feat(x)` and long pre-release tags are
 * accepted, as git and the go command accept them; `HEAD@{1}`, `a..b`, `x.lock`, `.hidden`,
 * names with spaces, `~ ^ : ? * [ \` or control characters are not.
 */

/** Characters git never allows in a ref name (besides control characters). */
const FORBIDDEN = new Set([" ", "~", "^", ":", "?", "*", "[", "\\"]);

/** Checks a client's query: the proxy-wide rules (module/version.ts) and then git's. */
export function checkRevision(query: string): void {
  checkQuery(query);
  const problem = refNameProblem(query);
  if (problem) {
    const shown = JSON.stringify(query.length > 60 ? `${query.slice(0, 60)}...` : query);
    throw new ProxyError("invalid", `invalid version or revision ${shown}: ${problem}`);
  }
}

/** Why `name` is not a valid ref name below `refs/heads/`, or undefined when it is. */
export function refNameProblem(name: string): string | undefined {
  if (name === "") return "empty";
  if (name.startsWith("-")) return "starts with '-'";
  if (name === "@") return "'@' alone is not a ref name";
  for (const c of name) {
    const code = c.codePointAt(0) as number;
    if (code < 0x20 || code === 0x7f) return "contains a control character";
    if (FORBIDDEN.has(c)) return `contains ${JSON.stringify(c)}, which git does not allow in a ref name`;
  }
  if (name.includes("..")) return "contains '..'";
  if (name.includes("@{")) return "contains '@{'";
  if (name.startsWith("/") || name.endsWith("/") || name.includes("//")) return "has an empty path element";
  if (name.endsWith(".")) return "ends with '.'";
  for (const part of name.split("/")) {
    if (part.startsWith(".")) return "has a path element starting with '.'";
    if (part.endsWith(".lock")) return "has a path element ending in '.lock'";
  }
  return undefined;
}
