/** `gomirror index`: the record behind /index (named so, not index.ts, which reads as a barrel). */
import { loadConfig } from "../lib/proxy/config";
import { openConfiguredStorage } from "../lib/proxy/storage/open";
import { IndexLog } from "../lib/proxy/sync/index-log";
import type { CommandIo } from "./bundle";
import { commandArgs, UsageError } from "./command-args";

export const INDEX_USAGE = `gomirror index: the record behind /index

Usage:
  gomirror index --rebuild [--storage S]

--rebuild adds an entry, stamped now, for every .mod and .zip in the storage that the index does
not account for: files stored before the /index feed existed, or copied into the storage by
other means. Peers that sync from this mirror pick them up on their next run. Running it again
adds nothing. (An index with no entries at all is rebuilt by itself on its first read.)

Exit status: 0 done, 1 failed, 2 wrong usage.
`;

export async function runIndexCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  const { values, positionals, settings } = commandArgs(argv, { rebuild: { type: "boolean" } });
  if (!values.rebuild) throw new UsageError("index wants --rebuild");
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const config = loadConfig({ env: io.env, argv: settings });
  const storage = openConfiguredStorage(config);
  const summary = await new IndexLog(storage).rebuild();
  io.stdout(
    `index of ${config.storage.replace(/\/\/[^/@]*@/, "//")}: ${summary.files} module files, ` +
      `${summary.added} entries added\n`,
  );
  return 0;
}
