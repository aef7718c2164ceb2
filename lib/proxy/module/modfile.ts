import { ProxyError } from "../errors";
import { isPrint, quote, quoteRune } from "./gotext";
import { modulePathProblem, pathMajorMismatch, splitPathVersion } from "./path";
import { canonicalVersion } from "./semver";

/**
 * go.mod files as the go command reads them for a dependency: golang.org/x/mod/modfile's
 * ParseLax (the syntax of the whole file, and the `module`, `go` and `require` lines; other
 * directives are skipped, and `retract` errors are ignored in lax mode), and the check a
 * downloaded go.mod must pass before the go command trusts it.
 */

/** What a lax parse keeps: the module path, when the file has a `module` line. */
export interface LaxGoMod {
  readonly module: string | undefined;
}

export class GoModSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "GoModSyntaxError";
  }
}

const EOF = -1;
const EOL_COMMENT = -2;
const IDENT = -3;
const STRING = -4;
const COMMENT = -5;
const NEWLINE = 0x0a;

interface Token {
  readonly kind: number;
  readonly text: string;
  readonly line: number;
}

interface Line {
  readonly tokens: string[];
  readonly line: number;
}

interface Block extends Line {
  readonly lines: Line[];
}

/** The runes of `data` as Go's utf8.DecodeRune yields them: an invalid byte is U+FFFD alone. */
function decodeRunes(data: Buffer): number[] {
  const out: number[] = [];
  for (let i = 0; i < data.length;) {
    const b = data[i];
    let need: number;
    let cp: number;
    let min: number;
    if (b < 0x80) [need, cp, min] = [0, b, 0];
    else if (b >= 0xc2 && b <= 0xdf) [need, cp, min] = [1, b & 0x1f, 0x80];
    else if (b >= 0xe0 && b <= 0xef) [need, cp, min] = [2, b & 0x0f, 0x800];
    else if (b >= 0xf0 && b <= 0xf4) [need, cp, min] = [3, b & 0x07, 0x10000];
    else [need, cp, min] = [-1, 0, 0];
    let ok = need >= 0;
    for (let k = 1; ok && k <= need; k++) {
      const c = data[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) ok = false;
      else cp = (cp << 6) | (c & 0x3f);
    }
    if (ok && (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))) ok = false;
    out.push(ok ? cp : 0xfffd);
    i += ok ? need + 1 : 1;
  }
  return out;
}

const WHITE_SPACE = new Set([
  0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0x85, 0xa0, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000,
]);

/** Go's unicode.IsSpace. */
function isSpace(r: number): boolean {
  return WHITE_SPACE.has(r) || (r >= 0x2000 && r <= 0x200a);
}

function isIdent(r: number): boolean {
  if (" ()[]{},".includes(String.fromCodePoint(r))) return false;
  return !isSpace(r) && isPrint(r);
}

const PUNCTUATION = new Set(Array.from("\n()[]{},", (c) => c.charCodeAt(0)));

/** modfile's lexer and parser (read.go), keeping what the lax checks need: tokens per line. */
class Parser {
  private pos = 0;
  private line = 1;
  private column = 1;
  private token!: Token;
  readonly statements: (Line | Block)[] = [];

  constructor(private readonly runes: number[]) {}

  parse(): void {
    this.readToken();
    for (;;) {
      switch (this.token.kind) {
        case NEWLINE:
        case COMMENT:
          this.lex();
          break;
        case EOF:
          return;
        default:
          this.parseStatement();
      }
    }
  }

  private fail(message: string, line = this.line, column = this.column): never {
    // As modfile prints a position: the column only when it is not the first.
    throw new GoModSyntaxError(
      column > 1 ? `go.mod:${line}:${column}: ${message}` : `go.mod:${line}: ${message}`,
    );
  }

  private peekRune(offset = 0): number {
    return this.runes[this.pos + offset] ?? 0;
  }

