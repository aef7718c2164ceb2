import { existsSync, readFileSync, writeFileSync } from "node:fs";
import type { LoadResult } from "./load";

/** What one run measured, and the facts needed to judge it. */
export interface BenchReport {
  readonly command: string;
  readonly date: string;
  readonly machine: readonly string[];
  readonly gomirrorRuntime: string;
  readonly loadRows: readonly LoadRow[];
  readonly rssPeakBytes?: number;
  readonly rssSamples?: number;
  readonly clusterRssPeakBytes?: number;
  readonly goRows: readonly GoRow[];
  readonly notes: readonly string[];
}

export interface LoadRow {
  /** What was requested, e.g. ".info" or "50 MB .zip". */
  readonly what: string;
  readonly gomirror: LoadResult;
  readonly nginx?: LoadResult;
  readonly cluster?: LoadResult;
  /** Load average (1 min) just before each run, in the same order. */
  readonly load: { gomirror: number; nginx?: number; cluster?: number };
  /** Minimum requests/s for gomirror, when there is a target. */
  readonly target?: number;
}

export interface GoRow {
  readonly what: string;
  readonly seconds: readonly number[];
}

const MB = 1024 * 1024;

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

const rps = (r: LoadResult): string => Math.round(r.requestsPerSecond).toLocaleString("en-US");
const mbps = (r: LoadResult): string => `${Math.round(r.bytesPerSecond / MB).toLocaleString("en-US")} MiB/s`;
const ms = (x: number): string => (x < 10 ? x.toFixed(2) : x.toFixed(0));
const lat = (r: LoadResult): string => `${ms(r.p50Ms)} / ${ms(r.p99Ms)}`;
const errs = (r: LoadResult): string => (r.errors > 0 ? ` (${r.errors} errors)` : "");

function cell(r: LoadResult | undefined): string {
  return r ? `${rps(r)} req/s, ${mbps(r)}${errs(r)}` : "n/a";
}

/** The measurements as Markdown (the same text goes to stdout and to BENCHMARKS.md). */
export function renderReport(r: BenchReport): string {
  const out: string[] = [];
  out.push(`Run on ${r.date} with \`${r.command}\`.`, "");
  out.push("Machine:", "", ...r.machine.map((m) => `- ${m}`), `- gomirror runs as: ${r.gomirrorRuntime}`, "");

  const withCluster = r.loadRows.some((row) => row.cluster);
  out.push("### Cached hits, 64 keep-alive connections", "");
  const head = [
    "request",
    "gomirror",
    "p50 / p99 ms",
    "nginx",
    "p50 / p99 ms",
    "gomirror / nginx",
    ...(withCluster ? ["gomirror cluster", "p50 / p99 ms", "cluster / nginx"] : []),
    "load avg (1 min) before each",
    "target",
  ];
  out.push(`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`);
  for (const row of r.loadRows) {
    const ratio = (x?: LoadResult): string =>
      x && row.nginx ? (x.requestsPerSecond / row.nginx.requestsPerSecond).toFixed(2) : "n/a";
    const load = [row.load.gomirror, row.load.nginx, ...(withCluster ? [row.load.cluster] : [])]
      .map((l) => (l === undefined ? "-" : l.toFixed(1)))
      .join(" / ");
    const target =
      row.target === undefined
        ? "-"
        : `>= ${row.target.toLocaleString("en-US")} req/s: ${row.gomirror.requestsPerSecond >= row.target ? "met" : "MISSED"}`;
    const cells = [
      row.what,
      cell(row.gomirror),
      lat(row.gomirror),
      cell(row.nginx),
      row.nginx ? lat(row.nginx) : "n/a",
      ratio(row.gomirror),
      ...(withCluster ? [cell(row.cluster), row.cluster ? lat(row.cluster) : "n/a", ratio(row.cluster)] : []),
      load,
      target,
    ];
    out.push(`| ${cells.join(" | ")} |`);
  }
  out.push("");

  if (r.rssPeakBytes !== undefined) {
    const peak = r.rssPeakBytes / MB;
    out.push(
      "### Memory while 64 clients stream the 50 MB zip",
      "",
      `Peak RSS of the gomirror process (VmRSS every 100 ms, ${r.rssSamples} samples): ` +
        `**${peak.toFixed(0)} MiB** (target < 150 MB: ${peak * MB < 150e6 ? "met" : "MISSED"}).`,
    );
    if (r.clusterRssPeakBytes !== undefined) {
      out.push(
        `GOMIRROR_WORKERS cluster, primary plus workers together: ${(r.clusterRssPeakBytes / MB).toFixed(0)} MiB.`,
      );
    }
    out.push("");
  }

  if (r.goRows.length > 0) {
    out.push("### The go command: `go mod download` of 50 modules, fresh GOPATH", "");
    out.push("| run | median s | all runs s |", "|---|---|---|");
    for (const g of r.goRows) {
      out.push(
        `| ${g.what} | ${median(g.seconds).toFixed(2)} | ${g.seconds.map((s) => s.toFixed(2)).join(", ")} |`,
      );
    }
    out.push("");
  }
  if (r.notes.length > 0) out.push(...r.notes.map((n) => `- ${n}`), "");
  return out.join("\n");
}

const BEGIN = "<!-- bench:begin (written by npm run bench) -->";
const END = "<!-- bench:end -->";

/**
 * Puts the report between the markers of `file`, keeping the hand-written text around them, so
 * a re-run refreshes the numbers without losing the analysis. The file is formatted with the
 * project's prettier settings, so `npm run lint` stays clean after a run.
 */
export async function writeReport(file: string, markdown: string): Promise<void> {
  const block = `${BEGIN}\n${markdown}\n${END}`;
  const old = existsSync(file) ? readFileSync(file, "utf8") : "";
  const b = old.indexOf(BEGIN);
  const e = old.indexOf(END);
  const text =
    b >= 0 && e > b
      ? old.slice(0, b) + block + old.slice(e + END.length)
      : `${old || "# Benchmarks\n\n"}${old.endsWith("\n") || !old ? "" : "\n"}\n${block}\n`;
  const prettier = await import("prettier");
  const options = (await prettier.resolveConfig(file)) ?? {};
  writeFileSync(file, await prettier.format(text, { ...options, filepath: file }));
}
