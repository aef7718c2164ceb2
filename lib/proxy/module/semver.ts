import { compareStrings } from "./gotext";

/**
 * Go's semantic versions (golang.org/x/mod/semver): `vMAJOR[.MINOR[.PATCH[-PRE][+BUILD]]]`,
 * with the leading `v` required and `vMAJOR` / `vMAJOR.MINOR` accepted as shorthands.
 * Every function takes any string; an invalid version gives `""` (or sorts lowest).
 */

interface Parsed {
  readonly major: string;
  readonly minor: string;
  readonly patch: string;
  /** What Canonical appends to a shorthand: `.0.0`, `.0` or `""`. */
  readonly short: string;
  readonly prerelease: string;
  readonly build: string;
}

const isDigitAt = (s: string, i: number) => i < s.length && s[i] >= "0" && s[i] <= "9";
const isIdentChar = (c: string) => /^[0-9A-Za-z-]$/.test(c);

/** A decimal without extra leading zeros at the start of `s`: [number, rest], or undefined. */
function parseInt(s: string): [string, string] | undefined {
  if (!isDigitAt(s, 0)) return undefined;
  let i = 1;
  while (isDigitAt(s, i)) i++;
  if (s[0] === "0" && i !== 1) return undefined;
  return [s.slice(0, i), s.slice(i)];
}

/** A numeric identifier with a leading zero, which semver forbids in prereleases. */
function isBadNum(s: string): boolean {
  return /^[0-9]+$/.test(s) && s.length > 1 && s[0] === "0";
}

function isNum(s: string): boolean {
  return /^[0-9]*$/.test(s);
}

/** `-ident(.ident)*` up to a `+` or the end. */
function parsePrerelease(s: string): [string, string] | undefined {
  if (!s.startsWith("-")) return undefined;
  let i = 1;
  let start = 1;
  while (i < s.length && s[i] !== "+") {
    if (!isIdentChar(s[i]) && s[i] !== ".") return undefined;
    if (s[i] === ".") {
      if (start === i || isBadNum(s.slice(start, i))) return undefined;
      start = i + 1;
    }
    i++;
  }
  if (start === i || isBadNum(s.slice(start, i))) return undefined;
  return [s.slice(0, i), s.slice(i)];
}

/** `+ident(.ident)*` to the end. */
function parseBuild(s: string): [string, string] | undefined {
  if (!s.startsWith("+")) return undefined;
  let start = 1;
  for (let i = 1; i < s.length; i++) {
    if (!isIdentChar(s[i]) && s[i] !== ".") return undefined;
    if (s[i] === ".") {
      if (start === i) return undefined;
      start = i + 1;
    }
  }
  if (start === s.length) return undefined;
  return [s, ""];
}

function parse(v: string): Parsed | undefined {
  if (!v.startsWith("v")) return undefined;
  const maj = parseInt(v.slice(1));
  if (!maj) return undefined;
  const major = maj[0];
  let rest = maj[1];
  if (rest === "") return { major, minor: "0", patch: "0", short: ".0.0", prerelease: "", build: "" };
  if (rest[0] !== ".") return undefined;
  const min = parseInt(rest.slice(1));
  if (!min) return undefined;
  const minor = min[0];
  rest = min[1];
  if (rest === "") return { major, minor, patch: "0", short: ".0", prerelease: "", build: "" };
  if (rest[0] !== ".") return undefined;
  const pat = parseInt(rest.slice(1));
  if (!pat) return undefined;
  const patch = pat[0];
  rest = pat[1];
  let prerelease = "";
  let build = "";
  if (rest.startsWith("-")) {
    const pre = parsePrerelease(rest);
    if (!pre) return undefined;
    [prerelease, rest] = pre;
  }
  if (rest.startsWith("+")) {
    const b = parseBuild(rest);
    if (!b) return undefined;
    [build, rest] = b;
  }
  if (rest !== "") return undefined;
  return { major, minor, patch, short: "", prerelease, build };
}

/** Whether `v` is a valid semantic version in Go's sense (leading `v` required). */
export function isValid(v: string): boolean {
  return parse(v) !== undefined;
}

/**
 * The canonical form of `v` (Go's semver.Canonical): shorthands filled in (`v1` -> `v1.0.0`)
 * and build metadata dropped, `+incompatible` included; `""` when `v` is invalid.
 * For the module-version form that keeps `+incompatible`, use {@link canonicalVersion}.
 */
export function canonical(v: string): string {
  const p = parse(v);
  if (!p) return "";
  if (p.build !== "") return v.slice(0, v.length - p.build.length);
  return v + p.short;
}

/**
 * The canonical form of a module version (x/mod's module.CanonicalVersion): like
 * {@link canonical} but keeping a `+incompatible` suffix, the one build suffix that carries
 * meaning for modules.
 */
export function canonicalVersion(v: string): string {
  const cv = canonical(v);
  return build(v) === "+incompatible" ? cv + "+incompatible" : cv;
}

