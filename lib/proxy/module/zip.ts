import { MAX_GO_MOD } from "./gomod";
import { checkFilePath } from "./path";

/**
 * Go's module zip rules (golang.org/x/mod/zip `Create` and its `checkFiles`), independent of
 * where the files come from: which files a module zip holds, which are silently left out, which
 * make the whole zip invalid, and the size limits. The order of the checks is x/mod's, because it
 * decides which reason a file gets (a symlink colliding with a file is a collision, not an omission).
 */

/** Largest total size of the files in a module zip: 500 MiB. */
export const MAX_ZIP_FILE = 500 << 20;
/** Largest LICENSE file: 16 MiB. */
export const MAX_LICENSE = 16 << 20;

/** One file offered for a module zip, named relative to the module root with `/`. */
export interface ModuleFile {
  readonly path: string;
  /** Regular file, symbolic link, or anything else (a submodule, a directory). */
  readonly kind: "file" | "symlink" | "other";
  /** Size in bytes (regular files). */
  readonly size: number;
  /** The content (only called for files that go into the zip). */
  read(): Promise<Buffer>;
}

export interface FileProblem {
  readonly path: string;
  readonly reason: string;
}

export interface CheckedFiles {
  /** Files that go into the zip, in the order given. */
  readonly valid: ModuleFile[];
  /** Files left out on purpose (vendored packages, nested modules, symlinks, ...). */
  readonly omitted: FileProblem[];
  /** Files that make the module unusable: any one of them fails the zip. */
  readonly invalid: FileProblem[];
  /** Set when the files together exceed MAX_ZIP_FILE. */
  readonly sizeError?: string;
}

/** Sorts files into valid, omitted and invalid as x/mod's checkFiles does. */
export function checkModuleFiles(files: readonly ModuleFile[]): CheckedFiles {
  const valid: ModuleFile[] = [];
  const omitted: FileProblem[] = [];
  const invalid: FileProblem[] = [];
  const seen = new Set<string>();
  const problem = (path: string, isOmitted: boolean, reason: string): void => {
    if (seen.has(path)) return;
    seen.add(path);
    (isOmitted ? omitted : invalid).push({ path, reason });
  };

  // Directories (other than the root) holding a go.mod are nested modules: left out.
  const haveGoMod = new Set<string>();
  for (const f of files) {
    const slash = f.path.lastIndexOf("/");
    const base = f.path.slice(slash + 1);
    if (base.toLowerCase() === "go.mod" && f.kind === "file") haveGoMod.add(f.path.slice(0, slash + 1));
  }
  const inNestedModule = (p: string): boolean => {
    for (let dir = parentDir(p); dir !== ""; dir = parentDir(dir.slice(0, -1))) {
      if (haveGoMod.has(dir)) return true;
    }
    return false;
  };

  const collisions = new CollisionChecker();
  let budget = MAX_ZIP_FILE;
  let sizeError: string | undefined;
  for (const f of files) {
    const p = f.path;
    if (p !== cleanPath(p)) {
      problem(p, false, "file path is not clean");
      continue;
    }
    if (p.startsWith("/")) {
      problem(p, false, "file path is not relative");
      continue;
    }
    if (isVendoredPackage(p)) {
      problem(p, true, "file is in vendor directory");
      continue;
    }
    if (inNestedModule(p)) {
      problem(p, true, "file is in another module");
      continue;
    }
    if (p === ".hg_archival.txt") {
      problem(p, true, "file is inserted by 'hg archive' and is always omitted");
      continue;
    }
    try {
      checkFilePath(p);
    } catch (err) {
      problem(p, false, err instanceof Error ? err.message : String(err));
      continue;
    }
    if (p.toLowerCase() === "go.mod" && p !== "go.mod") {
      problem(p, false, "go.mod files must have lowercase names");
      continue;
    }
    const collision = collisions.check(p, false);
    if (collision) {
      problem(p, false, collision);
      continue;
    }
    if (f.kind === "symlink") {
      problem(p, true, "file is a symbolic link");
      continue;
    }
    if (f.kind !== "file") {
      problem(p, true, "not a regular file");
      continue;
    }
    if (f.size >= 0 && f.size <= budget) budget -= f.size;
    else sizeError ??= `module source tree too large (max size is ${MAX_ZIP_FILE} bytes)`;
    if (p === "go.mod" && f.size > MAX_GO_MOD) {
      problem(p, false, `go.mod file too large (max size is ${MAX_GO_MOD} bytes)`);
      continue;
    }
    if (p === "LICENSE" && f.size > MAX_LICENSE) {
      problem(p, false, `LICENSE file too large (max size is ${MAX_LICENSE} bytes)`);
      continue;
    }
    valid.push(f);
  }
  return { valid, omitted, invalid, ...(sizeError ? { sizeError } : {}) };
}

/** x/mod isVendoredPackage, including its historical offset quirk (kept for checksum stability). */
export function isVendoredPackage(name: string): boolean {
  let i: number;
  if (name.startsWith("vendor/")) {
    i = "vendor/".length;
  } else if (name.includes("/vendor/")) {
    // x/mod adds len("/vendor/") to 0, not to the match position: a file is treated as vendored
    // when a "/" follows the 8th character. Module checksums depend on this, so it stays.
    i = "/vendor/".length;
  } else {
    return false;
  }
  return name.slice(i).includes("/");
}

/** Go's path.Clean for a slash-separated relative path (enough to compare against). */
function cleanPath(p: string): string {
  if (p === "") return ".";
  const rooted = p.startsWith("/");
  const out: string[] = [];
  for (const part of p.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
      else if (!rooted) out.push("..");
      continue;
    }
    out.push(part);
  }
  const joined = out.join("/");
  if (rooted) return `/${joined}`;
  return joined === "" ? "." : joined;
}

function parentDir(p: string): string {
  return p.slice(0, p.lastIndexOf("/") + 1);
}

/** Case-insensitive collision detection over files and their parent directories. */
class CollisionChecker {
  private readonly seen = new Map<string, { path: string; isDir: boolean }>();

  check(p: string, isDir: boolean): string | undefined {
    const fold = strToFold(p);
    const other = this.seen.get(fold);
    if (other) {
      if (p !== other.path) return `case-insensitive file name collision: "${other.path}" and "${p}"`;
      if (isDir !== other.isDir) return `entry "${p}" is both a file and a directory`;
      if (!isDir) return `multiple entries for file "${p}"`;
    } else {
      this.seen.set(fold, { path: p, isDir });
    }
    const slash = p.lastIndexOf("/");
    return slash > 0 ? this.check(p.slice(0, slash), true) : undefined;
  }
}

/** x/mod strToFold: each rune replaced by the smallest rune of its case-folding orbit, A-Z lowered. */
export function strToFold(s: string): string {
  if (!/[A-Z\u0080-\uffff]/.test(s)) return s;
  let out = "";
  for (const ch of s) {
    const candidates = [
      ch,
      ch.toLowerCase(),
      ch.toUpperCase(),
      ch.toUpperCase().toLowerCase(),
      ch.toLowerCase().toUpperCase(),
    ]
      .filter((c) => [...c].length === 1)
      .map((c) => c.codePointAt(0) as number);
    let r = Math.min(...candidates);
    if (r >= 0x41 && r <= 0x5a) r += 0x20;
    out += String.fromCodePoint(r);
  }
  return out;
}
