#!/usr/bin/env node
import cluster from "node:cluster";
import { existsSync, readFileSync } from "node:fs";
import { ConfigError, loadConfig, settingsHelp } from "../lib/proxy/config";
import { createLogger, logDestination } from "../lib/proxy/logger";
import { startProxy } from "../lib/proxy/server";
import { checkSelfLoop, listenFailure } from "../lib/proxy/startup";
import { HOP_ENV, hopId } from "../lib/proxy/http/hop";
import { VERSION } from "../lib/proxy/version";
import { openConfiguredStorage } from "../lib/proxy/storage/open";
import { parseGosumdb } from "../lib/proxy/sumdb/config";
import { formatVerifySummary, runVerify } from "../lib/proxy/sumdb/verify-command";
import { runProbeCommand } from "./probe";
import { runTokenCommand } from "./token";
import { runWarmCommand } from "./warm";
import { EXPORT_USAGE, IMPORT_USAGE, runExportCommand, runImportCommand, type CommandIo } from "./bundle";
import { UsageError } from "./command-args";
import { INDEX_USAGE, runIndexCommand } from "./index-command";
import { runSyncCommand, SYNC_USAGE } from "./sync";

const USAGE = `gomirror: a private Go module proxy (GOPROXY server)

Usage:
  gomirror [serve] [flags]     start the proxy
  gomirror verify [--remove] [flags]
                               re-check every cached .mod and .zip against the checksum
                               database (GOSUMDB); --remove deletes what fails; exit 1 on failures
  gomirror token add|list|revoke --file F ...
                               manage client tokens (see gomirror token --help)
  gomirror export --out bundle.tar [--storage S | --mirror URL] WHAT...
                               write a bundle of module versions with checksum database proofs
  gomirror import bundle.tar [--storage S]
                               check a bundle whole, then store it
  gomirror sync --from URL [--token T] [--since TIME]
                               copy what another gomirror stored and this one lacks
  gomirror index --rebuild [--storage S]
                               add what the storage holds to the /index feed
  gomirror probe [--goproxy LIST]
                               measure candidate upstreams and rank them
  gomirror warm --mirror URL | --storage LOC [go.sum | go.mod | module@version ...]
                               fill a mirror ahead of need
  (each takes --help)
  gomirror version             print the version (also --version)
  gomirror --help              this text

Point the go command at it (in the go command's shell, not the proxy's: the proxy reads
GOPROXY as its own upstream list and refuses one that names itself):
  GOPROXY=http://127.0.0.1:3000 go mod download
Open http://127.0.0.1:3000/ for its status: version, upstreams, cache hits.

Settings (environment variable in parentheses; a flag wins over its variable):
${settingsHelp()}
`;

function fail(message: string, code = 2): never {
  process.stderr.write(`gomirror: ${message}\n`);
  process.exit(code);
}

/** Restarts within this window that make the supervisor give up: the workers cannot start. */
const CRASH_WINDOW_MS = 60_000;
const MAX_CRASHES = 5;

/**
 * GOMIRROR_WORKERS > 1: this process only supervises. Workers (this same command, forked by
 * node:cluster) share the listening socket; a worker that dies is replaced, SIGTERM is passed
 * on, and the supervisor exits once every worker has drained.
 */