  private eof(): boolean {
    return this.pos >= this.runes.length;
  }

  private readRune(): number {
    const r = this.runes[this.pos++];
    if (r === NEWLINE) {
      this.line++;
      this.column = 1;
    } else this.column++;
    return r;
  }

  private startsWith(prefix: string): boolean {
    for (let i = 0; i < prefix.length; i++) if (this.peekRune(i) !== prefix.charCodeAt(i)) return false;
    return true;
  }

  private lex(): Token {
    const token = this.token;
    this.readToken();
    return token;
  }

  private readToken(): void {
    while (!this.eof()) {
      const c = this.peekRune();
      if (c === 0x20 || c === 0x09 || c === 0x0d) {
        this.readRune();
        continue;
      }
      if (this.startsWith("//")) {
        const line = this.line;
        // A comment alone on its line is a statement of its own; after tokens it ends the line.
        let alone = true;
        for (let i = this.pos - 1; i >= 0 && this.runes[i] !== NEWLINE; i--) {
          if (!isSpace(this.runes[i])) alone = false;
        }
        while (!this.eof() && this.readRune() !== NEWLINE);
        this.token = { kind: alone ? COMMENT : EOL_COMMENT, text: "", line };
        return;
      }
      if (this.startsWith("/*")) this.fail("mod files must use // comments (not /* */ comments)");
      break;
    }
    const start = this.pos;
    const line = this.line;
    const column = this.column;
    if (this.eof()) {
      this.token = { kind: EOF, text: "", line };
      return;
    }
    const c = this.peekRune();
    if (PUNCTUATION.has(c)) {
      this.readRune();
      this.token = { kind: c, text: String.fromCodePoint(c), line };
      return;
    }
    if (c === 0x22 || c === 0x60) {
      this.readRune();
      for (;;) {
        if (this.eof()) this.fail("unexpected EOF in string", line, column);
        if (this.peekRune() === NEWLINE) this.fail("unexpected newline in string");
        const r = this.readRune();
        if (r === c) break;
        if (r === 0x5c && c !== 0x60) {
          if (this.eof()) this.fail("unexpected EOF in string", line, column);
          this.readRune();
        }
      }
      this.token = { kind: STRING, text: String.fromCodePoint(...this.runes.slice(start, this.pos)), line };
      return;
    }
    if (!isIdent(c)) this.fail(`unexpected input character ${quoteRune(c)}`);
    while (isIdent(this.peekRune()) && !this.eof()) {
      if (this.startsWith("//")) break;
      if (this.startsWith("/*")) this.fail("mod files must use // comments (not /* */ comments)");
      this.readRune();
    }
    this.token = { kind: IDENT, text: String.fromCodePoint(...this.runes.slice(start, this.pos)), line };
  }

  private isEOL(kind: number): boolean {
    return kind === EOF || kind === EOL_COMMENT || kind === NEWLINE;
  }

  private parseStatement(): void {
    const first = this.lex();
    const tokens = [first.text];
    for (;;) {
      const token = this.lex();
      if (this.isEOL(token.kind)) {
        this.statements.push({ tokens, line: first.line });
        return;
      }
      if (token.kind === 0x28 /* ( */) {
        const next = this.token.kind;
        if (this.isEOL(next)) {
          this.statements.push(this.parseBlock(tokens, first.line));
          return;
        }
        if (next === 0x29 /* ) */) {
          this.lex();
          if (this.isEOL(this.token.kind)) {
            this.lex();
            this.statements.push({ tokens, line: first.line, lines: [] });
            return;
          }
          tokens.push("(", ")");
          continue;
        }
      }
      tokens.push(token.text);
    }
  }

