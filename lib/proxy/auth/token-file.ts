import { readFile } from "node:fs/promises";
import type { Logger } from "pino";
import { watchFiles, type FileWatch } from "../watch";
import { parseRecord, TokenFormatError, verifyToken, type TokenRecord } from "./token";

/**
 * The token file (GOMIRROR_AUTH_FILE): one record per line (see token.ts), `#` comments and
 * blank lines ignored. It holds hashes only, never tokens.
 */

/** The records of one token file, by id. */
export class TokenTable {
  private constructor(private readonly byId: ReadonlyMap<string, TokenRecord>) {}

  /**
   * Parses a token file's text.
   * @throws TokenFormatError naming the line and what is wrong with it (never its content)
   */
  static parse(text: string): TokenTable {
    const byId = new Map<string, TokenRecord>();
    const names = new Set<string>();
    const lines = text.split("\n");
    for (const [i, raw] of lines.entries()) {
      const line = raw.trim();
      if (line === "" || line.startsWith("#")) continue;
      let record: TokenRecord;
      try {
        record = parseRecord(line);
      } catch (err) {
        if (err instanceof TokenFormatError) throw new TokenFormatError(`line ${i + 1} ${err.message}`);
        throw err;
      }
      if (byId.has(record.id)) throw new TokenFormatError(`line ${i + 1} repeats the id of an earlier line`);
      if (names.has(record.name)) {
        throw new TokenFormatError(`line ${i + 1} repeats the name ${JSON.stringify(record.name)}`);
      }
      byId.set(record.id, record);
      names.add(record.name);
    }
    return new TokenTable(byId);
  }

  get size(): number {
    return this.byId.size;
  }

  records(): TokenRecord[] {
    return [...this.byId.values()];
  }

  /** The record of a genuine token, else undefined. */
  verify(token: string): TokenRecord | undefined {
    return verifyToken(token, (id) => this.byId.get(id));
  }
}

export interface TokenFileOptions {
  readonly logger: Logger;
  /** How often the file's stat is looked at. @default 2000 */
  readonly intervalMs?: number;
}

/**
 * The token file of a running proxy: loaded at startup (a missing or malformed file stops it),
 * then re-read whenever it changes, so added and revoked tokens count within seconds. A file
 * that turns unreadable or malformed later keeps the last good table, and the reason is logged.
 */
export class TokenFile {
  private table: TokenTable | undefined;
  private readonly watch: FileWatch;

  private constructor(
    readonly path: string,
    private readonly options: TokenFileOptions,
  ) {
    this.watch = watchFiles({
      paths: [path],
      intervalMs: options.intervalMs,
      onChange: () => this.load(),
      onError: (err) =>
        options.logger.error(
          { event: "auth_file_invalid", file: path, reason: reasonOf(err), tokens: this.table?.size },
          "the token file could not be used; the last good one stays in force",
        ),
    });
  }

  /**
   * Loads the file and starts watching it.
   * @throws Error naming the file and what is wrong with it
   */
  static async open(path: string, options: TokenFileOptions): Promise<TokenFile> {
    const file = new TokenFile(path, options);
    try {
      await file.watch.check();
    } catch (err) {
      file.close();
      throw new Error(`GOMIRROR_AUTH_FILE=${JSON.stringify(path)}: ${reasonOf(err)}`);
    }
    return file;
  }

  /** Looks at the file once (the poll does this every interval). */
  check(): Promise<void> {
    return this.watch.check();
  }

  verify(token: string): TokenRecord | undefined {
    return this.table?.verify(token);
  }

  close(): void {
    this.watch.close();
  }

  private async load(): Promise<void> {
    const table = TokenTable.parse(await readFile(this.path, "utf8"));
    this.table = table;
    this.options.logger.info(
      { event: "auth_file_loaded", file: this.path, tokens: table.size },
      table.size === 0 ? "token file loaded: it holds no tokens" : "token file loaded",
    );
  }
}

/** What went wrong, for a log line: the format error or the file system's error code. */
function reasonOf(err: unknown): string {
  if (err instanceof TokenFormatError) return err.message;
  const code = (err as NodeJS.ErrnoException).code;
  return code ? `cannot read it (${code})` : String(err);
}
