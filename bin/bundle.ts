import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { loadConfig, type ProxyConfig } from "../lib/proxy/config";
import { runExport, type ExportOptions } from "../lib/proxy/bundle/export";
import { runImport } from "../lib/proxy/bundle/import";
import {
  MANIFEST_NAME,
  MAX_MANIFEST_BYTES,
  parseManifest,
  type BundleManifest,
} from "../lib/proxy/bundle/manifest";
import type { ProgressOptions } from "../lib/proxy/bundle/progress";
import {
  mergeWanted,
  parseGoSum,
  parseModuleArg,
  parseVersionList,
  requirementGraph,
  type WantedVersion,
} from "../lib/proxy/bundle/select";
import { readTar } from "../lib/proxy/bundle/tar";
import { createLogger } from "../lib/proxy/logger";
import { ProxyMetrics } from "../lib/proxy/metrics";
import { readLimited } from "../lib/proxy/read-limited";
import { buildSource } from "../lib/proxy/server";
import type { ModuleSource } from "../lib/proxy/sources/source";
import { UpstreamProxySource } from "../lib/proxy/sources/upstream";
import { DiskStorage } from "../lib/proxy/storage/disk";
import { openConfiguredStorage } from "../lib/proxy/storage/open";
import type { SumdbClientOptions } from "../lib/proxy/sumdb/client";
import { parseGosumdb } from "../lib/proxy/sumdb/config";
import { createSumdbWiring } from "../lib/proxy/sumdb/wiring";
import { parseTimestamp } from "../lib/proxy/sync/index-log";
import { IndexedStorage } from "../lib/proxy/sync/indexed-storage";
import { peerAuthorization, peerDispatcher } from "../lib/proxy/sync/peer";
import { readPeerIndex } from "../lib/proxy/sync/peer-index";
import { commandArgs, UsageError } from "./command-args";

/** `gomirror export` and `gomirror import`: bundles for air-gapped and multi-site mirrors. */

export const EXPORT_USAGE = `gomirror export: write a bundle of module versions with their checksum database proofs

Usage:
  gomirror export --out bundle.tar [--storage S | --mirror URL] [--since BUNDLE|TIME] WHAT...

WHAT is any mix of: a go.sum or go.work.sum file (every version it records), a go.mod file (its
requirement graph), a list file (module@version per line, or go list -m all output) or
module@version arguments.

Flags:
  --out FILE        the bundle to write (appears only once complete)
  --storage S       read the mirror's storage directly [default: $GOMIRROR_STORAGE]; what is
                    missing is fetched through GOPROXY and verified, as the mirror would
  --mirror URL      read from a running gomirror instead, with GOMIRROR_TOKEN or a netrc entry
  --token T         the token for --mirror [default: $GOMIRROR_TOKEN, then netrc]
  --since BUNDLE    leave out what an earlier bundle holds, and prove its tree a prefix of this one
  --since TIME      only versions the mirror stored at or after TIME (RFC 3339)

GOSUMDB, GONOSUMDB and GOPRIVATE decide what is looked up in the checksum database.
Exit status: 0 written, 1 failed (nothing written), 2 wrong usage.
`;

export const IMPORT_USAGE = `gomirror import: check a bundle whole, then store it

Usage:
  gomirror import bundle.tar [--storage S]

Every file is checked against the manifest and every hash against the bundled proofs (signed
by the GOSUMDB key, consistent with the tree the mirror trusts) before anything is stored; any
failure refuses the whole bundle. Files the storage already holds are kept. Running it again
after an interruption completes it.
Exit status: 0 imported, 1 refused or failed, 2 wrong usage.
`;

export interface CommandIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: NodeJS.ProcessEnv;
  /** stderr is a terminal: draw progress bars. */
  readonly tty: boolean;
}

function progressOf(io: CommandIo): ProgressOptions {
  return { tty: io.tty, write: (line) => io.stderr(`${line}\n`) };
}

function storageOf(config: ProxyConfig): IndexedStorage {
  return new IndexedStorage(openConfiguredStorage(config));
}

/** The checksum database as this mirror reaches it, keeping what it verifies in `storage`. */
function sumdbOptions(
  config: ProxyConfig,
  storage: IndexedStorage | DiskStorage,
): SumdbClientOptions | undefined {
  const db = parseGosumdb(config.sumdb);
  return (
    db && {
      config: db,
      storage,
      proxyList: config.proxyList,
      timeoutMs: config.upstreamTimeoutSeconds * 1000,
    }
  );
}

async function readSinceBundle(file: string): Promise<{ manifest: BundleManifest; latest?: Buffer }> {
  let manifest: BundleManifest | undefined;
  let latest: Buffer | undefined;
  await readTar(file, async (entry) => {
    if (!manifest) {
      if (entry.name !== MANIFEST_NAME) throw new UsageError(`--since ${file} is not a gomirror bundle`);
      manifest = parseManifest(await readLimited(entry.body, MAX_MANIFEST_BYTES, MANIFEST_NAME));
      return manifest.sumdb !== undefined;
    }
    if (entry.name === `sumdb/${manifest.sumdb?.name}/latest`)
      latest = await readLimited(entry.body, 1 << 20, entry.name);
    // The tree head comes right after the manifest: no need to read the modules.
    return false;
  });
  return { manifest: manifest as BundleManifest, latest };
}