  private parseBlock(tokens: string[], line: number): Block {
    const lines: Line[] = [];
    for (;;) {
      switch (this.token.kind) {
        case EOL_COMMENT:
        case NEWLINE:
        case COMMENT:
          this.lex();
          break;
        case EOF:
          this.fail(`syntax error (unterminated block started at go.mod:${line}:1)`);
          break;
        case 0x29 /* ) */:
          this.lex();
          if (!this.isEOL(this.token.kind)) this.fail("syntax error (expected newline after closing paren)");
          this.lex();
          return { tokens, line, lines };
        default: {
          const first = this.lex();
          const words = [first.text];
          while (!this.isEOL(this.token.kind)) words.push(this.lex().text);
          this.lex();
          lines.push({ tokens: words, line: first.line });
        }
      }
    }
  }
}

const SIMPLE_ESCAPES: Record<string, string> = {
  a: "\x07",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
  v: "\v",
  "\\": "\\",
  '"': '"',
};

/** strconv.Unquote of a double-quoted Go string literal; undefined when it is not one. */
function unquote(s: string): string | undefined {
  if (s.length < 2 || !s.startsWith('"') || !s.endsWith('"')) return undefined;
  const body = s.slice(1, -1);
  let out = "";
  for (let i = 0; i < body.length;) {
    const c = body[i];
    if (c === '"' || c === "\n") return undefined;
    if (c !== "\\") {
      out += c;
      i++;
      continue;
    }
    const e = body[i + 1];
    if (e === undefined) return undefined;
    if (e in SIMPLE_ESCAPES) {
      out += SIMPLE_ESCAPES[e];
      i += 2;
    } else if (e === "x" || e === "u" || e === "U") {
      const n = e === "x" ? 2 : e === "u" ? 4 : 8;
      const digits = body.slice(i + 2, i + 2 + n);
      if (!new RegExp(`^[0-9A-Fa-f]{${n}}$`).test(digits)) return undefined;
      const v = parseInt(digits, 16);
      if (e !== "x" && (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))) return undefined;
      // A \x byte above 0x7f is not UTF-8 on its own: it reads as U+FFFD wherever it counts.
      out += e === "x" && v > 0x7f ? "\ufffd" : String.fromCodePoint(v);
      i += 2 + n;
    } else if (e >= "0" && e <= "7") {
      const digits = body.slice(i + 1, i + 4);
      if (!/^[0-7]{3}$/.test(digits) || parseInt(digits, 8) > 255) return undefined;
      const v = parseInt(digits, 8);
      out += v > 0x7f ? "\ufffd" : String.fromCodePoint(v);
      i += 4;
    } else return undefined;
  }
  return out;
}

