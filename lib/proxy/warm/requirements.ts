/**
 * The directives of a go.mod file that shape its module graph: `require`, and in the main
 * module `replace` and `exclude` (the go command ignores those two in dependencies). Read
 * leniently, line by line, in single-line and block form; other directives are skipped.
 */

export interface Requirement {
  readonly path: string;
  readonly version: string;
}

/** `replace old [version] => new [version]`; a directory replacement has no `version`. */
export interface Replacement {
  readonly old: string;
  /** Only this version of `old` is replaced; every version when undefined. */
  readonly oldVersion?: string;
  readonly new: string;
  readonly version?: string;
}

export interface GoModDirectives {
  readonly requires: Requirement[];
  readonly replaces: Replacement[];
  readonly excludes: Requirement[];
}

/** The words of a line without its comment; quoted words lose their quotes. */
function words(line: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|`([^`]*)`|(\/\/.*)|(\S+)/g;
  for (let m = re.exec(line); m; m = re.exec(line)) {
    if (m[3] !== undefined) break;
    out.push(m[1] ?? m[2] ?? m[4]!);
  }
  return out;
}

function replacement(args: readonly string[]): Replacement | undefined {
  const arrow = args.indexOf("=>");
  if (arrow < 1) return undefined;
  const [old, oldVersion] = args.slice(0, arrow);
  const [target, version] = args.slice(arrow + 1);
  if (old === undefined || target === undefined) return undefined;
  return { old, oldVersion, new: target, version };
}

export function readGoModDirectives(text: string): GoModDirectives {
  const result: GoModDirectives = { requires: [], replaces: [], excludes: [] };
  let block: string | undefined;
  const take = (verb: string, args: string[]): void => {
    if (verb === "require" && args.length >= 2) result.requires.push({ path: args[0]!, version: args[1]! });
    else if (verb === "exclude" && args.length >= 2)
      result.excludes.push({ path: args[0]!, version: args[1]! });
    else if (verb === "replace") {
      const r = replacement(args);
      if (r) result.replaces.push(r);
    }
  };
  for (const line of text.split("\n")) {
    const w = words(line);
    if (w.length === 0) continue;
    if (block !== undefined) {
      if (w[0] === ")") block = undefined;
      else take(block, w);
      continue;
    }
    if (w.length === 2 && w[1] === "(") block = w[0];
    else take(w[0]!, w.slice(1));
  }
  return result;
}
