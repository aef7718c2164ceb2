import type { Dispatcher } from "undici";
import { isCanonicalVersion, prerelease, sortVersions } from "../module/semver";
import { createUpstreamAgent, UpstreamProxySource } from "./upstream";

/**
 * `gomirror probe`: how each candidate upstream serves a team from where the mirror runs. Each
 * round asks for one module's `@v/list` and downloads one of its zips, timing both; the
 * candidates are then ranked by how often they failed, then by the median times. Candidates are
 * measured one after another, so none competes with another for the same link.
 */

export interface ProbeOptions {
  /** Upstream base URLs (the `url` entries of a GOPROXY list). */
  readonly upstreams: readonly string[];
  /** The module asked for; its zip should be small. */
  readonly module: string;
  /** The version whose zip is downloaded. @default the newest release in each upstream's list */
  readonly version?: string;
  /** Rounds per upstream. @default 3 */
  readonly rounds?: number;
  /** How long one request may take. */
  readonly timeoutMs: number;
  readonly dispatcher?: Dispatcher;
  /** Milliseconds from an arbitrary start (tests). @default the monotonic clock */
  readonly clock?: () => number;
}

export interface ProbeResult {
  readonly upstream: string;
  /** Median time of the successful `@v/list` requests, in milliseconds. */
  readonly listMs?: number;
  /** Median time to download the whole zip, in milliseconds. */
  readonly zipMs?: number;
  /** The version whose zip was downloaded, and its size. */
  readonly version?: string;
  readonly zipBytes?: number;
  /** Requests made (two per round, one when the list already failed). */
  readonly requests: number;
  readonly errors: number;
  /** The last failure's message. */
  readonly lastError?: string;
}

const monotonicMs = (): number => Number(process.hrtime.bigint()) / 1e6;

function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The newest release of a list, else its newest pre-release. */
function newest(versions: readonly string[]): string | undefined {
  const sorted = sortVersions(versions.filter(isCanonicalVersion));
  return sorted.filter((v) => prerelease(v) === "").pop() ?? sorted.pop();
}

async function probeOne(url: string, options: ProbeOptions, dispatcher: Dispatcher): Promise<ProbeResult> {
  const clock = options.clock ?? monotonicMs;
  // No retries: a retried request would hide exactly the failures being measured.
  const source = new UpstreamProxySource(url, { timeoutMs: options.timeoutMs, retries: 0, dispatcher });
  const listTimes: number[] = [];
  const zipTimes: number[] = [];
  let requests = 0;
  let errors = 0;
  let lastError: string | undefined;
  let version = options.version;
  let zipBytes: number | undefined;
  for (let round = 0; round < (options.rounds ?? 3); round++) {
    try {
      requests++;
      const started = clock();
      const versions = await source.list(options.module);
      listTimes.push(clock() - started);
      version ??= newest(versions);
      if (version === undefined) throw new Error(`${options.module} has no versions in its list`);
      requests++;
      const zipStarted = clock();
      const download = await source.zip(options.module, version);
      let bytes = 0;
      for await (const chunk of download.body) bytes += (chunk as Buffer).length;
      zipTimes.push(clock() - zipStarted);
      zipBytes = bytes;
    } catch (err) {
      errors++;
      lastError = (err as Error).message;
    }
  }
  return {
    upstream: url,
    listMs: median(listTimes),
    zipMs: median(zipTimes),
    version: zipBytes === undefined ? undefined : version,
    zipBytes,
    requests,
    errors,
    lastError,
  };
}

/** Best first: fewest failures per request, then the shortest median list and zip times. */
export function rankProbeResults(results: readonly ProbeResult[]): ProbeResult[] {
  const failureRate = (r: ProbeResult): number => (r.requests === 0 ? 1 : r.errors / r.requests);
  const time = (r: ProbeResult): number =>
    r.listMs === undefined || r.zipMs === undefined ? Number.POSITIVE_INFINITY : r.listMs + r.zipMs;
  return [...results].sort((a, b) => failureRate(a) - failureRate(b) || time(a) - time(b));
}

/** Measures every upstream, one after another, and ranks them. */
export async function probeUpstreams(options: ProbeOptions): Promise<ProbeResult[]> {
  const dispatcher = options.dispatcher ?? createUpstreamAgent(options.timeoutMs);
  try {
    const results: ProbeResult[] = [];
    for (const url of options.upstreams) results.push(await probeOne(url, options, dispatcher));
    return rankProbeResults(results);
  } finally {
    if (!options.dispatcher) await dispatcher.close();
  }
}

/** The ranking as a table; an upstream that never answered has no rank. */
export function formatProbeTable(results: readonly ProbeResult[]): string {
  const ms = (value: number | undefined): string => (value === undefined ? "-" : `${Math.round(value)} ms`);
  const rows = results.map((r, i) => [
    r.listMs === undefined && r.zipMs === undefined ? "-" : String(i + 1),
    r.upstream,
    ms(r.listMs),
    ms(r.zipMs),
    `${r.errors}/${r.requests}`,
    r.errors > 0 && r.lastError ? r.lastError : "",
  ]);
  const header = ["rank", "upstream", "list", "zip", "errors", "last error"];
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c]!.length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, c) => (c === 2 || c === 3 ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!)))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}
