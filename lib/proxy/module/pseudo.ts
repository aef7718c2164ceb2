import { invalid, ProxyError } from "../errors";
import { quote } from "./gotext";
import { build, canonical, isValid, major, prerelease } from "./semver";

/**
 * Pseudo-versions: the versions the go command invents for untagged commits
 * (x/mod's module/pseudo.go). Three shapes, each optionally followed by `+incompatible`:
 *
 *   vX.0.0-yyyymmddhhmmss-abcdef123456        no earlier tag with major version X
 *   vX.Y.(Z+1)-0.yyyymmddhhmmss-abcdef123456  the latest earlier tag was vX.Y.Z
 *   vX.Y.Z-pre.0.yyyymmddhhmmss-abcdef123456  the latest earlier tag was vX.Y.Z-pre
 *
 * The timestamp is the commit time in UTC; the revision is usually a 12-character hash prefix.
 */

const PSEUDO_VERSION =
  /^v[0-9]+\.(0\.0-|[0-9]+\.[0-9]+-([^+]*\.)?0\.)[0-9]{14}-[A-Za-z0-9]+(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$/;

/** Whether `v` is a pseudo-version. */
export function isPseudoVersion(v: string): boolean {
  return (v.match(/-/g)?.length ?? 0) >= 2 && isValid(v) && PSEUDO_VERSION.test(v);
}

function pseudoError(v: string, problem: string): ProxyError {
  return invalid(`pseudo-version ${quote(v)} invalid: ${problem}`);
}

interface PseudoParts {
  /** `vX.0.0`, `vX.Y.(Z+1)-0` or `vX.Y.Z-pre.0`. */
  readonly base: string;
  readonly timestamp: string;
  readonly rev: string;
  readonly build: string;
}

function parsePseudoVersion(v: string): PseudoParts {
  if (!isPseudoVersion(v)) throw pseudoError(v, "syntax error");
  const b = build(v);
  let rest = v.slice(0, v.length - b.length);
  const j = rest.lastIndexOf("-");
  const rev = rest.slice(j + 1);
  rest = rest.slice(0, j);
  const i = rest.lastIndexOf("-");
  const dot = rest.lastIndexOf(".");
  if (dot > i) return { base: rest.slice(0, dot), timestamp: rest.slice(dot + 1), rev, build: b };
  return { base: rest.slice(0, i), timestamp: rest.slice(i + 1), rev, build: b };
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function isLeap(year: number): boolean {
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
}

/** Parses `yyyymmddhhmmss` as UTC with Go's time.Parse range checks, or undefined. */
function parseTimestamp(ts: string): Date | undefined {
  const m = /^([0-9]{4})([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})$/.exec(ts);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number);
  if (month < 1 || month > 12) return undefined;
  const days = month === 2 && isLeap(year) ? 29 : DAYS_IN_MONTH[month - 1];
  if (day < 1 || day > days || hour > 23 || minute > 59 || second > 59) return undefined;
  const date = new Date(0);
  // setUTCFullYear, unlike Date.UTC, does not map years 0-99 onto 1900-1999.
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, 0);
  return date;
}

/**
 * The commit time a pseudo-version records.
 * @throws ProxyError "invalid" when `v` is not a pseudo-version or its time stamp is no real time
 */
export function pseudoVersionTime(v: string): Date {
  const { timestamp } = parsePseudoVersion(v);
  const t = parseTimestamp(timestamp);
  if (!t) throw pseudoError(v, `malformed time ${quote(timestamp)}`);
  return t;
}

/**
 * The revision (commit hash prefix) a pseudo-version records.
 * @throws ProxyError "invalid" when `v` is not a pseudo-version
 */
export function pseudoVersionRev(v: string): string {
  return parsePseudoVersion(v).rev;
}

/**
 * The tagged version a pseudo-version builds on (`v1.2.4-0.2024...-abc` -> `v1.2.3`), keeping
 * `+incompatible`; `""` for the `vX.0.0-...` form, which builds on no tag.
 * @throws ProxyError "invalid" when `v` is not a pseudo-version or names an impossible base
 */
