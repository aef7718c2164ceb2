import { invalid, ProxyError } from "../errors";
import { byteLength, isValidUtf8, quote, quoteRune, runes } from "./gotext";
import { build, major } from "./semver";

/**
 * Go's rules for module paths, import paths and file paths (golang.org/x/mod/module), and for
 * how a module path's major version suffix (`/v2`, gopkg.in's `.v2`) constrains its versions.
 * Messages are the ones the go command prints, so a client sees the words it would see locally.
 */

/** The three kinds of path x/mod checks; each allows a different set of characters. */
export type PathKind = "module" | "import" | "file";

/** Longest module path the proxy accepts. Go sets no limit; anything near it is an attack. */
export const MAX_MODULE_PATH_BYTES = 1024;

// Reserved device names on Windows; an element whose part before the first dot is one of these
// (in any case) cannot be a file name there.
const WINDOWS_RESERVED = new Set([
  "CON",
  "PRN",
  "AUX",
  "NUL",
  ...[1, 2, 3, 4, 5, 6, 7, 8, 9].flatMap((n) => [`COM${n}`, `LPT${n}`]),
]);

const isDigit = (r: number) => r >= 0x30 && r <= 0x39;
const isLower = (r: number) => r >= 0x61 && r <= 0x7a;
const isUpper = (r: number) => r >= 0x41 && r <= 0x5a;
const LETTER = /^\p{L}$/u;

/** Characters of a module path's first element: a lower-case LDH domain name. */
function firstElementOK(r: number): boolean {
  return r === 0x2d || r === 0x2e || isDigit(r) || isLower(r);
}

/** ASCII letters and digits plus `-` `.` `_` `~`. */
function modulePathOK(r: number): boolean {
  return r === 0x2d || r === 0x2e || r === 0x5f || r === 0x7e || isDigit(r) || isLower(r) || isUpper(r);
}

// Punctuation a file name may hold; shell- and OS-special characters are left out.
const FILE_PUNCTUATION = new Set(Array.from("!#$%&()+,-.=@[]^_{}~ ", (c) => c.charCodeAt(0)));

function fileNameOK(r: number): boolean {
  if (r < 0x80) return isDigit(r) || isLower(r) || isUpper(r) || FILE_PUNCTUATION.has(r);
  return LETTER.test(String.fromCodePoint(r));
}

function charOK(r: number, kind: PathKind): boolean {
  switch (kind) {
    case "module":
      return modulePathOK(r);
    case "import":
      return modulePathOK(r) || r === 0x2b; // `+`, as in `c++` binaries
    case "file":
      return fileNameOK(r);
  }
}

/** What is wrong with one path element, in x/mod's words, or undefined when it is fine. */
export function elementProblem(elem: string, kind: PathKind): string | undefined {
  if (elem === "") return "empty path element";
  if (/^\.+$/.test(elem)) return `invalid path element ${quote(elem)}`;
  if (elem.startsWith(".") && kind === "module") return "leading dot in path element";
  if (elem.endsWith(".")) return "trailing dot in path element";
  for (const r of runes(elem)) {
    if (!charOK(r, kind)) return `invalid char ${quoteRune(r)}`;
  }
  const dot = elem.indexOf(".");
  const short = dot >= 0 ? elem.slice(0, dot) : elem;
  // Every reserved name is ASCII letters and digits without case-folding oddities (no K or S),
  // so an ASCII upper-casing is the same test as Go's strings.EqualFold.
  if (WINDOWS_RESERVED.has(asciiUpper(short))) {
    return `${quote(short)} disallowed as path element component on Windows`;
  }
  if (kind === "file") return undefined; // Windows short names only matter for import paths
  const tilde = short.lastIndexOf("~");
  if (tilde >= 0 && tilde < short.length - 1 && /^[0-9]+$/.test(short.slice(tilde + 1))) {
    return "trailing tilde and digits in path element";
  }
  return undefined;
}

function asciiUpper(s: string): string {
  return s.replace(/[a-z]+/g, (m) => m.toUpperCase());
}

/** The checks all three path kinds share (x/mod's unexported checkPath). */
function generalProblem(path: string, kind: PathKind): string | undefined {
  if (!isValidUtf8(path)) return "invalid UTF-8";
  if (path === "") return "empty string";
  if (path.startsWith("-") && kind !== "file") return "leading dash";
  if (path.includes("//")) return "double slash";
  if (path.endsWith("/")) return "trailing slash";
  for (const elem of path.split("/")) {
    const problem = elementProblem(elem, kind);
    if (problem) return problem;
  }
  return undefined;
}

/** What is wrong with a module path, in x/mod's words (without the "malformed" prefix). */
export function modulePathProblem(path: string): string | undefined {
  const general = generalProblem(path, "module");
  if (general) return general;
  const slash = path.indexOf("/");
  const first = slash < 0 ? path : path.slice(0, slash);
  if (slash === 0) return "leading slash";
  if (!first.includes(".")) return "missing dot in first path element";
  if (path.startsWith("-")) return "leading dash in first path element";
  for (const r of runes(first)) {
    if (!firstElementOK(r)) return `invalid char ${quoteRune(r)} in first path element`;
  }
  if (!splitPathVersion(path)) return "invalid version";
  return undefined;
}

function malformed(kind: PathKind, path: string, problem: string): ProxyError {
  return invalid(`malformed ${kind} path ${quote(path)}: ${problem}`);
}

