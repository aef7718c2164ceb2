import type { DestinationStream } from "pino";

/** pino's numeric levels and the names a reader sees. */
const LEVELS: Readonly<Record<number, string>> = {
  10: "TRACE",
  20: "DEBUG",
  30: "INFO",
  40: "WARN",
  50: "ERROR",
  60: "FATAL",
};
const COLORS: Readonly<Record<number, string>> = { 40: "\x1b[33m", 50: "\x1b[31m", 60: "\x1b[31m" };
const DIM = "\x1b[2m";
const RESET = "\x1b[0m";

/** Fields every line has, or that the line shows in its own place. */
const OMITTED = new Set(["level", "time", "msg", "pid", "service", "hostname", "event"]);

function value(v: unknown): string {
  if (typeof v === "string") return v === "" || /[\s"=]/.test(v) ? JSON.stringify(v) : v;
  return JSON.stringify(v) ?? String(v);
}

/** The parts a request line puts first: status, method, path, time. */
function requestHead(record: Record<string, unknown>): { head: string; used: readonly string[] } {
  const duration = typeof record.durationMs === "number" ? ` ${record.durationMs}ms` : "";
  return {
    head: `${String(record.status ?? "-")} ${String(record.method ?? "")} ${String(record.url ?? "")}${duration}`,
    used: ["status", "method", "url", "durationMs", "endpoint"],
  };
}

/**
 * One JSON log line as one readable line: `12:00:01 INFO  message key=value ...`. The startup
 * line (`event: "listening"`) is a block, one setting a line: it is what a new user reads first.
 */
export function formatPretty(line: string, color = false): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line.endsWith("\n") ? line : `${line}\n`;
  }
  const level = typeof record.level === "number" ? record.level : 30;
  const time = typeof record.time === "string" ? record.time.slice(11, 19) : "";
  let name = (LEVELS[level] ?? String(level)).padEnd(5);
  if (color && COLORS[level]) name = `${COLORS[level]}${name}${RESET}`;
  const stamp = color ? `${DIM}${time}${RESET}` : time;
  let msg = typeof record.msg === "string" ? record.msg : "";
  let used: readonly string[] = [];
  if (record.event === "request") {
    const request = requestHead(record);
    msg = msg === "request" ? request.head : `${msg}: ${request.head}`;
    used = request.used;
  }
  const fields = Object.entries(record).filter(([k]) => !OMITTED.has(k) && !used.includes(k));
  if (record.event === "listening") {
    const width = Math.max(0, ...fields.map(([k]) => k.length));
    const rows = fields.map(
      ([k, v]) =>
        `    ${k.padEnd(width)}  ${Array.isArray(v) ? v.join(", ") || "(none)" : typeof v === "string" ? v : value(v)}\n`,
    );
    return `${stamp} ${name} ${msg}\n${rows.join("")}`;
  }
  const rest = fields.map(([k, v]) => `${k}=${value(v)}`).join(" ");
  return `${stamp} ${name} ${msg}${rest ? ` ${color ? DIM : ""}${rest}${color ? RESET : ""}` : ""}\n`;
}

/** A pino destination that writes each JSON line to `out` as `formatPretty` renders it. */
export function prettyDestination(
  out: { write(text: string): unknown },
  options: { readonly color?: boolean } = {},
): DestinationStream {
  return {
    write(text: string) {
      out.write(formatPretty(text.endsWith("\n") ? text.slice(0, -1) : text, options.color === true));
    },
  };
}
