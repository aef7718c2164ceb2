import { loadConfig } from "../lib/proxy/config";
import { createLogger } from "../lib/proxy/logger";
import { openConfiguredStorage } from "../lib/proxy/storage/open";
import { parseGosumdb } from "../lib/proxy/sumdb/config";
import { parseTimestamp } from "../lib/proxy/sync/index-log";
import { IndexedStorage } from "../lib/proxy/sync/indexed-storage";
import { peerAuthorization, peerDispatcher } from "../lib/proxy/sync/peer";
import { runSync } from "../lib/proxy/sync/sync-command";
import type { CommandIo } from "./bundle";
import { commandArgs, UsageError } from "./command-args";

export const SYNC_USAGE = `gomirror sync: copy what another gomirror stored and this one lacks

Usage:
  gomirror sync --from URL [--token T] [--since TIME] [--storage S]

Follows the peer's /index from where the last sync from it stopped (kept in the storage),
fetches each version's .info, .mod and .zip, verifies public modules against the checksum
database (GOSUMDB; through the peer's /sumdb/ when the database cannot be reached), and stores
them. Stopped half-way, it goes on from there next time.

Flags:
  --from URL     the peer gomirror (what its clients put in GOPROXY)
  --token T      its client token [default: $GOMIRROR_TOKEN, then a netrc entry for its host]
  --since TIME   start at this time (RFC 3339) instead of where the last sync stopped
  --page N       feed entries asked for at once [default: 2000]

Exit status: 0 done, 1 some versions failed (they are tried again next time), 2 wrong usage.
`;

export async function runSyncCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  const { values, positionals, settings } = commandArgs(argv, {
    from: { type: "string" },
    token: { type: "string" },
    since: { type: "string" },
    page: { type: "string" },
  });
  const from = (values.from as string | undefined)?.replace(/\/+$/, "");
  if (!from || !/^https?:\/\/[^\s/]+/.test(from)) throw new UsageError("sync wants --from http(s)://peer");
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const page = values.page === undefined ? undefined : Number(values.page);
  if (page !== undefined && !(Number.isInteger(page) && page >= 1 && page <= 2000)) {
    throw new UsageError("--page wants a count from 1 to 2000");
  }
  const config = loadConfig({ env: io.env, argv: settings });
  const logger = createLogger(config.logLevel);
  const timeoutMs = config.upstreamTimeoutSeconds * 1000;
  const authorization = peerAuthorization(from, { token: values.token as string | undefined, env: io.env });
  const storage = new IndexedStorage(openConfiguredStorage(config), logger);
  const summary = await runSync({
    from,
    dispatcher: peerDispatcher(from, authorization, timeoutMs),
    storage,
    sumdb: parseGosumdb(config.sumdb),
    noSumdb: config.noSumdb,
    proxyList: config.proxyList,
    timeoutMs,
    since: values.since === undefined ? undefined : parseTimestamp(values.since as string),
    pageSize: page,
    report: (line) => io.stderr(`${line}\n`),
    logger,
  });
  for (const failure of summary.failures) io.stdout(`FAIL ${failure}\n`);
  io.stdout(
    `synced from ${from}: ${summary.checked} versions looked at, ${summary.copied} copied, ` +
      `${summary.present} already here, ${summary.failures.length} failed` +
      `${summary.mark ? `; next sync starts at ${summary.mark}` : ""}\n`,
  );
  return summary.failures.length > 0 ? 1 : 0;
}
