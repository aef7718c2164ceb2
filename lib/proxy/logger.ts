import { isatty } from "node:tty";
import pino, { type Logger } from "pino";
import { prettyDestination } from "./log-pretty";
import type { LogFormat } from "./settings/schema";

export type { Logger };

/**
 * JSON logs, written synchronously (no worker thread: the image holds one file).
 * Anything that looks like a credential is redacted by key wherever it appears.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: "gomirror", pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: [
          "*.authorization",
          "*.password",
          "*.token",
          "*.netrc",
          "headers.authorization",
          "headers.cookie",
        ],
        censor: "[redacted]",
      },
    },
    destination ?? pino.destination({ dest: 1, sync: true }),
  );
}

/** Whether log lines to `fd` are for a person (GOMIRROR_LOG_FORMAT, `auto`: a terminal). */
export function isPretty(format: LogFormat, fd: number = 1): boolean {
  return format === "pretty" || (format === "auto" && isatty(fd));
}

/**
 * Where logs go: `fd` (stdout for the server, stderr for commands whose stdout is their
 * output), as JSON lines or, for a person, as readable lines.
 */
export function logDestination(format: LogFormat, fd: 1 | 2 = 1): pino.DestinationStream {
  const raw = pino.destination({ dest: fd, sync: true });
  return isPretty(format, fd) ? prettyDestination(raw, { color: isatty(fd) }) : raw;
}

/** A logger that drops everything (library use and tests). */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
