import { ProxyError } from "../errors";
import { checkQuery } from "../module/version";

/**
 * Checks a query (tag, branch name, commit-hash prefix, version) before anything derived from
 * it reaches git or the local object store. isomorphic-git never runs a command, so there is no
 * option injection as with the git binary (CVE-2025-68119 is the precedent for that), but refs
 * become file names under the cache directory: a query may hold only the characters a sane ref
 * name uses, may not start with `-` or `.`, may not contain `..`, `//`, `@{` or a segment ending
 * in `.lock`, and is at most MAX_QUERY_LENGTH bytes long.
 */
export const MAX_QUERY_LENGTH = 200;

const SAFE = /^[A-Za-z0-9][A-Za-z0-9._+\-/]*$/;

/** Checks a client's query: the proxy-wide rules (module/version.ts) and then the git ones. */
export function checkRevision(query: string): void {
  checkQuery(query);
  checkRefName(query);
}

/** The git-specific rules alone, for revisions the source builds itself (`sub/v0.1.0`). */
export function checkRefName(query: string): void {
  const shown = JSON.stringify(query.length > 60 ? `${query.slice(0, 60)}...` : query);
  const refuse = (why: string): never => {
    throw new ProxyError("invalid", `invalid version or revision ${shown}: ${why}`);
  };
  if (query === "") refuse("empty");
  if (query.length > MAX_QUERY_LENGTH) refuse(`longer than ${MAX_QUERY_LENGTH} characters`);
  if (query.startsWith("-")) refuse("starts with '-'");
  if (!SAFE.test(query))
    refuse("only letters, digits and . _ + - / are allowed, starting with a letter or digit");
  if (query.includes("..")) refuse("contains '..'");
  if (query.includes("//") || query.endsWith("/")) refuse("has an empty path element");
  if (query.endsWith(".") || query.split("/").some((s) => s.startsWith(".") || s.endsWith(".lock"))) {
    refuse("is not a valid git ref name");
  }
}
