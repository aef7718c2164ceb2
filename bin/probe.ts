import { parseArgs } from "node:util";
import { checkPath } from "../lib/proxy/module/path";
import { isCanonicalVersion } from "../lib/proxy/module/semver";
import { formatProbeTable, probeUpstreams } from "../lib/proxy/sources/probe";
import { parseProxyList, ProxyListError } from "../lib/proxy/sources/proxy-list";
import { SCHEMA } from "../lib/proxy/settings/schema";

/** `gomirror probe`: ranks candidate upstreams by how they answer from here. */

/** A small module every public proxy serves. */
export const DEFAULT_PROBE_MODULE = "golang.org/x/sync";

export const PROBE_USAGE = `gomirror probe: measure candidate upstreams and rank them

Usage:
  gomirror probe [--goproxy LIST] [--module PATH[@VERSION]] [--rounds N] [--timeout SECONDS]

Each upstream in LIST is asked N times for PATH's @v/list and one of its zips (the newest
release, or VERSION), one upstream after another. The table ranks them by failures, then by
the median time of the list and of the whole zip download. direct and off are not probed.

Flags:
  --goproxy LIST     GOPROXY-syntax list of candidates [default: $GOPROXY, else ${SCHEMA.proxyList.default}]
  --module PATH      the module to ask for; keep its zip small [default: ${DEFAULT_PROBE_MODULE}]
  --rounds N         rounds per upstream [default: 3]
  --timeout SECONDS  how long one request may take [default: 10]

Exit status: 0 when at least one upstream answered, 1 when none did, 2 wrong usage.
`;

export interface ProbeCommandIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: NodeJS.ProcessEnv;
}

class UsageError extends Error {}

const OPTIONS = {
  goproxy: { type: "string" },
  module: { type: "string" },
  rounds: { type: "string" },
  timeout: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

function positiveNumber(value: string | undefined, fallback: number, flag: string, whole: boolean): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === "" || !(n > 0) || (whole && !Number.isInteger(n))) {
    throw new UsageError(`--${flag} ${JSON.stringify(value)}: want a ${whole ? "whole " : ""}number above 0`);
  }
  return n;
}

function moduleFlag(value: string): { path: string; version?: string } {
  const at = value.indexOf("@");
  const path = at < 0 ? value : value.slice(0, at);
  const version = at < 0 ? undefined : value.slice(at + 1);
  try {
    checkPath(path);
  } catch (err) {
    throw new UsageError(`--module ${JSON.stringify(value)}: ${(err as Error).message}`);
  }
  if (version !== undefined && !isCanonicalVersion(version)) {
    throw new UsageError(
      `--module ${JSON.stringify(value)}: ${version} is not a canonical version like v1.2.3`,
    );
  }
  return { path, version };
}

/** Runs `gomirror probe <argv>`; resolves with the exit status. */
export async function runProbeCommand(argv: readonly string[], io: ProbeCommandIo): Promise<number> {
  try {
    return await run(argv, io);
  } catch (err) {
    if (err instanceof UsageError || err instanceof ProxyListError) {
      io.stderr(`gomirror probe: ${err.message}\nsee gomirror probe --help\n`);
      return 2;
    }
    throw err;
  }
}

async function run(argv: readonly string[], io: ProbeCommandIo): Promise<number> {
  let values: { goproxy?: string; module?: string; rounds?: string; timeout?: string; help?: boolean };
  try {
    ({ values } = parseArgs({ args: [...argv], options: OPTIONS, strict: true, allowPositionals: false }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) {
    io.stdout(PROBE_USAGE);
    return 0;
  }
  const list = parseProxyList(values.goproxy ?? (io.env.GOPROXY || SCHEMA.proxyList.default));
  const target = moduleFlag(values.module ?? DEFAULT_PROBE_MODULE);
  const rounds = positiveNumber(values.rounds, 3, "rounds", true);
  const timeoutSeconds = positiveNumber(values.timeout, 10, "timeout", false);
  const upstreams = list.flatMap((entry) => (entry.kind === "url" ? [entry.url] : []));
  for (const entry of list) if (entry.kind !== "url") io.stderr(`not probed: ${entry.kind}\n`);
  if (upstreams.length === 0) throw new UsageError("the list holds no upstream URL to probe");

  const results = await probeUpstreams({
    upstreams,
    module: target.path,
    version: target.version,
    rounds,
    timeoutMs: timeoutSeconds * 1000,
  });
  io.stdout(`${formatProbeTable(results)}\n`);
  const sample = results.find((r) => r.version !== undefined);
  io.stdout(
    `probed ${target.path}${sample ? `@${sample.version} (zip ${sample.zipBytes} bytes)` : ""}, ` +
      `${rounds} round${rounds === 1 ? "" : "s"} per upstream\n`,
  );
  return results.some((r) => r.errors < r.requests) ? 0 : 1;
}
