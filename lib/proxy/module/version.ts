import { invalid, type ProxyError } from "../errors";
import { byteLength, quote, runes } from "./gotext";
import { checkPath, checkPathLength, elementProblem, pathMajorMismatch, splitPathVersion } from "./path";
import { canonicalVersion, isCanonicalVersion, isValid, major } from "./semver";

/**
 * What a proxy request's version must satisfy before anything is looked up: a `.mod` or `.zip`
 * (and a `.info` for a canonical version) names one exact version of one module path; any other
 * `.info` is a query (`v1.2`, `master`, a commit prefix) that a source must resolve.
 */

/** Longest query the proxy passes on to a source. Branch names and hashes are far shorter. */
export const MAX_QUERY_BYTES = 256;

function versionError(path: string, version: string, problem: string): ProxyError {
  return invalid(`${path}@${version}: invalid version: ${problem}`);
}

/**
 * Checks that `version` is a canonical version that module path `path` can have: a valid module
 * path, a semantic version in canonical form (`v1.2.3`, `v1.2.3-pre`, a pseudo-version, or
 * `vN.x.y+incompatible`), whose major version fits the path (`/vN` and gopkg.in's `.vN` demand
 * vN; an unsuffixed path takes v0, v1, and v2+ only as `+incompatible`).
 * @throws ProxyError "invalid" with a go-style message naming path and version
 */
export function checkCanonicalVersion(path: string, version: string): void {
  checkPathLength(path);
  checkPath(path);
  if (!isValid(version)) throw versionError(path, version, "not a semantic version");
  if (!isCanonicalVersion(version)) {
    throw versionError(
      path,
      version,
      `not in canonical form (want ${canonicalVersion(version)}); resolve it as a query through .info`,
    );
  }
  const pathMajor = splitPathVersion(path)?.pathMajor ?? "";
  const mismatch = pathMajorMismatch(version, pathMajor);
  if (mismatch) throw versionError(path, version, mismatch);
  if (version.endsWith("+incompatible")) {
    // CheckPathMajor lets v0/v1 and /vN paths through; the go command refuses +incompatible there.
    const m = major(version);
    if (pathMajor !== "") {
      throw versionError(
        path,
        version,
        "+incompatible suffix not allowed: module path includes a major version suffix",
      );
    }
    if (m === "v0" || m === "v1") {
      throw versionError(path, version, `+incompatible suffix not allowed: major version ${m} is compatible`);
    }
  }
}

/**
 * Rejects a query that must not reach a source (a git command line, an upstream URL): empty,
 * over {@link MAX_QUERY_BYTES} bytes, a leading `-` (read as an option), control characters,
 * `..`, backslashes, or anything the GOPROXY protocol could not carry as a version element.
 * @throws ProxyError "invalid"
 */
export function checkQuery(query: string): void {
  const bad = (why: string) => invalid(`invalid version query ${quote(query)}: ${why}`);
  if (query === "") throw bad("empty; name a version, branch, tag or commit");
  const n = byteLength(query);
  if (n > MAX_QUERY_BYTES) throw bad(`${n} bytes long, over the limit of ${MAX_QUERY_BYTES}`);
  if (query.startsWith("-")) throw bad("starts with '-', which a source could read as an option");
  if (runes(query).some((r) => r < 0x20 || r === 0x7f || (r >= 0x80 && r < 0xa0))) {
    throw bad("contains a control character");
  }
  if (query.includes("..")) throw bad("contains '..'");
  if (query.includes("\\")) throw bad("contains a backslash");
  const problem = elementProblem(query, "file");
  if (problem) throw bad(`not a valid version element (${problem})`);
  if (query.includes("!")) throw bad("contains '!', which the GOPROXY protocol reserves for case escaping");
}

/**
 * Whether `version` names exactly one version of the module at `path`: canonical, and of the
 * major version the path allows. Anything else asked of `.info` is a query for the sources to
 * resolve; for example `v3.0.0` of an unsuffixed path resolves to `v3.0.0+incompatible`.
 */
export function isExactVersion(path: string, version: string): boolean {
  if (!isCanonicalVersion(version)) return false;
  try {
    checkCanonicalVersion(path, version);
    return true;
  } catch {
    return false;
  }
}