function superviseWorkers(count: number): void {
  let stopping = false;
  let failed = false;
  const crashes: number[] = [];
  // Our own count of live workers: cluster.workers may still list one whose exit event came first.
  const live = new Set<number>();
  // One hop id for every worker: a request that loops back may reach another worker.
  const hop = hopId();
  const fork = (): void => {
    live.add(cluster.fork({ [HOP_ENV]: hop }).id);
  };
  // A worker that exits before any has listened cannot start (its reason is on stderr, an address
  // in use, storage that cannot be written): starting it again would only repeat the reason.
  let listened = false;
  let startFailure: number | undefined;
  cluster.on("listening", () => (listened = true));
  const exitCode = (): number => startFailure ?? (failed ? 1 : 0);
  const stop = (): void => {
    stopping = true;
    if (live.size === 0) process.exit(exitCode());
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill("SIGTERM");
  };
  cluster.on("exit", (worker, code, signal) => {
    live.delete(worker.id);
    if (!listened && !stopping && signal === null && code !== 0) {
      startFailure = code;
      stop();
      return;
    }
    if (stopping) {
      if (code !== 0) failed = true;
      if (live.size === 0) process.exit(exitCode());
      return;
    }
    const now = Date.now();
    crashes.push(now);
    while (crashes.length > 0 && now - crashes[0]! > CRASH_WINDOW_MS) crashes.shift();
    process.stderr.write(`gomirror: worker ${worker.process.pid} exited (${signal ?? code})\n`);
    if (crashes.length > MAX_CRASHES) {
      process.stderr.write(`gomirror: workers exited ${crashes.length} times within a minute; stopping\n`);
      failed = true;
      stop();
      return;
    }
    fork();
  });
  for (let i = 0; i < count; i++) fork();
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

async function serve(argv: string[]): Promise<void> {
  const config = loadConfig({ env: process.env, argv });
  // Refused here too, so that a supervisor does not restart workers that all refuse it.
  checkSelfLoop(config);
  if (config.workers > 1 && cluster.isPrimary) {
    superviseWorkers(config.workers);
    return;
  }
  const proxy = await startProxy(config).catch((err: unknown) => {
    const message = listenFailure(err, config);
    if (message !== undefined) fail(message, 1);
    throw err;
  });
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    proxy.logger.info({ event: "shutdown", signal }, "shutting down: finishing in-flight requests");
    proxy.close().then(
      () => process.exit(0),
      (err) => {
        proxy.logger.error({ err: String(err) }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

async function verify(argv: string[]): Promise<void> {
  const remove = argv.includes("--remove");
  const config = loadConfig({ env: process.env, argv: argv.filter((a) => a !== "--remove") });
  if (parseGosumdb(config.sumdb) === undefined) fail("verify needs a checksum database, but GOSUMDB=off");
  if (!config.storage.startsWith("s3://") && !existsSync(config.storage)) {
    fail(
      `verify: GOMIRROR_STORAGE=${config.storage} does not exist; give the storage of a gomirror that ran (--storage)`,
    );
  }
  const storage = openConfiguredStorage(config);
  const summary = await runVerify({
    storage,
    config,
    remove,
    // stdout is the command's output: the failures and the summary; logs go to stderr.
    logger: createLogger(config.logLevel, logDestination(config.logFormat, 2)),
  });
  for (const failure of summary.failures) process.stdout.write(`FAIL ${failure.reason}\n`);
  process.stdout.write(`${formatVerifySummary(summary)}\n`);
  process.exit(summary.mismatched + summary.errors > 0 ? 1 : 0);
}

/** Commands that speak for themselves: their own usage, exit 2 for wrong usage. */
const COMMANDS: Record<
  string,
  { usage: string; run: (argv: readonly string[], io: CommandIo) => Promise<number> }
> = {
  export: { usage: EXPORT_USAGE, run: runExportCommand },
  import: { usage: IMPORT_USAGE, run: runImportCommand },
  sync: { usage: SYNC_USAGE, run: runSyncCommand },
  index: { usage: INDEX_USAGE, run: runIndexCommand },
};

async function runCommand(name: string, argv: string[]): Promise<number> {
  const command = COMMANDS[name];
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(command.usage);
    return 0;
  }
  const io: CommandIo = {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    env: process.env,
    tty: process.stderr.isTTY === true,
  };
  try {
    return await command.run(argv, io);
  } catch (err) {
    if (err instanceof UsageError || err instanceof ConfigError) {
      io.stderr(`gomirror ${name}: ${err.message}\nsee gomirror ${name} --help\n`);
      return 2;
    }
    io.stderr(`gomirror ${name}: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

/** Subcommands that handle their own flags, --help and errors, and return their exit code. */
const OWN_FLAGS: Record<
  string,
  (argv: readonly string[], io: CommandIo & { stdin: () => string }) => Promise<number>
> = {
  token: runTokenCommand,
  probe: runProbeCommand,
  warm: runWarmCommand,
};

async function main(argv: string[]): Promise<void> {
  if (argv[0] !== undefined && argv[0] in COMMANDS) {
    // Exit now: pooled keep-alive connections would hold the process open for a while.
    process.exit(await runCommand(argv[0], argv.slice(1)));
  }
  const own = argv[0] === undefined ? undefined : OWN_FLAGS[argv[0]];
  if (own) {
    const io = {
      stdout: (text: string) => process.stdout.write(text),
      stderr: (text: string) => process.stderr.write(text),
      env: process.env,
      tty: process.stderr.isTTY === true,
      stdin: () => readFileSync(0, "utf8"),
    };
    process.exit(await own(argv.slice(1), io));
  }
  if (argv[0] === "--version" || argv[0] === "version" || (argv[0] === "serve" && argv[1] === "--version")) {
    process.stdout.write(`gomirror ${VERSION}\n`);
    return;
  }
  if (argv.includes("--help") || argv.includes("-h") || argv[0] === "help") {
    process.stdout.write(USAGE);
    return;
  }
  const [command, ...rest] = argv[0] === undefined || argv[0].startsWith("-") ? ["serve", ...argv] : argv;
  switch (command) {
    case "serve":
      return serve(rest);
    case "verify":
      return verify(rest);
    default:
      fail(`unknown command ${JSON.stringify(command)}; see gomirror --help`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof ConfigError) fail(err.message);
  fail(err instanceof Error ? (err.stack ?? err.message) : String(err), 1);
});
