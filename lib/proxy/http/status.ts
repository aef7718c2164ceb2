import type { IncomingMessage } from "node:http";
import type { ProxyMetrics } from "../metrics";
import type { BreakerState } from "../sources/breaker";
import { STATE_GAUGE } from "../sources/breaker";
import { VERSION } from "../version";

/** What the status page at `/` shows: nothing about modules, so no private path. */
export interface StatusFacts {
  /** The GOPROXY list as text, without credentials. */
  readonly goproxy: string;
  /** GOSUMDB as configured. */
  readonly gosumdb: string;
  /** The scheme clients reach this listener with. */
  readonly scheme: "http" | "https";
  /** Whether clients need a token (then the page says how to give one). */
  readonly tokens: boolean;
  readonly metrics: ProxyMetrics;
  /** When the process started (the hit ratio counts from then). */
  readonly startedAt: Date;
}

const STATES = Object.fromEntries(Object.entries(STATE_GAUGE).map(([k, v]) => [v, k])) as Record<
  number,
  BreakerState
>;
const HEALTH: Readonly<Record<BreakerState, string>> = {
  closed: "in use",
  "half-open": "probing after failures",
  open: "skipped after repeated failures",
};

async function total(counter: { get(): Promise<{ values: { value: number }[] }> }): Promise<number> {
  return (await counter.get()).values.reduce((sum, v) => sum + v.value, 0);
}

/** This proxy's URL as the client reached it (its Host header), for the GOPROXY line. */
export function ownUrl(req: IncomingMessage, scheme: string): string {
  const host = req.headers.host;
  const safe = typeof host === "string" && /^[A-Za-z0-9.:[\]-]{1,255}$/.test(host) ? host : "this-host";
  const forwarded = req.headers["x-forwarded-proto"];
  const proto = forwarded === "https" || forwarded === "http" ? forwarded : scheme;
  return `${proto}://${safe}`;
}

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  );
}

/** The status page: text for curl, HTML for a browser (`Accept: text/html`). */
export async function statusPage(
  req: IncomingMessage,
  facts: StatusFacts,
): Promise<{ readonly type: string; readonly body: string }> {
  const { metrics } = facts;
  const upstreams = (await metrics.upstreamState.get()).values.map((v) => ({
    upstream: String(v.labels.upstream),
    health: HEALTH[STATES[v.value] ?? "closed"],
  }));
  const hits = await total(metrics.cacheHits);
  const misses = await total(metrics.cacheMisses);
  const ratio =
    hits + misses === 0
      ? "no requests yet"
      : `${((100 * hits) / (hits + misses)).toFixed(1)}% (${hits} of ${hits + misses})`;
  const url = ownUrl(req, facts.scheme);
  const rows: [string, string][] = [
    ["version", VERSION],
    ["upstream list (GOPROXY)", facts.goproxy],
    ...upstreams.map((u): [string, string] => [`  ${u.upstream}`, u.health]),
    ["checksum database (GOSUMDB)", facts.gosumdb],
    ["cache hits since start", ratio],
    ["started", facts.startedAt.toISOString()],
  ];
  const use = [`export GOPROXY=${url}`];
  if (facts.tokens)
    use.push(
      `# with your token in ~/.netrc: machine ${url.replace(/^https?:\/\//, "").replace(/:\d+$/, "")} login NAME password TOKEN`,
    );
  const wantsHtml = /\btext\/html\b/.test(String(req.headers.accept ?? ""));
  if (!wantsHtml) {
    const width = Math.max(...rows.map(([k]) => k.length));
    const lines = rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`);
    return {
      type: "text/plain; charset=utf-8",
      body: `gomirror: a Go module proxy\n\n${lines.join("\n")}\n\nPoint the go command here:\n  ${use.join("\n  ")}\n`,
    };
  }
  const table = rows
    .map(([k, v]) => `<tr><th>${escapeHtml(k.trim())}</th><td>${escapeHtml(v)}</td></tr>`)
    .join("\n");
  return {
    type: "text/html; charset=utf-8",
    body:
      `<!doctype html>\n<html><head><meta charset="utf-8"><title>gomirror</title>` +
      `<style>body{font-family:sans-serif;margin:2em}th{text-align:left;padding-right:1em}pre{background:#eee;padding:.5em}</style>` +
      `</head><body>\n<h1>gomirror ${escapeHtml(VERSION)}</h1>\n<table>\n${table}\n</table>\n` +
      `<h2>Point the go command here</h2>\n<pre>${escapeHtml(use.join("\n"))}</pre>\n</body></html>\n`,
  };
}
