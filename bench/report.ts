import { existsSync, readFileSync, writeFileSync } from "node:fs";
import type { LoadResult } from "./load";

/**
 * The servers compared: nginx (the physical limit), goproxy/goproxy, a minimal node:http file
 * server (what the runtime itself costs), gomirror in one process.
 */
export type ServerName = "nginx" | "goproxy" | "node" | "gomirror";
const SERVERS: readonly ServerName[] = ["nginx", "goproxy", "node", "gomirror"];

/** A figure with the 1-minute load average it was taken at. */
export interface Measured<T> {
  readonly value: T;
  readonly load: number;
  /** Runs made (more than one when the load was high). */
  readonly attempts: number;
  /** Still taken above the load limit after every retry. */
  readonly loaded: boolean;
}

export interface HitCell {
  readonly result: LoadResult;
  /** CPU seconds the server (with its children) used during the run. */
  readonly cpuSeconds: number;
}

export interface HitRow {
  readonly key: string;
  readonly what: string;
  readonly unit: "req/s" | "MB/s";
  readonly cells: Partial<Record<ServerName, Measured<HitCell>>>;
}

export interface RssRow {
  readonly key: "start" | "idle" | "restarted" | "stream50m" | "stream500m";
  readonly what: string;
  /** Bytes. */
  readonly cells: Partial<Record<ServerName, Measured<number>>>;
}

export interface GoRow {
  readonly what: string;
  readonly kind: "cold" | "warm" | "network";
  /** Seconds of each run, by column. */
  readonly columns: { direct?: number[]; nginx?: number[]; goproxy?: number[]; gomirror?: number[] };
  /** Load before each measured run. */
  readonly loads: readonly number[];
  readonly note?: string;
}

/** What one run measured, and the facts needed to judge it. */
export interface BenchReport {
  readonly command: string;
  readonly date: string;
  readonly machine: readonly string[];
  readonly gomirrorRuntime: string;
  readonly hits: readonly HitRow[];
  readonly rss: readonly RssRow[];
  readonly go: readonly GoRow[];
  readonly cluster?: { readonly workers: number; readonly rows: readonly HitRow[] };
  readonly maxLoad: number;
  readonly notes: readonly string[];
}

const MB = 1e6;

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const int = (x: number): string => Math.round(x).toLocaleString("en-US");
const ms = (x: number): string => (x < 10 ? x.toFixed(2) : x.toFixed(0));
const ratio = (a: number | undefined, b: number | undefined): string =>
  a === undefined || b === undefined || b === 0
    ? "n/a"
    : a / b >= 10
      ? (a / b).toFixed(1)
      : (a / b).toFixed(2);
const mark = (m: Measured<unknown>): string => (m.loaded ? " *loaded*" : "");

/** The figure a hit row compares: requests or megabytes per second. */
function rate(row: HitRow, m: Measured<HitCell> | undefined): number | undefined {
  if (!m) return undefined;
  return row.unit === "req/s" ? m.value.result.requestsPerSecond : m.value.result.bytesPerSecond / MB;
}

function cpuPerGB(m: Measured<HitCell> | undefined): number | undefined {
  if (!m) return undefined;
  const gb = (m.value.result.bytesPerSecond * m.value.result.seconds) / 1e9;
  return gb > 0 ? m.value.cpuSeconds / gb : undefined;
}

function verdict(ok: boolean | undefined): string {
  return ok === undefined ? "n/a" : ok ? "met" : "**MISSED**";
}

/** Issue 13's targets for one hit row. */
function hitTarget(row: HitRow): string {
  const g = rate(row, row.cells.gomirror);
  const at = (other: ServerName, min: number): boolean | undefined => {
    const o = rate(row, row.cells[other]);
    return g === undefined || o === undefined ? undefined : g / o >= min;
  };
  switch (row.key) {
    case "info":
    case "mod":
      return `>= 1.0x goproxy: ${verdict(at("goproxy", 1))}; >= 0.5x nginx: ${verdict(at("nginx", 0.5))}`;
    case "zip100k":
      return `>= 1.0x goproxy: ${verdict(at("goproxy", 1))}`;
    case "zip50m":
      return `>= 0.8x nginx: ${verdict(at("nginx", 0.8))}`;
    default:
      return "";
  }
}

