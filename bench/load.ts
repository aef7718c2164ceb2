import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { runToEnd } from "./processes";

/**
 * Load generation with wrk (Debian package `wrk`): N keep-alive connections against one URL for
 * a fixed duration. A tiny Lua `done` hook prints the counters and latency percentiles as JSON;
 * no `response` hook, so wrk never buffers bodies (a 50 MB zip stays a stream).
 */

export interface LoadResult {
  readonly requests: number;
  readonly seconds: number;
  readonly requestsPerSecond: number;
  readonly bytesPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Socket errors, timeouts and non-2xx/3xx answers together. */
  readonly errors: number;
}

export interface LoadOptions {
  readonly url: string;
  readonly connections: number;
  readonly threads: number;
  readonly seconds: number;
  /** A response slower than this counts as a timeout. */
  readonly timeoutSeconds: number;
}

const REPORT_SCRIPT = `
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRK_JSON {\\"requests\\":%d,\\"duration_us\\":%d,\\"bytes\\":%d,\\"errors\\":%d,\\"p50_us\\":%d,\\"p99_us\\":%d,\\"max_us\\":%d}\\n",
    summary.requests, summary.duration, summary.bytes,
    e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
`;

/** wrk's version line, or undefined when wrk is not installed. */
export function wrkVersion(): string | undefined {
  // `wrk -v` prints its banner and exits 1.
  const res = spawnSync("wrk", ["-v"], { encoding: "utf8", timeout: 5000 });
  const first = `${res.stdout ?? ""}${res.stderr ?? ""}`.split("\n")[0]?.trim();
  return res.error || !first?.startsWith("wrk") ? undefined : first.replace(/ Copyright.*$/, "");
}

export async function runLoad(workDir: string, options: LoadOptions): Promise<LoadResult> {
  const script = path.join(workDir, "wrk-report.lua");
  writeFileSync(script, REPORT_SCRIPT);
  const args = [
    `-t${options.threads}`,
    `-c${options.connections}`,
    `-d${options.seconds}s`,
    `--timeout`,
    `${options.timeoutSeconds}s`,
    "-s",
    script,
    options.url,
  ];
  const out = await runToEnd("wrk", args, {
    timeoutMs: (options.seconds + options.timeoutSeconds + 30) * 1000,
  });
  const line = out.split("\n").find((l) => l.startsWith("WRK_JSON "));
  if (!line) throw new Error(`wrk printed no WRK_JSON line for ${options.url}:\n${out}`);
  const r = JSON.parse(line.slice("WRK_JSON ".length)) as Record<string, number>;
  const seconds = r.duration_us / 1e6;
  return {
    requests: r.requests,
    seconds,
    requestsPerSecond: r.requests / seconds,
    bytesPerSecond: r.bytes / seconds,
    p50Ms: r.p50_us / 1000,
    p99Ms: r.p99_us / 1000,
    maxMs: r.max_us / 1000,
    errors: r.errors,
  };
}