/** modfile's parseString: an unquoted word, or a double-quoted string. */
function parseString(s: string): string {
  if (s.startsWith('"')) {
    const v = unquote(s);
    if (v === undefined) throw new GoModSyntaxError("invalid syntax");
    return v;
  }
  if (/["'`]/.test(s)) throw new GoModSyntaxError("unquoted string cannot contain quote");
  return s;
}

const GO_VERSION = /^([1-9][0-9]*)\.(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))?([a-z]+[0-9]+)?$/;
const LAX_GO_VERSION = /^v?(([1-9][0-9]*)\.(0|[1-9][0-9]*))([^0-9].*)$/;

/**
 * Parses a go.mod the way the go command parses a dependency's (modfile.ParseLax).
 * @throws GoModSyntaxError with modfile's message
 */
export function parseGoModLax(data: Buffer): LaxGoMod {
  const parser = new Parser(decodeRunes(data));
  parser.parse();
  let module: string | undefined;
  let sawModule = false;
  let sawGo = false;
  const errors: string[] = [];
  const add = (line: number, verb: string, args: string[]): void => {
    const error = (message: string): void => void errors.push(`go.mod:${line}: ${message}`);
    switch (verb) {
      case "go":
        if (sawGo) return error("repeated go statement");
        if (args.length !== 1) return error("go directive expects exactly one argument");
        if (!GO_VERSION.test(args[0]) && !LAX_GO_VERSION.test(args[0])) {
          return error(`invalid go version '${args[0]}': must match format 1.23.0`);
        }
        sawGo = true;
        return;
      case "module":
        if (sawModule) return error("repeated module statement");
        sawModule = true;
        if (args.length !== 1) return error("usage: module module/path");
        try {
          module = parseString(args[0]);
        } catch (err) {
          error(`invalid quoted string: ${(err as Error).message}`);
        }
        return;
      case "require": {
        if (args.length !== 2) return error("usage: require module/path v1.2.3");
        let path: string;
        let version: string;
        try {
          path = parseString(args[0]);
        } catch (err) {
          return error(`invalid quoted string: ${(err as Error).message}`);
        }
        try {
          version = canonicalVersion(parseString(args[1]));
        } catch {
          version = "";
        }
        if (version === "")
          return error(`require ${path}: version ${quote(args[1])} invalid: must be of the form v1.2.3`);
        const split = splitPathVersion(path);
        if (!split) return error("invalid module path");
        const mismatch = pathMajorMismatch(version, split.pathMajor);
        if (mismatch) return error(`require ${path}: version ${quote(version)} invalid: ${mismatch}`);
        return;
      }
      default:
        // Lax: other directives (and retract's errors) are for the main module only.
        return;
    }
  };
  for (const s of parser.statements) {
    if (!("lines" in s)) add(s.line, s.tokens[0], s.tokens.slice(1));
    else if (s.tokens.length === 1 && ["module", "require"].includes(s.tokens[0])) {
      for (const l of s.lines) add(l.line, s.tokens[0], l.tokens);
    }
  }
  if (errors.length > 0) throw new GoModSyntaxError(errors.join("\n"));
  return { module };
}

/**
 * Checks a go.mod downloaded for `path@version` before it is served or kept: it parses as the
 * go command parses a dependency's, it declares a module path, and that path is one the go
 * command could accept for `path` (cmd/go's modfetch: a valid module path of a compatible major
 * version; not necessarily `path` itself, because a fork declares the path it replaces).
 * Without a go.mod, proxies and the go command synthesise `module <path>`, which passes.
 * @throws ProxyError "upstream" saying what is wrong
 */
export function checkGoMod(path: string, version: string, data: Buffer): void {
  const bad = (why: string): ProxyError => new ProxyError("upstream", `${path}@${version}: ${why}`);
  let parsed: LaxGoMod;
  try {
    parsed = parseGoModLax(data);
  } catch (err) {
    throw bad(`parsing go.mod: ${(err as Error).message}`);
  }
  const declared = parsed.module;
  if (declared === undefined || declared === "") throw bad("go.mod has no module path");
  const problem = modulePathProblem(declared);
  if (problem) throw bad(`go.mod has malformed module path ${quote(declared)}: ${problem}`);
  const want = splitPathVersion(path)?.pathMajor ?? "";
  const have = splitPathVersion(declared)?.pathMajor ?? "";
  if (!majorCompatible(declared, have, want)) {
    throw bad(`go.mod has module path ${quote(declared)}, which cannot be a version of ${quote(path)}`);
  }
}

/**
 * cmd/go's isMajor and canReplaceMismatchedVersionDueToBug: whether a go.mod declaring a path
 * with major suffix `have` can be what a path with suffix `want` serves.
 */
function majorCompatible(declared: string, have: string, want: string): boolean {
  if (want === "") {
    // A historical go command bug let unversioned paths replace gopkg.in ones; it stays allowed.
    const prefix = have.startsWith(".v") ? have.replace(/-unstable$/, "").slice(1) : have.slice(1);
    return have === "" || prefix === "v0" || prefix === "v1" || declared.startsWith("gopkg.in/");
  }
  // Both have suffixes: the same validation rules (`/v2` may serve `.v2`, not `.v2-unstable`).
  return have !== "" && want.slice(1) === have.slice(1);
}
