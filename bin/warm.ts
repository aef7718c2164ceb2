import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { ConfigError, loadConfig, settingFlags } from "../lib/proxy/config";
import { basicAuth, parseNetrc } from "../lib/proxy/git/credentials";
import { createLogger } from "../lib/proxy/logger";
import { SETTINGS } from "../lib/proxy/settings/schema";
import {
  readGoSum,
  readModuleArgument,
  readModuleList,
  WarmInputError,
  type WarmItem,
} from "../lib/proxy/warm/inputs";
import { MirrorTarget } from "../lib/proxy/warm/mirror-target";
import { openStorageTarget } from "../lib/proxy/warm/storage-target";
import type { WarmTarget } from "../lib/proxy/warm/target";
import { formatWarmFailure, formatWarmSummary, runWarm } from "../lib/proxy/warm/warm";

/** `gomirror warm`: fills a mirror with what a build will ask for, before it asks. */

export const WARM_USAGE = `gomirror warm: fill a mirror ahead of need

Usage:
  gomirror warm --mirror URL [--jobs N] INPUT...
  gomirror warm --storage LOCATION [settings flags] [--jobs N] INPUT...

Inputs:
  go.sum, FILE.sum   the module versions it lists; files are checked against its hashes
  go.mod, FILE.mod   its whole requirement graph: every go.mod on the way, and the zips of the
                     versions minimal version selection picks (replace and exclude applied)
  FILE, or -         go list -m all output (- reads stdin)
  module@version     one module version; a query such as @latest or @v1.2 works too

Flags:
  --mirror URL       warm a running mirror over HTTP (any deployment); the token comes from
                     GOMIRROR_TOKEN (sent as Bearer), else from the netrc entry of the mirror's
                     host (NETRC, else ~/.netrc; sent as Basic, as the go command does)
  --storage LOC      write straight into a mirror's storage (a directory or s3://bucket/prefix)
                     through the proxy's own sources: GOPROXY, GOSUMDB, GOPRIVATE and the other
                     settings apply, from the environment or their flags (see gomirror --help)
  --jobs N           module versions warmed at once [default: 4]
  --timeout SECONDS  (--mirror) how long the mirror may be silent [default: 300]

A progress bar on a terminal, a line per module version otherwise, then failures and a summary.
Exit status: 0 all warmed, 1 something failed, 2 wrong usage.
`;

export interface WarmCommandIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: NodeJS.ProcessEnv;
  /** Reads standard input (for `-`). */
  readonly stdin?: () => string;
  /** A progress bar instead of lines. @default stderr is a terminal */
  readonly progress?: boolean;
}

class UsageError extends Error {}

const OWN = {
  mirror: { type: "string" },
  jobs: { type: "string" },
  timeout: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

function positive(value: string | undefined, fallback: number, flag: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`--${flag} ${JSON.stringify(value)}: want a whole number above 0`);
  return n;
}

/** The items and go.mod texts the arguments name. */
function readInputs(args: readonly string[], io: WarmCommandIo): { items: WarmItem[]; goMods: string[] } {
  const items: WarmItem[] = [];
  const goMods: string[] = [];
  for (const arg of args) {
    if (arg === "-") {
      if (!io.stdin) throw new UsageError("- reads standard input, which this run does not have");
      items.push(...readModuleList(io.stdin(), "stdin"));
    } else if (existsSync(arg)) {
      const text = readFileSync(arg, "utf8");
      const name = path.basename(arg);
      if (name.endsWith(".sum")) items.push(...readGoSum(text, arg));
      else if (name.endsWith(".mod")) goMods.push(text);
      else items.push(...readModuleList(text, arg));
    } else if (arg.includes("@")) {
      items.push(readModuleArgument(arg));
    } else {
      throw new UsageError(`${JSON.stringify(arg)} is neither a file nor module@version`);
    }
  }
  if (items.length === 0 && goMods.length === 0)
    throw new UsageError("nothing to warm: give a go.sum, go.mod, module list or module@version");
  return { items, goMods };
}

/** Bearer from GOMIRROR_TOKEN, else Basic from the netrc entry of the mirror's host. */
function mirrorAuthorization(url: string, env: NodeJS.ProcessEnv): string | undefined {
  if (env.GOMIRROR_TOKEN) return `Bearer ${env.GOMIRROR_TOKEN}`;
  const file = env.NETRC || path.join(env.HOME ?? homedir(), ".netrc");
  if (!existsSync(file)) return undefined;
  const credential = parseNetrc(readFileSync(file, "utf8")).forHost(new URL(url).host);
  return credential && basicAuth(credential);
}

/** The settings flags given, back in argv form for loadConfig. */
function settingsArgv(values: Record<string, unknown>): string[] {
  return SETTINGS.flatMap((s) =>
    typeof values[s.flag] === "string" ? [`--${s.flag}`, values[s.flag] as string] : [],
  );
}

/** Runs `gomirror warm <argv>`; resolves with the exit status. */
export async function runWarmCommand(argv: readonly string[], io: WarmCommandIo): Promise<number> {
  try {
    return await run(argv, io);
  } catch (err) {
    if (err instanceof UsageError || err instanceof WarmInputError || err instanceof ConfigError) {
      io.stderr(`gomirror warm: ${err.message}\nsee gomirror warm --help\n`);
      return 2;
    }
    throw err;
  }
}

async function run(argv: readonly string[], io: WarmCommandIo): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...argv],
      options: { ...settingFlags(), ...OWN },
      strict: true,
      allowPositionals: true,
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) {
    io.stdout(WARM_USAGE);
    return 0;
  }
  const mirror = values.mirror as string | undefined;
  const settings = settingsArgv(values);
  if ((mirror === undefined) === (values.storage === undefined)) {
    throw new UsageError(
      "give --mirror URL (a running mirror) or --storage LOCATION (its storage), one of them",
    );
  }
  if (mirror !== undefined && settings.length > 0) {
    throw new UsageError(`${settings[0]} is a proxy setting: settings apply with --storage, not --mirror`);
  }
  const jobs = positive(values.jobs as string | undefined, 4, "jobs");
  const { items, goMods } = readInputs(positionals, io);

  let target: WarmTarget;
  if (mirror !== undefined) {
    if (!/^https?:\/\/[^/]/.test(mirror))
      throw new UsageError(`--mirror ${JSON.stringify(mirror)}: want an http(s) URL`);
    target = new MirrorTarget(mirror, {
      authorization: mirrorAuthorization(mirror, io.env),
      timeoutMs: positive(values.timeout as string | undefined, 300, "timeout") * 1000,
    });
  } else {
    const config = loadConfig({ env: io.env, argv: settings });
    // The command's own output is the report; the proxy's logs go to stderr, warnings only unless asked.
    const level = (values["log-level"] ?? io.env.GOMIRROR_LOG_LEVEL) ? config.logLevel : "warn";
    target = openStorageTarget(config, createLogger(level, process.stderr));
  }
  try {
    const summary = await runWarm({
      target,
      items,
      goMods,
      jobs,
      progress: io.progress,
      report: (line) => io.stdout(`${line}\n`),
    });
    for (const failure of summary.failures) io.stdout(`${formatWarmFailure(failure)}\n`);
    io.stdout(`${formatWarmSummary(summary)}\n`);
    return summary.failures.length > 0 ? 1 : 0;
  } finally {
    await target.close();
  }
}
