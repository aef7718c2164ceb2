import { createWriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join as joinPath } from "node:path";
import { pipeline } from "node:stream/promises";
import { SingleBar } from "cli-progress";
import type { Logger } from "pino";
import { ProxyError } from "../errors";
import { hashGoMod, hashZipFile } from "../module/dirhash";
import { parseModuleFileKey, type ModuleFileKey } from "../cache/keys";
import type { ProxyListEntry } from "../sources/proxy-list";
import type { Storage } from "../storage/storage";
import { SumdbClient, type SumdbLookup } from "./client";
import { parseGosumdb } from "./config";
import { needsVerification, type ChecksumDatabase } from "./verify";

/**
 * `gomirror verify`: re-checks every cached `.mod` and `.zip` against the checksum database, the
 * way a mirror operator audits a cache that may predate verification or have been written to by
 * hand. Private paths (GONOSUMDB/GOPRIVATE) are skipped. With `remove`, files that fail (hash
 * mismatch, or a zip that cannot be read) are deleted so the next request fetches them afresh.
 */

export interface VerifyCommandOptions {
  readonly storage: Storage;
  /** The settings used: GOSUMDB, GONOSUMDB and the upstream list (to reach the database). */
  readonly config: {
    readonly sumdb: string;
    readonly noSumdb: string;
    readonly proxyList?: readonly ProxyListEntry[];
    readonly upstreamTimeoutSeconds?: number;
  };
  /** Delete what fails. @default false */
  readonly remove?: boolean;
  readonly logger?: Logger;
  /** Use this database instead of one built from `config.sumdb` (tests). */
  readonly database?: ChecksumDatabase;
  /** Progress bar on stderr. @default true when stderr is a terminal */
  readonly progress?: boolean;
  /** Files checked at once. @default 4 */
  readonly concurrency?: number;
}

export interface VerifyFailure {
  readonly key: string;
  readonly reason: string;
  /** "mismatch": the hash disagrees with the database; "error": it could not be checked. */
  readonly kind: "mismatch" | "error";
  readonly removed: boolean;
}

export interface VerifySummary {
  /** `.mod` and `.zip` files looked at (skipped ones included). */
  readonly checked: number;
  readonly ok: number;
  readonly mismatched: number;
  readonly skippedPrivate: number;
  readonly errors: number;
  readonly removed: number;
  readonly failures: readonly VerifyFailure[];
}

export async function runVerify(options: VerifyCommandOptions): Promise<VerifySummary> {
  const { storage, logger } = options;
  const database = options.database ?? buildDatabase(options);

  const files: ModuleFileKey[] = [];
  for await (const key of storage.list("")) {
    const file = parseModuleFileKey(key);
    if (file) files.push(file);
  }
  files.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));

  const showProgress = options.progress ?? process.stderr.isTTY === true;
  const bar = showProgress
    ? new SingleBar({
        stream: process.stderr,
        format: "verifying {bar} {value}/{total} | ok {ok} | mismatched {bad} | errors {errors}",
        hideCursor: true,
      })
    : undefined;
  bar?.start(files.length, 0, { ok: 0, bad: 0, errors: 0 });

  let ok = 0;
  let mismatched = 0;
  let skippedPrivate = 0;
  let errors = 0;
  let removed = 0;
  const failures: VerifyFailure[] = [];
  const lookups = new Map<string, Promise<SumdbLookup>>();
  const lookup = (f: ModuleFileKey): Promise<SumdbLookup> => {
    const id = `${f.path}@${f.version}`;
    let p = lookups.get(id);
    if (!p) {
      p = database.lookup(f.path, f.version);
      lookups.set(id, p);
    }
    return p;
  };

  const fail = async (
    f: ModuleFileKey,
    kind: "mismatch" | "error",
    reason: string,
    removable: boolean,
  ): Promise<void> => {
    let gone = false;
    if (options.remove && removable) {
      await storage.delete(f.key);
      gone = true;
      removed++;
    }
    if (kind === "mismatch") mismatched++;
    else errors++;
    failures.push({ key: f.key, reason, kind, removed: gone });
    logger?.[kind === "mismatch" ? "error" : "warn"](
      {
        event: kind === "mismatch" ? "checksum_mismatch" : "verify_error",
        key: f.key,
        module: f.path,
        version: f.version,
        removed: gone,
      },
      reason,
    );
  };

  const checkOne = async (f: ModuleFileKey): Promise<void> => {
    if (!needsVerification(options.config.noSumdb, f.path)) {
      skippedPrivate++;
      return;
    }
    let got: string;
    try {
      got = f.ext === "mod" ? await hashStoredMod(storage, f.key) : await hashStoredZip(storage, f.key);
    } catch (err) {
      await fail(f, "error", `${f.key}: cannot hash the cached file: ${(err as Error).message}`, true);
      return;
    }
    let want: string | undefined;
    try {
      const found = await lookup(f);
      want = f.ext === "mod" ? found.modHash : found.zipHash;
    } catch (err) {
      const reason = err instanceof ProxyError ? err.message : String(err);
      await fail(f, "error", `${f.path}@${f.version}: checksum database ${database.name}: ${reason}`, false);
      return;
    }
    if (want === got) {
      ok++;
      return;
    }
    const noun = f.ext === "mod" ? "go.mod" : "module";
    await fail(
      f,
      "mismatch",
      `${f.path}@${f.version}: verifying ${noun}: checksum mismatch\n\tcached: ${got}\n\t${database.name}: ${want ?? "(no hash recorded)"}`,
      true,
    );
  };

  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (next < files.length) {
      const f = files[next++];
      await checkOne(f);
      bar?.update(++done, { ok, bad: mismatched, errors });
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 4) }, worker));
  } finally {
    bar?.stop();
  }
  const summary: VerifySummary = {
    checked: files.length,
    ok,
    mismatched,
    skippedPrivate,
    errors,
    removed,
    failures,
  };
  logger?.info({ event: "verify_summary", ...summary, failures: undefined }, "verification finished");
  return summary;
}

/** A one-line human summary, e.g. for the CLI's last line. */
export function formatVerifySummary(s: VerifySummary): string {
  return (
    `checked ${s.checked}: ${s.ok} ok, ${s.mismatched} mismatched, ${s.skippedPrivate} skipped (private), ` +
    `${s.errors} errors${s.removed ? `, ${s.removed} removed` : ""}`
  );
}

function buildDatabase(options: VerifyCommandOptions): ChecksumDatabase {
  const config = parseGosumdb(options.config.sumdb);
  if (!config) throw new Error("GOSUMDB=off: there is no checksum database to verify against; set GOSUMDB");
  return new SumdbClient({
    config,
    storage: options.storage,
    proxyList: options.config.proxyList,
    timeoutMs: (options.config.upstreamTimeoutSeconds ?? 30) * 1000,
    logger: options.logger,
  });
}

async function hashStoredMod(storage: Storage, key: string): Promise<string> {
  const obj = await storage.get(key);
  if (!obj) throw new Error("vanished while verifying");
  const chunks: Buffer[] = [];
  for await (const chunk of obj.body) chunks.push(chunk as Buffer);
  return hashGoMod(Buffer.concat(chunks));
}

async function hashStoredZip(storage: Storage, key: string): Promise<string> {
  const obj = await storage.get(key);
  if (!obj) throw new Error("vanished while verifying");
  const dir = await mkdtemp(joinPath(tmpdir(), "gomirror-verify-"));
  try {
    const file = joinPath(dir, "module.zip");
    await pipeline(obj.body, createWriteStream(file));
    return await hashZipFile(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
