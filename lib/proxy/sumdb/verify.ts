import type { Logger } from "pino";
import { ProxyError } from "../errors";
import { MAX_ZIP_BYTES } from "../limits";
import { hashGoMod, hashZipFile } from "../module/dirhash";
import { matchPrefixPatterns } from "../module/glob";
import type { Download, ModuleInfo, ModuleSource } from "../sources/source";
import { guarded } from "../streams";
import type { SumdbLookup } from "./client";

/** What the verifier needs of a checksum database: its name and verified lookups (SumdbClient). */
export interface ChecksumDatabase {
  readonly name: string;
  lookup(path: string, version: string): Promise<SumdbLookup>;
}

export interface VerifyingSourceOptions {
  readonly database: ChecksumDatabase;
  /** GONOSUMDB patterns (GOPRIVATE when GONOSUMDB is unset): paths not checked. @default "" */
  readonly noSumdb?: string;
  readonly logger?: Logger;
  /** Counts refused downloads (`gomirror_checksum_mismatches_total`); a prom-client Counter fits. */
  readonly mismatches?: { inc(): void };
  /** The largest zip accepted. @default MAX_ZIP_BYTES (the go command's 500 MiB) */
  readonly maxZipBytes?: number;
}

/** Always verified, whatever GONOSUMDB says: the go command does the same for toolchains. */
const ALWAYS_VERIFIED = "golang.org/toolchain";

/** Whether module `path` must be checked against the checksum database under GONOSUMDB `noSumdb`. */
export function needsVerification(noSumdb: string, path: string): boolean {
  return path === ALWAYS_VERIFIED || !matchPrefixPatterns(noSumdb, path);
}

/**
 * A ModuleSource wrapper that checks every `.mod` and `.zip` of a public module against the
 * checksum database, so a tampered upstream can never get bytes into the cache or to a client.
 * A `.mod` is checked before it is handed on. A zip is handed on as it streams, with a `check`
 * (Download.check) that hashes the whole file: whoever spools it runs the check before the last
 * byte leaves (CachedSource does, so a zip is spooled once, not once here and once there). The
 * database lookup starts with the download. `list`, `.info` and `@latest` carry no checksums and
 * pass through.
 */
export class VerifyingSource implements ModuleSource {
  private readonly db: ChecksumDatabase;
  private readonly noSumdb: string;

  constructor(
    private readonly inner: ModuleSource,
    private readonly options: VerifyingSourceOptions,
  ) {
    this.db = options.database;
    this.noSumdb = options.noSumdb ?? "";
  }

  list(path: string): Promise<string[]> {
    return this.inner.list(path);
  }

  info(path: string, query: string): Promise<ModuleInfo> {
    return this.inner.info(path, query);
  }

  latest(path: string): Promise<ModuleInfo> {
    return this.inner.latest(path);
  }

  /** Whether `path` is checked against the checksum database. */
  verifies(path: string): boolean {
    return needsVerification(this.noSumdb, path);
  }

  async mod(path: string, version: string): Promise<Buffer> {
    const data = await this.inner.mod(path, version);
    if (!this.verifies(path)) return data;
    const expected = this.lookup(path, version);
    const got = await hashGoMod(data);
    this.check(path, version, "go.mod", got, (await expected).modHash);
    return data;
  }

  async zip(path: string, version: string): Promise<Download> {
    const download = await this.inner.zip(path, version);
    guarded(download.body);
    if (!this.verifies(path)) return download;
    const limit = this.options.maxZipBytes ?? MAX_ZIP_BYTES;
    if (download.size !== undefined && download.size > limit) {
      download.body.destroy();
      throw new ProxyError(
        "too-large",
        `${path}@${version}: module zip is ${download.size} bytes, over the ${limit}-byte limit`,
      );
    }
    const expected = this.lookup(path, version);
    const sourceCheck = download.check;
    return {
      ...download,
      check: async (zip) => {
        await sourceCheck?.(zip);
        const got = await hashZipFile(zip).catch((err: unknown) => {
          throw new ProxyError(
            "upstream",
            `${path}@${version}: the module zip from upstream is not a valid zip: ${(err as Error).message}`,
          );
        });
        this.check(path, version, "module", got, (await expected).zipHash);
      },
    };
  }

  /** The lookup, started early; a failure is turned into a ProxyError that says what to do. */
  private lookup(path: string, version: string): Promise<SumdbLookup> {
    const p = this.db.lookup(path, version).catch((err: unknown) => {
      const what = `${path}@${version}: verifying with checksum database ${this.db.name}`;
      if (err instanceof ProxyError && err.kind === "not-found") {
        throw new ProxyError(
          "forbidden",
          `${what}: the database has no record of this version (${err.message}); ` +
            `a private module must be listed in GONOSUMDB or GOPRIVATE`,
        );
      }
      if (err instanceof ProxyError)
        throw new ProxyError(err.kind, `${what}: ${err.message}`, { cause: err });
      throw new ProxyError("upstream", `${what}: ${(err as Error).message}`, { cause: err });
    });
    p.catch(() => undefined); // awaited later; never an unhandled rejection meanwhile
    return p;
  }

  private check(
    path: string,
    version: string,
    noun: "module" | "go.mod",
    got: string,
    want: string | undefined,
  ): void {
    if (want === got) return;
    const file = noun === "go.mod" ? "mod" : "zip";
    if (want === undefined) {
      throw new ProxyError(
        "security",
        `${path}@${version}: verifying ${noun}: checksum database ${this.db.name} holds no h1 hash for it; refusing to serve it unverified`,
      );
    }
    const message =
      `${path}@${version}: verifying ${noun}: checksum mismatch\n` +
      `\tdownloaded: ${got}\n\t${this.db.name}: ${want}\n` +
      // No blank line: the go command shows a proxy's error text only up to the first one.
      `SECURITY ERROR: the upstream's download does NOT match the checksum database; ` +
      `gomirror neither cached nor served it.`;
    this.options.logger?.error(
      {
        event: "checksum_mismatch",
        module: path,
        version,
        file,
        downloaded: got,
        expected: want,
        sumdb: this.db.name,
      },
      `checksum mismatch for ${path}@${version} ${file}`,
    );
    this.options.mismatches?.inc();
    throw new ProxyError("security", message);
  }
}
