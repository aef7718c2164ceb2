import { SingleBar } from "cli-progress";

/**
 * Progress of a long command: a bar on a terminal (as `gomirror verify` draws one), otherwise a
 * plain line now and then and at the end, which logs and CI keep readably.
 */
export interface Progress {
  update(done: number, note?: string): void;
  stop(): void;
}

export interface ProgressOptions {
  /** Draw a bar (stderr is a terminal). */
  readonly tty: boolean;
  /** Where plain lines go. */
  readonly write: (line: string) => void;
  /** Milliseconds between plain lines. @default 5000 */
  readonly everyMs?: number;
}

const mb = (n: number): string => `${(n / 1e6).toFixed(1)} MB`;

export function startProgress(
  label: string,
  total: number,
  unit: "bytes" | "versions",
  options: ProgressOptions,
): Progress {
  const show = (n: number): string => (unit === "bytes" ? mb(n) : String(n));
  if (options.tty) {
    const bar = new SingleBar({
      stream: process.stderr,
      format: `${label} {bar} {shown} of {all} {note}`,
      hideCursor: true,
    });
    bar.start(total, 0, { shown: show(0), all: show(total), note: "" });
    return {
      update: (done, note = "") => bar.update(done, { shown: show(done), all: show(total), note }),
      stop: () => bar.stop(),
    };
  }
  let last = 0;
  let latest = { done: 0, note: "" };
  const line = (): void =>
    options.write(
      `${label}: ${show(latest.done)} of ${show(total)}${latest.note ? ` (${latest.note})` : ""}`,
    );
  return {
    update: (done, note = "") => {
      latest = { done, note };
      if (Date.now() - last >= (options.everyMs ?? 5000)) {
        last = Date.now();
        line();
      }
    },
    stop: line,
  };
}