/** Whether `v` is a module version in canonical form (`v1.2.3`, `v1.2.3-pre`, `v2.0.0+incompatible`). */
export function isCanonicalVersion(v: string): boolean {
  return v !== "" && canonicalVersion(v) === v;
}

/** The major version prefix (`v2.1.0` -> `v2`), or `""` when `v` is invalid. */
export function major(v: string): string {
  const p = parse(v);
  return p ? v.slice(0, 1 + p.major.length) : "";
}

/** The major.minor prefix (`v2.1.0` -> `v2.1`, `v2` -> `v2.0`), or `""` when `v` is invalid. */
export function majorMinor(v: string): string {
  const p = parse(v);
  if (!p) return "";
  const i = 1 + p.major.length;
  const j = i + 1 + p.minor.length;
  if (j <= v.length && v[i] === "." && v.slice(i + 1, j) === p.minor) return v.slice(0, j);
  return v.slice(0, i) + "." + p.minor;
}

/** The prerelease suffix including its `-` (`v2.1.0-pre+meta` -> `-pre`), or `""`. */
export function prerelease(v: string): string {
  return parse(v)?.prerelease ?? "";
}

/** The build suffix including its `+` (`v2.1.0+meta` -> `+meta`), or `""`. */
export function build(v: string): string {
  return parse(v)?.build ?? "";
}

function compareInt(x: string, y: string): number {
  if (x === y) return 0;
  if (x.length !== y.length) return x.length < y.length ? -1 : 1;
  return x < y ? -1 : 1;
}

function comparePrerelease(x: string, y: string): number {
  if (x === y) return 0;
  // A release sorts above any of its prereleases.
  if (x === "") return 1;
  if (y === "") return -1;
  const xs = x.slice(1).split(".");
  const ys = y.slice(1).split(".");
  for (let i = 0; i < xs.length && i < ys.length; i++) {
    const dx = xs[i];
    const dy = ys[i];
    if (dx === dy) continue;
    const nx = isNum(dx);
    const ny = isNum(dy);
    // Numeric identifiers sort below alphanumeric ones, and numerically among themselves.
    if (nx !== ny) return nx ? -1 : 1;
    if (nx && dx.length !== dy.length) return dx.length < dy.length ? -1 : 1;
    return dx < dy ? -1 : 1;
  }
  // With all shared identifiers equal, the longer list sorts higher.
  return xs.length < ys.length ? -1 : 1;
}

/**
 * Compares two versions by semver precedence: -1, 0 or +1. Build metadata is ignored; an
 * invalid version sorts below every valid one, and invalid versions are all equal.
 */
export function compare(v: string, w: string): number {
  const pv = parse(v);
  const pw = parse(w);
  if (!pv && !pw) return 0;
  if (!pv) return -1;
  if (!pw) return 1;
  return (
    compareInt(pv.major, pw.major) ||
    compareInt(pv.minor, pw.minor) ||
    compareInt(pv.patch, pw.patch) ||
    comparePrerelease(pv.prerelease, pw.prerelease)
  );
}

/** The greater of two versions, both canonicalised first (Go's deprecated semver.Max). */
export function max(v: string, w: string): string {
  const cv = canonical(v);
  const cw = canonical(w);
  return compare(cv, cw) > 0 ? cv : cw;
}

/**
 * Go's version order with a total tie-break (semver.Sort's ByVersion): by precedence, then
 * equal-precedence strings (`v1.0.0` vs `v1.0.0+meta`, or two invalid strings) by byte order.
 */
export function compareVersions(v: string, w: string): number {
  return compare(v, w) || compareStrings(v, w);
}

/** A sorted copy of `list`, in the order Go's semver.Sort gives. */
export function sortVersions(list: readonly string[]): string[] {
  return [...list].sort(compareVersions);
}

/** A module path and version pair, as go.sum lines and build lists hold them. */
export interface ModuleVersion {
  readonly path: string;
  readonly version: string;
}

/**
 * x/mod's module.Sort order: by path, then by version, where a version may carry a `/file`
 * suffix (go.sum's `v1.0.0/go.mod`) compared as a plain string after the version part.
 * Pairs this order leaves equal (`v1.0.0` vs `v1.0.0+meta`) keep their input order; Go's sort
 * is not stable, so x/mod may order such pairs either way.
 */
export function compareModuleVersions(a: ModuleVersion, b: ModuleVersion): number {
  if (a.path !== b.path) return compareStrings(a.path, b.path);
  const [va, fa] = splitFileSuffix(a.version);
  const [vb, fb] = splitFileSuffix(b.version);
  if (va !== vb) return compare(va, vb);
  return compareStrings(fa, fb);
}

function splitFileSuffix(version: string): [string, string] {
  const k = version.indexOf("/");
  return k < 0 ? [version, ""] : [version.slice(0, k), version.slice(k)];
}

/** A sorted copy of `list` in x/mod's module.Sort order (stable for pairs it leaves equal). */
export function sortModuleVersions<T extends ModuleVersion>(list: readonly T[]): T[] {
  return [...list].sort(compareModuleVersions);
}
