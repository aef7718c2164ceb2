/**
 * The part of `.gitattributes` that changes what `git archive` writes, and so what the go command
 * puts into a module zip: end-of-line conversion to CRLF (`eol=crlf`, with `text`, `text=auto` or
 * no `text` attribute) and `ident` keyword expansion. The go command runs
 * `git -c core.autocrlf=input -c core.eol=lf archive` with export-ignore and export-subst switched
 * off, so nothing else applies: LF output needs no conversion, and no filter drivers are configured.
 *
 * Not covered (rare in Go repositories): `[attr]` macro definitions other than the built-in
 * `binary`, `working-tree-encoding`, quoted patterns, and re-expanding an `$Id: ... $` that is
 * already expanded in the blob.
 */

type AttrValue = true | false | string | undefined;

interface Rule {
  readonly dir: string;
  readonly match: (relPath: string) => boolean;
  readonly attrs: ReadonlyMap<string, AttrValue>;
}

/** The attribute rules of one tree, from its `.gitattributes` files. */
export class GitAttributes {
  private readonly rules: Rule[] = [];

  /**
   * Adds the rules of the `.gitattributes` file in directory `dir` ("" for the root). Files must be
   * added from the root down (a deeper file's rules win), each file's lines in order.
   */
  add(dir: string, text: string): void {
    for (const raw of text.split(/\r?\n/)) {
      const line = raw.trim();
      if (line === "" || line.startsWith("#") || line.startsWith('"') || line.startsWith("[attr]")) continue;
      const fields = line.split(/\s+/);
      const pattern = fields[0];
      if (pattern.endsWith("/")) continue; // a directory pattern never matches a file
      const attrs = new Map<string, AttrValue>();
      for (const f of fields.slice(1)) {
        if (f === "binary") {
          attrs.set("diff", false).set("merge", false).set("text", false);
        } else if (f.startsWith("-")) attrs.set(f.slice(1), false);
        else if (f.startsWith("!")) attrs.set(f.slice(1), undefined);
        else if (f.includes("=")) attrs.set(f.slice(0, f.indexOf("=")), f.slice(f.indexOf("=") + 1));
        else attrs.set(f, true);
      }
      this.rules.push({ dir, match: compilePattern(pattern), attrs });
    }
  }

  get empty(): boolean {
    return this.rules.length === 0;
  }

  /** The attributes of the file at `path` (repository-relative). */
  lookup(path: string): Map<string, AttrValue> {
    const out = new Map<string, AttrValue>();
    for (const rule of this.rules) {
      const prefix = rule.dir === "" ? "" : `${rule.dir}/`;
      if (!path.startsWith(prefix)) continue;
      if (!rule.match(path.slice(prefix.length))) continue;
      for (const [k, v] of rule.attrs) out.set(k, v);
    }
    return out;
  }
}

/** The bytes `git archive` writes for a blob with these attributes (under core.autocrlf=input, core.eol=lf). */
export function toWorktree(data: Buffer, attrs: Map<string, AttrValue>, blobOid: string): Buffer {
  let out = data;
  if (attrs.get("ident") === true) out = expandIdent(out, blobOid);
  if (outputIsCRLF(attrs) && willConvertToCRLF(out, attrs)) out = lfToCRLF(out);
  return out;
}

type CrlfAction = "binary" | "text" | "auto" | "input" | "undefined";

function crlfAction(attrs: Map<string, AttrValue>): CrlfAction {
  const text = attrs.get("text");
  if (text === true) return "text";
  if (text === false) return "binary";
  if (text === "auto") return "auto";
  const legacy = attrs.get("crlf");
  if (legacy === true) return "text";
  if (legacy === false) return "binary";
  if (legacy === "input") return "input";
  return "undefined";
}

function outputIsCRLF(attrs: Map<string, AttrValue>): boolean {
  const action = crlfAction(attrs);
  if (action === "binary" || action === "input") return false;
  // Without eol=crlf the output follows core.eol=lf / core.autocrlf=input: LF, nothing to do.
  return attrs.get("eol") === "crlf";
}