export function pseudoVersionBase(v: string): string {
  const { base, build: b } = parsePseudoVersion(v);
  const pre = prerelease(base);
  if (pre === "") {
    // vX.0.0-...+incompatible: no parent tag, yet a claim its major version is incompatible.
    if (b !== "") throw pseudoError(v, `lacks base version, but has build metadata ${quote(b)}`);
    return "";
  }
  if (pre === "-0") {
    const release = base.slice(0, base.length - pre.length);
    const i = release.lastIndexOf(".");
    const patch = decDecimal(release.slice(i + 1));
    if (patch === "") throw pseudoError(v, `version before ${release} would have negative patch number`);
    return release.slice(0, i + 1) + patch + b;
  }
  // vX.Y.Z-pre.0.yyyymmddhhmmss-rev: the base is vX.Y.Z-pre.
  return base.slice(0, base.length - ".0".length) + b;
}

/** The decimal string plus one (`"199"` -> `"200"`), without number precision limits. */
function incDecimal(decimal: string): string {
  const digits = decimal.split("");
  let i = digits.length - 1;
  for (; i >= 0 && digits[i] === "9"; i--) digits[i] = "0";
  if (i >= 0) {
    digits[i] = String.fromCharCode(digits[i].charCodeAt(0) + 1);
  } else {
    digits[0] = "1";
    digits.push("0");
  }
  return digits.join("");
}

/** The decimal string minus one (`"200"` -> `"199"`), or `""` when it is zero. */
function decDecimal(decimal: string): string {
  const digits = decimal.split("");
  let i = digits.length - 1;
  for (; i >= 0 && digits[i] === "0"; i--) digits[i] = "9";
  if (i < 0) return "";
  if (i === 0 && digits[i] === "1" && digits.length > 1) return digits.slice(1).join("");
  digits[i] = String.fromCharCode(digits[i].charCodeAt(0) - 1);
  return digits.join("");
}

/** `t` in UTC as `yyyymmddhhmmss` (Go's "20060102150405" layout, years padded to 4 digits). */
export function formatPseudoTimestamp(t: Date): string {
  const year = t.getUTCFullYear();
  const y = year < 0 ? "-" + String(-year).padStart(4, "0") : String(year).padStart(4, "0");
  const two = (n: number) => String(n).padStart(2, "0");
  return (
    y +
    two(t.getUTCMonth() + 1) +
    two(t.getUTCDate()) +
    two(t.getUTCHours()) +
    two(t.getUTCMinutes()) +
    two(t.getUTCSeconds())
  );
}

/**
 * The pseudo-version for a commit (x/mod's PseudoVersion).
 * @param major the major version (`"v1"`); `""` means `"v0"`
 * @param older the latest tag before the commit (`"v1.2.3"`, `"v1.2.3-pre"`), or `""` for none
 * @param time the commit time
 * @param rev the revision, usually the commit hash's first 12 hex digits
 */
export function makePseudoVersion(major: string, older: string, time: Date, rev: string): string {
  const segment = `${formatPseudoTimestamp(time)}-${rev}`;
  const b = build(older);
  const tag = canonical(older);
  if (tag === "") return `${major || "v0"}.0.0-${segment}`;
  if (prerelease(tag) !== "") return `${tag}.0.${segment}${b}`;
  const i = tag.lastIndexOf(".") + 1;
  return `${tag.slice(0, i)}${incDecimal(tag.slice(i))}-0.${segment}${b}`;
}

// Go's zero time.Time: January 1, year 1, 00:00:00 UTC.
const ZERO_TIME_MS = Date.parse("0001-01-01T00:00:00Z");

/** The placeholder pseudo-version with zero time and revision: `vX.0.0-00010101000000-000000000000`. */
export function zeroPseudoVersion(major: string): string {
  return makePseudoVersion(major, "", new Date(ZERO_TIME_MS), "000000000000");
}

/** Whether `v` is the placeholder pseudo-version {@link zeroPseudoVersion} of its major version. */
export function isZeroPseudoVersion(v: string): boolean {
  return v === zeroPseudoVersion(major(v));
}
