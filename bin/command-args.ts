import { parseArgs } from "node:util";
import { settingFlags } from "../lib/proxy/config";

/** Wrong usage: the command says what and exits 2. */
export class UsageError extends Error {}

type Options = Record<string, { type: "string" | "boolean"; multiple?: boolean }>;

/**
 * Splits a command's arguments into its own flags, its positionals, and the proxy settings
 * flags (`--storage`, `--gosumdb`...), which go to loadConfig as given.
 */
export function commandArgs<O extends Options>(
  argv: readonly string[],
  own: O,
): {
  values: Record<keyof O, string | boolean | string[] | undefined>;
  positionals: string[];
  settings: string[];
} {
  const settings = settingFlags();
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: { ...settings, ...own },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const values = {} as Record<keyof O, string | boolean | string[] | undefined>;
  const settingArgs: string[] = [];
  for (const [name, value] of Object.entries(parsed.values)) {
    if (name in own) values[name as keyof O] = value as string | boolean | string[];
    else settingArgs.push(`--${name}=${String(value)}`);
  }
  return { values, positionals: parsed.positionals, settings: settingArgs };
}