function willConvertToCRLF(data: Buffer, attrs: Map<string, AttrValue>): boolean {
  const s = stats(data);
  if (s.loneLF === 0) return false;
  if (crlfAction(attrs) === "auto") {
    // git's "safer autocrlf": leave files with any CR alone, and binary ones.
    if (s.loneCR > 0 || s.crlf > 0) return false;
    if (s.nul > 0 || s.printable >> 7 < s.nonPrintable) return false;
  }
  return true;
}

function stats(data: Buffer): {
  loneLF: number;
  loneCR: number;
  crlf: number;
  nul: number;
  printable: number;
  nonPrintable: number;
} {
  const r = { loneLF: 0, loneCR: 0, crlf: 0, nul: 0, printable: 0, nonPrintable: 0 };
  for (let i = 0; i < data.length; i++) {
    const c = data[i];
    if (c === 13) {
      if (data[i + 1] === 10) {
        r.crlf++;
        i++;
      } else r.loneCR++;
      continue;
    }
    if (c === 10) {
      r.loneLF++;
      continue;
    }
    if (c === 127) r.nonPrintable++;
    else if (c < 32) {
      if (c === 8 || c === 9 || c === 27 || c === 12) r.printable++;
      else if (c === 0) {
        r.nul++;
        r.nonPrintable++;
      } else if (c === 26 && i === data.length - 1) {
        // a DOS end-of-file marker at the very end does not count
      } else r.nonPrintable++;
    } else r.printable++;
  }
  return r;
}

function lfToCRLF(data: Buffer): Buffer {
  const out: number[] = [];
  for (let i = 0; i < data.length; i++) {
    if (data[i] === 10 && (i === 0 || data[i - 1] !== 13)) out.push(13);
    out.push(data[i]);
  }
  return Buffer.from(out);
}

/** `$Id$` becomes `$Id: <blob hash> $` (forms already expanded are left as they are). */
function expandIdent(data: Buffer, oid: string): Buffer {
  const text = data.toString("latin1");
  if (!text.includes("$Id$")) return data;
  return Buffer.from(text.split("$Id$").join(`$Id: ${oid} $`), "latin1");
}

/** A gitattributes pattern as a matcher of paths relative to its file's directory. */
function compilePattern(pattern: string): (relPath: string) => boolean {
  const anchored = pattern.includes("/");
  const p = pattern.startsWith("/") ? pattern.slice(1) : pattern;
  const re = new RegExp(`^${globToRegExp(p)}$`);
  if (anchored) return (rel) => re.test(rel);
  return (rel) => re.test(rel.slice(rel.lastIndexOf("/") + 1));
}

/** wildmatch with WM_PATHNAME: `*` and `?` stop at `/`; `**` between slashes spans directories. */
function globToRegExp(glob: string): string {
  let out = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === "*") {
      if (glob[i + 1] === "*") {
        const atStart = i === 0 || glob[i - 1] === "/";
        const atEnd = i + 2 === glob.length || glob[i + 2] === "/";
        if (atStart && atEnd) {
          if (i + 2 === glob.length) out += ".*";
          else out += "(?:.*/)?";
          i += 2; // skip the second * and the following /
          continue;
        }
      }
      out += "[^/]*";
    } else if (c === "?") out += "[^/]";
    else if (c === "[") {
      const end = glob.indexOf("]", i + 2);
      if (end < 0) {
        out += "\\[";
        continue;
      }
      let body = glob.slice(i + 1, end);
      if (body.startsWith("!") || body.startsWith("^")) body = `^${body.slice(1)}`;
      out += `[${body.replace(/\\/g, "\\\\")}]`;
      i = end;
    } else if (c === "\\" && i + 1 < glob.length) {
      out += escapeChar(glob[++i]);
    } else out += escapeChar(c);
  }
  return out;
}

function escapeChar(c: string): string {
  return /[.*+?^${}()|[\]\\/]/.test(c) ? `\\${c}` : c;
}