function rssTarget(row: RssRow, all: readonly RssRow[]): string {
  const g = row.cells.gomirror?.value;
  if (g === undefined) return "";
  switch (row.key) {
    case "idle":
      return `< 60 MB: ${verdict(g < 60 * MB)}`;
    case "stream50m":
      return `< 100 MB: ${verdict(g < 100 * MB)}`;
    case "stream500m": {
      const at50 = all.find((r) => r.key === "stream50m")?.cells.gomirror?.value;
      // Memory that grew with what is streamed would show as hundreds of MB here.
      return at50 === undefined
        ? ""
        : `constant (within 10 MB of the 50 MB row): ${verdict(g <= at50 + 10 * MB)}`;
    }
    default:
      return "";
  }
}

function table(head: readonly string[], rows: readonly (readonly string[])[]): string[] {
  return [
    `| ${head.join(" | ")} |`,
    `|${head.map(() => "---").join("|")}|`,
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ];
}

/** The measurements as Markdown (the same text goes to stdout and to BENCHMARKS.md). */
export function renderReport(r: BenchReport): string {
  const out: string[] = [];
  out.push(`Run on ${r.date} with \`${r.command}\`.`, "");
  out.push("Machine:", "", ...r.machine.map((m) => `- ${m}`), `- gomirror runs as: ${r.gomirrorRuntime}`, "");

  const present = SERVERS.filter((s) => r.hits.some((h) => h.cells[s]) || r.rss.some((x) => x.cells[s]));
  const has = (s: ServerName) => present.includes(s);
  const names: Record<ServerName, string> = {
    nginx: "nginx",
    goproxy: "goproxy/goproxy",
    node: "node:http, minimal",
    gomirror: "gomirror, 1 process",
  };

  out.push("### Side by side", "");
  const head = [
    "",
    ...present.map((s) => names[s]),
    ...(has("goproxy") ? ["gomirror / goproxy"] : []),
    ...(has("nginx") ? ["gomirror / nginx"] : []),
    ...(has("node") ? ["gomirror / node:http"] : []),
    "target (issue 13)",
    `1-min load before (${present.join(" / ")})`,
  ];
  const rows: string[][] = [];
  for (const row of r.hits) {
    const cells = present.map((s) => {
      const v = rate(row, row.cells[s]);
      return v === undefined ? "n/a" : `${int(v)}${mark(row.cells[s]!)}`;
    });
    const g = rate(row, row.cells.gomirror);
    rows.push([
      `${row.what} ${row.unit}`,
      ...cells,
      ...(has("goproxy") ? [ratio(g, rate(row, row.cells.goproxy))] : []),
      ...(has("nginx") ? [ratio(g, rate(row, row.cells.nginx))] : []),
      ...(has("node") ? [ratio(g, rate(row, row.cells.node))] : []),
      hitTarget(row),
      present.map((s) => row.cells[s]?.load.toFixed(1) ?? "-").join(" / "),
    ]);
    if (row.unit === "MB/s") {
      const cpu = present.map((s) => cpuPerGB(row.cells[s]));
      const gCpu = cpuPerGB(row.cells.gomirror);
      rows.push([
        `${row.what}: server CPU seconds per GB sent`,
        ...cpu.map((c) => (c === undefined ? "n/a" : c.toFixed(2))),
        ...(has("goproxy") ? [ratio(gCpu, cpuPerGB(row.cells.goproxy))] : []),
        ...(has("nginx") ? [ratio(gCpu, cpuPerGB(row.cells.nginx))] : []),
        ...(has("node") ? [ratio(gCpu, cpuPerGB(row.cells.node))] : []),
        "reported",
        "same runs",
      ]);
    }
  }
  for (const row of r.rss) {
    const g = row.cells.gomirror?.value;
    rows.push([
      row.what,
      ...present.map((s) => {
        const m = row.cells[s];
        return m ? `${(m.value / MB).toFixed(0)} MB${mark(m)}` : "n/a";
      }),
      ...(has("goproxy") ? [ratio(g, row.cells.goproxy?.value)] : []),
      ...(has("nginx") ? [ratio(g, row.cells.nginx?.value)] : []),
      ...(has("node") ? [ratio(g, row.cells.node?.value)] : []),
      rssTarget(row, r.rss),
      present.map((s) => row.cells[s]?.load.toFixed(1) ?? "-").join(" / "),
    ]);
  }
  out.push(...table(head, rows), "");

  if (r.hits.length > 0) {
    out.push("Latency of the same runs, p50 / p99 ms:", "");
    out.push(
      ...table(
        ["request", ...present.map((s) => names[s])],
        r.hits.map((row) => [
          row.what,
          ...present.map((s) => {
            const m = row.cells[s];
            return m
              ? `${ms(m.value.result.p50Ms)} / ${ms(m.value.result.p99Ms)}${m.value.result.errors ? ` (${m.value.result.errors} errors)` : ""}`
              : "n/a";
          }),
        ]),
      ),
      "",
    );
  }

  if (r.go.length > 0) {
    out.push("### The go command: `go mod download` of 50 modules, fresh GOPATH (median s, all runs)", "");
    const cols = (["direct", "nginx", "goproxy", "gomirror"] as const).filter((c) =>
      r.go.some((g) => g.columns[c]),
    );
    const label: Record<(typeof cols)[number], string> = {
      direct: "go command straight to the upstream",
      nginx: "nginx over gomirror's cache",
      goproxy: "goproxy/goproxy",
      gomirror: "gomirror",
    };
    const cell = (xs: number[] | undefined) =>
      xs && xs.length > 0 ? `${median(xs).toFixed(2)} (${xs.map((x) => x.toFixed(2)).join(", ")})` : "";
    const med = (xs: number[] | undefined) => (xs && xs.length > 0 ? median(xs) : undefined);
    out.push(
      ...table(
        [
          "run",
          ...cols.map((c) => label[c]),
          "gomirror / goproxy",
          "gomirror / direct",
          "target (issue 13)",
          "1-min load before each run",
        ],
        r.go.map((g) => {
          const gm = med(g.columns.gomirror);
          const target =
            g.kind === "cold"
              ? `<= 1.2x goproxy: ${verdict(g.columns.goproxy ? gm! <= 1.2 * med(g.columns.goproxy)! : undefined)}`
              : g.kind === "network"
                ? `never slower than direct: ${verdict(gm! <= med(g.columns.direct)!)}`
                : `ahead of goproxy: ${verdict(g.columns.goproxy ? gm! <= med(g.columns.goproxy)! : undefined)}`;
          return [
            g.note ? `${g.what} (${g.note})` : g.what,
            ...cols.map((c) => cell(g.columns[c])),
            ratio(gm, med(g.columns.goproxy)),
            ratio(gm, med(g.columns.direct)),
            target,
            g.loads.length > 0 ? g.loads.map((l) => l.toFixed(1)).join(", ") : "-",
          ];
        }),
      ),
      "",
    );
  }

  if (r.cluster) {
    out.push(
      `### gomirror with GOMIRROR_WORKERS=${r.cluster.workers} (node:cluster workers sharing the port)`,
      "",
    );
    out.push(
      ...table(
        ["request", "cluster", "p50 / p99 ms", "1-min load before"],
        r.cluster.rows.map((row) => {
          const m = row.cells.gomirror!;
          return [
            row.what,
            `${int(rate(row, m)!)} ${row.unit}${mark(m)}`,
            `${ms(m.value.result.p50Ms)} / ${ms(m.value.result.p99Ms)}`,
            m.load.toFixed(1),
          ];
        }),
      ),
      "",
    );
  }
  if (r.notes.length > 0) out.push(...r.notes.map((n) => `- ${n}`), "");
  return out.join("\n");
}