/**
 * Checks a module path (x/mod's CheckPath): an import path whose first element is a lower-case
 * domain name with a dot, with a well-formed major version suffix.
 * @throws ProxyError "invalid" with x/mod's message
 */
export function checkPath(path: string): void {
  const problem = modulePathProblem(path);
  if (problem) throw malformed("module", path, problem);
}

/** checkPath as a predicate. */
export function isValidModulePath(path: string): boolean {
  return modulePathProblem(path) === undefined;
}

/**
 * Checks a package import path (x/mod's CheckImportPath).
 * @throws ProxyError "invalid" with x/mod's message
 */
export function checkImportPath(path: string): void {
  const problem = generalProblem(path, "import");
  if (problem) throw malformed("import", path, problem);
}

/**
 * Checks a slash-separated file path inside a module (x/mod's CheckFilePath).
 * @throws ProxyError "invalid" with x/mod's message
 */
export function checkFilePath(path: string): void {
  const problem = generalProblem(path, "file");
  if (problem) throw malformed("file", path, problem);
}

/**
 * Rejects module paths longer than {@link MAX_MODULE_PATH_BYTES}. Go itself has no bound; this
 * one keeps absurd request paths away from storage keys and upstream URLs.
 * @throws ProxyError "invalid"
 */
export function checkPathLength(path: string): void {
  const n = byteLength(path);
  if (n > MAX_MODULE_PATH_BYTES) {
    throw invalid(
      `malformed module path ${quote(path.slice(0, 64))}...: ${n} bytes long, over the limit of ` +
        `${MAX_MODULE_PATH_BYTES} bytes; no module path is that long`,
    );
  }
}

/** A module path split into its prefix and major version suffix. */
export interface PathVersion {
  /** The path without its major version suffix. */
  readonly prefix: string;
  /** `""`, `/vN` (N >= 2), or for gopkg.in `.vN` (optionally `-unstable`). */
  readonly pathMajor: string;
}

/**
 * Splits `path` into prefix and major version suffix (x/mod's SplitPathVersion), or returns
 * undefined when the final element looks like a version but is not an allowed one
 * (`/v1`, `/v0`, `/v02`, `/v2.1`, a gopkg.in path without `.vN`).
 */
export function splitPathVersion(path: string): PathVersion | undefined {
  if (path.startsWith("gopkg.in/")) return splitGopkgIn(path);
  let i = path.length;
  let dot = false;
  while (i > 0 && /[0-9.]/.test(path[i - 1])) {
    if (path[i - 1] === ".") dot = true;
    i--;
  }
  if (i <= 1 || i === path.length || path[i - 1] !== "v" || path[i - 2] !== "/") {
    return { prefix: path, pathMajor: "" };
  }
  const prefix = path.slice(0, i - 2);
  const pathMajor = path.slice(i - 2);
  if (dot || pathMajor.length <= 2 || pathMajor[2] === "0" || pathMajor === "/v1") return undefined;
  return { prefix, pathMajor };
}

function splitGopkgIn(path: string): PathVersion | undefined {
  let i = path.length;
  if (path.endsWith("-unstable")) i -= "-unstable".length;
  while (i > 0 && isDigit(path.charCodeAt(i - 1))) i--;
  // Every gopkg.in path ends in .vN.
  if (i <= 1 || path[i - 1] !== "v" || path[i - 2] !== ".") return undefined;
  const prefix = path.slice(0, i - 2);
  const pathMajor = path.slice(i - 2);
  if (pathMajor.length <= 2 || (pathMajor[2] === "0" && pathMajor !== ".v0")) return undefined;
  return { prefix, pathMajor };
}

/**
 * Why version `v` does not fit the path major version `pathMajor` (x/mod's CheckPathMajor),
 * as x/mod words it (`should be v0 or v1, not v2`), or undefined when it fits.
 */
export function pathMajorMismatch(v: string, pathMajor: string): string | undefined {
  let want = pathMajor;
  if (want.startsWith(".v") && want.endsWith("-unstable")) want = want.slice(0, -"-unstable".length);
  // An old go command bug produced v0.0.0- pseudo-versions for gopkg.in .v1 paths; they stay valid.
  if (v.startsWith("v0.0.0-") && want === ".v1") return undefined;
  const m = major(v);
  if (want === "") {
    if (m === "v0" || m === "v1" || build(v) === "+incompatible") return undefined;
    want = "v0 or v1";
  } else if (want.startsWith("/") || want.startsWith(".")) {
    if (m === want.slice(1)) return undefined;
    want = want.slice(1);
  }
  return `should be ${want}, not ${m}`;
}

/**
 * Checks that version `v` fits the path major version `pathMajor` (x/mod's CheckPathMajor):
 * `""` takes v0, v1 and `+incompatible` versions; `/vN` and `.vN` take vN only.
 * @throws ProxyError "invalid" with x/mod's message
 */
export function checkPathMajor(v: string, pathMajor: string): void {
  const mismatch = pathMajorMismatch(v, pathMajor);
  if (mismatch) throw invalid(`version ${quote(v)} invalid: ${mismatch}`);
}

/** Whether version `v` fits the path major version `pathMajor` (x/mod's MatchPathMajor). */
export function matchPathMajor(v: string, pathMajor: string): boolean {
  return pathMajorMismatch(v, pathMajor) === undefined;
}
