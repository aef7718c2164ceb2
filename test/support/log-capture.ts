import { Writable } from "node:stream";
import type { Logger } from "pino";
import { createLogger } from "../../lib/proxy/logger";

/**
 * A logger built exactly as the proxy builds its own (same redaction), writing into memory, so
 * a test can read what would have reached stdout: parsed lines, and the raw text to search for
 * anything that must never be logged.
 */
export class LogCapture extends Writable {
  private readonly chunks: string[] = [];
  readonly logger: Logger;

  constructor(level = "debug") {
    super();
    this.logger = createLogger(level, this);
  }

  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.chunks.push(chunk.toString("utf8"));
    done();
  }

  /** Everything written, as one string. */
  get text(): string {
    return this.chunks.join("");
  }

  get lines(): Record<string, unknown>[] {
    return this.text
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  /** The lines whose `event` is `event`. */
  events(event: string): Record<string, unknown>[] {
    return this.lines.filter((line) => line.event === event);
  }
}