const BEGIN = "<!-- bench:begin (written by npm run bench) -->";
const END = "<!-- bench:end -->";

/**
 * Puts `markdown` between the markers `begin` and `end` of `file` (at its end when they are not
 * there yet), keeping the hand-written text around them, so a re-run refreshes the numbers
 * without losing the analysis. The file is formatted with the project's prettier settings, so
 * `npm run lint` stays clean after a run.
 */
export async function writeMarkedSection(
  file: string,
  begin: string,
  end: string,
  markdown: string,
): Promise<void> {
  const block = `${begin}\n${markdown}\n${end}`;
  const old = existsSync(file) ? readFileSync(file, "utf8") : "";
  const b = old.indexOf(begin);
  const e = old.indexOf(end);
  const text =
    b >= 0 && e > b
      ? old.slice(0, b) + block + old.slice(e + end.length)
      : `${old || "# Benchmarks\n\n"}${old.endsWith("\n") || !old ? "" : "\n"}\n${block}\n`;
  const prettier = await import("prettier");
  const options = (await prettier.resolveConfig(file)) ?? {};
  writeFileSync(file, await prettier.format(text, { ...options, filepath: file }));
}

/** The main benchmark's report, between its own markers. */
export function writeReport(file: string, markdown: string): Promise<void> {
  return writeMarkedSection(file, BEGIN, END, markdown);
}
