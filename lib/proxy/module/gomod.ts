/**
 * The few facts about a go.mod file that serving a module needs, read the way the go command
 * reads them (golang.org/x/mod/modfile): the declared module path, the go.mod synthesised for a
 * module without one, and the `retract` directives (which shape pseudo-version bases).
 */

/** Go's limit on a go.mod file (x/mod zip.MaxGoMod, cmd/go codehost.MaxGoMod): 16 MiB. */
export const MAX_GO_MOD = 16 << 20;

/**
 * The module path declared by a go.mod file, or "" when it has none or a malformed one
 * (modfile.ModulePath: the first `module` line; a quoted path is unquoted).
 */
export function modulePath(gomod: Buffer | string): string {
  const text = typeof gomod === "string" ? gomod : gomod.toString("latin1");
  for (let line of text.split("\n")) {
    const comment = line.indexOf("//");
    if (comment >= 0) line = line.slice(0, comment);
    line = trimGoSpace(line);
    if (!line.startsWith("module")) continue;
    const rest = line.slice("module".length);
    const trimmed = trimGoSpace(rest);
    // `modulex` is not a module line; `module` alone has no path.
    if (trimmed.length === rest.length || trimmed.length === 0) continue;
    if (trimmed[0] === '"' || trimmed[0] === "`") {
      const unquoted = unquote(trimmed);
      return unquoted ?? "";
    }
    return Buffer.from(trimmed, "latin1").toString("utf8");
  }
  return "";
}

/** The go.mod the go command serves for a module that has none: `module <path>\n`. */
export function legacyGoMod(path: string): Buffer {
  return Buffer.from(`module ${autoQuote(path)}\n`, "utf8");
}

/** A closed interval of retracted versions (a single version has `low === high`). */
export interface RetractInterval {
  readonly low: string;
  readonly high: string;
}

/**
 * The `retract` directives of a go.mod file, parsed leniently (like modfile.ParseLax: only
 * the retract lines are looked at; a malformed one is skipped rather than failing the file).
 */
export function retractions(gomod: Buffer | string): RetractInterval[] {
  const text = typeof gomod === "string" ? gomod : gomod.toString("utf8");
  const out: RetractInterval[] = [];
  let inBlock = false;
  for (const raw of text.split("\n")) {
    let line = stripComment(raw).trim();
    if (inBlock) {
      if (line === ")") {
        inBlock = false;
        continue;
      }
      const interval = parseInterval(line);
      if (interval) out.push(interval);
      continue;
    }
    if (!/^retract\b/.test(line)) continue;
    line = line.slice("retract".length).trim();
    if (line === "(") {
      inBlock = true;
      continue;
    }
    const interval = parseInterval(line);
    if (interval) out.push(interval);
  }
  return out;
}

function parseInterval(text: string): RetractInterval | undefined {
  if (text === "") return undefined;
  const range = /^\[\s*(\S+?)\s*,\s*(\S+?)\s*\]$/.exec(text);
  if (range) {
    const low = unquoteVersion(range[1]);
    const high = unquoteVersion(range[2]);
    return low && high ? { low, high } : undefined;
  }
  if (/\s/.test(text)) return undefined;
  const v = unquoteVersion(text);
  return v ? { low: v, high: v } : undefined;
}

function unquoteVersion(s: string): string | undefined {
  if (s.startsWith('"') || s.startsWith("`")) return unquote(s);
  return s;
}

/** Removes a `//` comment that is not inside a quoted string. */
function stripComment(line: string): string {
  let quote = "";
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === "\\" && quote === '"') i++;
      else if (c === quote) quote = "";
    } else if (c === '"' || c === "`") quote = c;
    else if (c === "/" && line[i + 1] === "/") return line.slice(0, i);
  }
  return line;
}

/** Go's bytes.TrimSpace for the ASCII whitespace a go.mod can hold. */
function trimGoSpace(s: string): string {
  return s.replace(/^[\t\n\v\f\r \u0085\u00a0]+|[\t\n\v\f\r \u0085\u00a0]+$/g, "");
}

/** strconv.Unquote for the forms a go.mod uses: a "double-quoted" or `raw` string. */
function unquote(s: string): string | undefined {
  if (s.length < 2) return undefined;
  const q = s[0];
  if (s[s.length - 1] !== q) return undefined;
  const body = s.slice(1, -1);
  if (q === "`") return body.includes("`") || body.includes("\n") ? undefined : body;
  try {
    const v: unknown = JSON.parse(`"${body.replace(/\\x([0-9a-fA-F]{2})/g, "\\u00$1")}"`);
    return typeof v === "string" ? v : undefined;
  } catch {
    return undefined;
  }
}

/** modfile.MustQuote: whether a path needs quoting to appear in a go.mod. */
function mustQuote(s: string): boolean {
  for (const c of s) {
    if (c === " " || c === '"' || c === "'" || c === "`") return true;
    if ("()[]{},".includes(c) && s.length > 1) return true;
    if (/[\p{Cc}\p{Cf}\p{Co}\p{Cs}\p{Zl}\p{Zp}\p{Zs}]/u.test(c) && c !== " ") return true;
  }
  return s === "" || s.includes("//") || s.includes("/*");
}

function autoQuote(s: string): string {
  return mustQuote(s) ? JSON.stringify(s) : s;
}
