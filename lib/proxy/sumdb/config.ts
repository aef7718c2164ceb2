import { NoteError, parseVerifierKey } from "./note";

/**
 * GOSUMDB, parsed with the go command's rules (cmd/go/internal/modfetch/sumdb.go): `off`, a known
 * database name (`sum.golang.org`), or a verifier key `name+hash+key`, optionally followed by the
 * URL to reach the database at. Without a URL the database is reached through the upstream
 * proxies' `/sumdb/<name>/` (when they say `supported`), else at `https://<name>`.
 */

/** The public key of sum.golang.org, as the go command ships it (cmd/go/internal/modfetch/key.go). */
export const SUM_GOLANG_ORG_KEY = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8";

const KNOWN_SUMDBS: Readonly<Record<string, string>> = { "sum.golang.org": SUM_GOLANG_ORG_KEY };

export interface SumdbConfig {
  /** The database's name (the key's name): `sum.golang.org`, or `host[/path]`. */
  readonly name: string;
  /** The verifier key, `name+hash+base64key`. */
  readonly key: string;
  /** Where to reach the database, when GOSUMDB gives a URL; undefined means "proxy or https://<name>". */
  readonly url: string | undefined;
}

export class SumdbConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SumdbConfigError";
  }
}

/** Parses a GOSUMDB value; undefined for `off`. Throws SumdbConfigError naming what is wrong. */
export function parseGosumdb(value: string): SumdbConfig | undefined {
  let gosumdb = value.trim();
  if (gosumdb === "sum.golang.google.cn") gosumdb = "sum.golang.org https://sum.golang.google.cn";
  if (gosumdb === "off") return undefined;
  const fields = gosumdb.split(/\s+/).filter((f) => f !== "");
  if (fields.length === 0) throw new SumdbConfigError("missing GOSUMDB: set a database name, key, or off");
  if (fields.length > 2)
    throw new SumdbConfigError(`invalid GOSUMDB ${JSON.stringify(value)}: too many fields`);
  const key = KNOWN_SUMDBS[fields[0]] ?? fields[0];
  let name: string;
  try {
    name = parseVerifierKey(key).name;
  } catch (err) {
    const reason = err instanceof NoteError ? err.message : String(err);
    throw new SumdbConfigError(
      `invalid GOSUMDB ${JSON.stringify(value)}: ${reason} (want a known name like sum.golang.org, or name+hash+key [url])`,
    );
  }
  if (!/^[A-Za-z0-9.-]+(?::[0-9]+)?(?:\/[A-Za-z0-9._~-]+)*$/.test(name)) {
    throw new SumdbConfigError(`invalid sumdb name (must be host[/path]): ${name}`);
  }
  let url: string | undefined;
  if (fields.length === 2) {
    let parsed: URL;
    try {
      parsed = new URL(fields[1]);
    } catch {
      throw new SumdbConfigError(`invalid GOSUMDB URL ${JSON.stringify(fields[1])}`);
    }
    if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
      throw new SumdbConfigError(
        `invalid GOSUMDB URL ${JSON.stringify(fields[1])}: only http and https are supported`,
      );
    }
    url = fields[1].replace(/\/+$/, "");
  }
  return { name, key, url };
}
