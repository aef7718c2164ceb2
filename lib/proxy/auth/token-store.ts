import { randomBytes } from "node:crypto";
import { lstat, open, readFile, readlink, realpath, rename, unlink } from "node:fs/promises";
import path from "node:path";
import { pathMatchResult } from "../module/glob";
import { TokenTable } from "./token-file";
import { formatRecord, generateToken, normalizeScopes, parseRecord, type TokenRecord } from "./token";

/**
 * Editing a token file (the `gomirror token` command). Every change is written to a temporary
 * file beside it (mode 0600), flushed and renamed over it, so a running proxy polling the file
 * never reads half of one, and a crash leaves the old file. Lines other than the record being
 * revoked (comments included) are kept as they are. Two commands editing one file at the same
 * moment may lose one change: edit from one place at a time.
 */

export class TokenStoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TokenStoreError";
  }
}

const HEADER =
  "# gomirror token file: one token per line, `id name scopes salt hash`.\n" +
  "# Only salted hashes are kept here, never tokens. Edit with gomirror token add / list / revoke.\n";

/** The file's text and its table; a missing file is an empty one. */
async function load(file: string): Promise<{ text: string; table: TokenTable; exists: boolean }> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") {
      throw new TokenStoreError(`cannot read ${file}: ${(err as Error).message}`);
    }
    return { text: "", table: TokenTable.parse(""), exists: false };
  }
  try {
    return { text, table: TokenTable.parse(text), exists: true };
  } catch (err) {
    throw new TokenStoreError(`${file} is not a valid token file: ${(err as Error).message}`);
  }
}

async function writeAtomically(file: string, text: string): Promise<void> {
  const target = await symlinkTarget(file);
  const dir = path.dirname(target);
  const temp = path.join(dir, `.${path.basename(target)}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    const handle = await open(temp, "wx", 0o600);
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, target);
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw new TokenStoreError(`cannot write ${file}: ${(err as Error).message}`);
  }
  const dirHandle = await open(dir, "r").catch(() => undefined);
  await dirHandle?.sync().catch(() => undefined);
  await dirHandle?.close();
}

/** The file a path names, through symlinks (even one pointing nowhere yet), so a link is never replaced. */
async function symlinkTarget(file: string): Promise<string> {
  const real = await realpath(file).catch(() => undefined);
  if (real) return real;
  const link = await lstat(file).catch(() => undefined);
  if (!link?.isSymbolicLink()) return file;
  return path.resolve(path.dirname(file), await readlink(file));
}

/**
 * Checks scopes as the go command checks GOPRIVATE patterns, so a typo is caught now.
 * @returns the scopes as stored
 * @throws TokenStoreError naming the bad pattern
 */
export function checkScopes(scopes: string): string {
  let normalized: string;
  try {
    normalized = normalizeScopes(scopes);
  } catch (err) {
    throw new TokenStoreError((err as Error).message);
  }
  for (const pattern of normalized.split(",")) {
    if (pathMatchResult(pattern, "") === "bad-pattern") {
      throw new TokenStoreError(
        `scope ${JSON.stringify(pattern)} is not a valid pattern: check for an unclosed [ or a trailing \\`,
      );
    }
  }
  return normalized;
}

/**
 * Creates a token for `name` with `scopes` (GOPRIVATE patterns, comma separated; empty for all
 * paths) and appends its record to `file`, creating the file. The token is returned once.
 */
export async function addToken(
  file: string,
  name: string,
  scopes = "",
): Promise<{ token: string; record: TokenRecord }> {
  const normalized = checkScopes(scopes);
  const { text, table, exists } = await load(file);
  if (table.records().some((r) => r.name === name)) {
    throw new TokenStoreError(
      `${file} already has a token named ${JSON.stringify(name)}; revoke it first or pick another name`,
    );
  }
  let made: { token: string; record: TokenRecord };
  try {
    do made = generateToken(name, normalized);
    while (table.records().some((r) => r.id === made.record.id));
  } catch (err) {
    throw new TokenStoreError((err as Error).message);
  }
  const before = exists ? text : HEADER;
  const separator = before === "" || before.endsWith("\n") ? "" : "\n";
  await writeAtomically(file, `${before}${separator}${formatRecord(made.record)}\n`);
  return made;
}

/** The records in `file`. */
export async function listTokens(file: string): Promise<TokenRecord[]> {
  const { table, exists } = await load(file);
  if (!exists) throw new TokenStoreError(`${file} does not exist; gomirror token add creates it`);
  return table.records();
}

/** Removes the token named `name` from `file`; its holder is refused once the proxy has re-read it. */
export async function revokeToken(file: string, name: string): Promise<TokenRecord> {
  const { text, table, exists } = await load(file);
  if (!exists) throw new TokenStoreError(`${file} does not exist`);
  const record = table.records().find((r) => r.name === name);
  if (!record) throw new TokenStoreError(`${file} has no token named ${JSON.stringify(name)}`);
  const kept = text.split("\n").filter((line) => {
    const t = line.trim();
    return t === "" || t.startsWith("#") || parseRecord(t).id !== record.id;
  });
  await writeAtomically(file, kept.join("\n"));
  return record;
}