async function wantedFrom(args: readonly string[], source: ModuleSource): Promise<WantedVersion[]> {
  if (args.length === 0)
    throw new UsageError("name what to export: a go.sum, a go.mod, a list file or module@version");
  const lists: WantedVersion[][] = [];
  for (const arg of args) {
    if (!existsSync(arg)) {
      lists.push([parseModuleArg(arg)]);
      continue;
    }
    const text = readFileSync(arg, "utf8");
    const base = path.basename(arg);
    // go.sum, and go.work.sum or any other file in its format
    if (base.endsWith(".sum")) lists.push(parseGoSum(text, arg));
    else if (base === "go.mod") lists.push(await requirementGraph(text, (p, v) => source.mod(p, v)));
    else lists.push(parseVersionList(text, arg));
  }
  return mergeWanted(lists);
}

export async function runExportCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  const { values, positionals, settings } = commandArgs(argv, {
    out: { type: "string" },
    mirror: { type: "string" },
    token: { type: "string" },
    since: { type: "string" },
  });
  const out = values.out as string | undefined;
  if (!out) throw new UsageError("export wants --out FILE");
  const mirror = (values.mirror as string | undefined)?.replace(/\/+$/, "");
  if (mirror && settings.some((s) => s.startsWith("--storage="))) {
    throw new UsageError("give --storage or --mirror, not both");
  }
  const config = loadConfig({ env: io.env, argv: settings });
  const logger = createLogger(config.logLevel);
  const timeoutMs = config.upstreamTimeoutSeconds * 1000;
  let scratch: string | undefined;
  let drain: (() => Promise<void>) | undefined;
  try {
    let source: ModuleSource;
    let sumdb: SumdbClientOptions | undefined;
    let storedSince: ((since: number) => Promise<Set<string>>) | undefined;
    if (mirror) {
      const authorization = peerAuthorization(mirror, {
        token: values.token as string | undefined,
        env: io.env,
      });
      const dispatcher = peerDispatcher(mirror, authorization, timeoutMs);
      source = new UpstreamProxySource(mirror, { timeoutMs, dispatcher, logger });
      scratch = await mkdtemp(path.join(tmpdir(), "gomirror-export-sumdb-"));
      const db = parseGosumdb(config.sumdb);
      // The mirror's /sumdb/ carries the database: every answer is verified here all the same.
      sumdb = db && {
        config: { ...db, url: `${mirror}/sumdb/${db.name}` },
        storage: new DiskStorage(scratch),
        dispatcher,
        timeoutMs,
      };
      storedSince = async (since) => readPeerIndex(mirror, dispatcher, since);
    } else {
      const storage = storageOf(config);
      sumdb = sumdbOptions(config, storage);
      const wiring = createSumdbWiring(config, { storage, logger });
      const cached = buildSource(config, {
        storage,
        logger,
        metrics: new ProxyMetrics(),
        verify: wiring.verify,
      });
      drain = () => cached.drain();
      source = cached;
      storedSince = async (since) =>
        new Set(
          (await storage.index.read(since, Number.MAX_SAFE_INTEGER)).map((e) => `${e.Path}@${e.Version}`),
        );
    }
    let wanted = await wantedFrom(positionals, source);
    const sinceArg = values.since as string | undefined;
    let since: ExportOptions["since"];
    if (sinceArg !== undefined) {
      if (existsSync(sinceArg)) since = await readSinceBundle(sinceArg);
      else {
        const stored = await storedSince(parseTimestamp(sinceArg));
        wanted = wanted.filter((w) => stored.has(`${w.path}@${w.version}`));
      }
    }
    const summary = await runExport({
      out,
      wanted,
      source,
      sumdb,
      noSumdb: config.noSumdb,
      since,
      progress: progressOf(io),
    });
    io.stdout(
      `wrote ${out}: ${summary.versions} versions (${summary.zips} zips), ${summary.bytes} bytes` +
        `${summary.alreadyBundled ? `; ${summary.alreadyBundled} left out (in the --since bundle)` : ""}\n`,
    );
    return 0;
  } finally {
    await drain?.();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  }
}

export async function runImportCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  const { positionals, settings } = commandArgs(argv, {});
  if (positionals.length !== 1) throw new UsageError("import wants one bundle file");
  const config = loadConfig({ env: io.env, argv: settings });
  const storage = storageOf(config);
  const report = await runImport({
    file: positionals[0],
    storage,
    sumdb: sumdbOptions(config, storage),
    noSumdb: config.noSumdb,
    progress: progressOf(io),
  });
  for (const failure of report.failures) io.stdout(`FAIL ${failure}\n`);
  if (!report.ok) {
    io.stdout(`refused ${positionals[0]}: ${report.failures.length} problems; nothing was stored\n`);
    return 1;
  }
  io.stdout(
    `imported ${positionals[0]}: ${report.versions} versions, ${report.stored} files stored, ` +
      `${report.present} already present${report.unverified ? `, ${report.unverified} checked against the manifest only (no checksum database)` : ""}\n`,
  );
  return 0;
}
