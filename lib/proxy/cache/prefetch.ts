import type { Logger } from "pino";
import { isNotFound } from "../errors";

/**
 * What a cold `.info` or `.mod` of an exact version also fetches in the background
 * (GOMIRROR_PREFETCH): `zip` the version's other files including its zip, `mod` its other small
 * file only, `off` nothing.
 */
export const PREFETCH_MODES = ["zip", "mod", "off"] as const;
export type PrefetchMode = (typeof PREFETCH_MODES)[number];

/** How a prefetch ended: it fetched, the file was already there, it was not worth it now, ... */
export type PrefetchOutcome = "fetched" | "present" | "skipped" | "dropped" | "not_found" | "failed";

export interface PrefetcherOptions {
  readonly logger: Logger;
  /** Prefetches running at once. @default 8 */
  readonly concurrency?: number;
  /** Prefetches waiting for their turn; one more is dropped. @default 1000 */
  readonly maxQueued?: number;
  /** Counts every prefetch by what it fetched and how it ended. */
  readonly counter?: { inc(labels: { kind: string; outcome: PrefetchOutcome }): void };
}

interface Job {
  readonly kind: string;
  readonly run: () => Promise<PrefetchOutcome>;
}

/**
 * Background fetches of files a client is about to ask for. One job per key at a time, a few
 * running at once, the rest waiting in the order they came; a job that finds the queue full is
 * dropped (its client then fetches the file itself, as without prefetching). A job's failure is
 * counted and logged at debug level only: the fetch it made logs its own faults, and nobody is
 * waiting for the answer.
 */
export class Prefetcher {
  /** Waiting jobs; a Map keeps insertion order, so the first key is the oldest. */
  private readonly queue = new Map<string, Job>();
  private readonly running = new Map<string, Promise<void>>();
  private readonly concurrency: number;
  private readonly maxQueued: number;
  private stopped = false;

  constructor(private readonly options: PrefetcherOptions) {
    this.concurrency = options.concurrency ?? 8;
    this.maxQueued = options.maxQueued ?? 1000;
  }

  /** Queues `run` under `key` unless a job for that key is already waiting or running. */
  schedule(key: string, kind: string, run: () => Promise<PrefetchOutcome>): void {
    if (this.stopped || this.queue.has(key) || this.running.has(key)) return;
    if (this.queue.size >= this.maxQueued) {
      this.options.counter?.inc({ kind, outcome: "dropped" });
      return;
    }
    this.queue.set(key, { kind, run });
    this.pump();
  }

  /** Jobs waiting and running now (tests, the status of a shutdown). */
  get pending(): number {
    return this.queue.size + this.running.size;
  }

  /** Forgets the waiting jobs and settles once the running ones have ended; schedules nothing after. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.queue.clear();
    while (this.running.size > 0) await Promise.all(this.running.values());
  }

  private pump(): void {
    while (this.running.size < this.concurrency) {
      const next = this.queue.entries().next();
      if (next.done) return;
      const [key, job] = next.value;
      this.queue.delete(key);
      const done = this.runJob(key, job).finally(() => {
        this.running.delete(key);
        this.pump();
      });
      this.running.set(key, done);
    }
  }

  private async runJob(key: string, job: Job): Promise<void> {
    let outcome: PrefetchOutcome;
    try {
      outcome = await job.run();
    } catch (err) {
      outcome = isNotFound(err) ? "not_found" : "failed";
      this.options.logger.debug({ event: "prefetch_failed", key, err: String(err) }, "prefetch failed");
    }
    this.options.counter?.inc({ kind: job.kind, outcome });
  }
}
