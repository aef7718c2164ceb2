import type { Logger } from "pino";
import { errorKind, ProxyError } from "../errors";
import type { ProxyMetrics } from "../metrics";
import type { Download, ModuleInfo, ModuleSource } from "./source";

/**
 * Where an upstream stands: `closed` (in use), `half-open` (skipped until one probe request,
 * now in flight, says whether it is back) or `open` (skipped).
 */
export type BreakerState = "closed" | "half-open" | "open";

/** The value of `gomirror_upstream_state` for each state. */
export const STATE_GAUGE: Readonly<Record<BreakerState, number>> = { closed: 0, "half-open": 1, open: 2 };

export interface BreakerOptions {
  /** The upstream as metrics and logs name it: scheme and host, never a path or credentials. */
  readonly label: string;
  /** Failures within `failWindowMs` that make the upstream skipped; 0 never skips it. */
  readonly maxFails: number;
  readonly failWindowMs: number;
  /** How long a skipped upstream stays skipped before one request probes it. */
  readonly failTimeoutMs: number;
  /** Milliseconds since the epoch. @default Date.now */
  readonly now?: () => number;
  readonly metrics?: ProxyMetrics;
  /** Every change of state is logged with `event: "upstream_state"` (log-based alarms match it). */
  readonly logger?: Logger;
}

/**
 * Only what says the upstream is unwell counts: failures to connect, timeouts, 5xx answers,
 * garbage, bodies that break off. "Not found" (404/410), a refused path or an oversized zip
 * are answers of a healthy upstream.
 */
function isFault(err: unknown): boolean {
  const kind = errorKind(err);
  return kind === "upstream" || kind === "internal";
}

/**
 * A circuit breaker around one upstream of the GOPROXY list (nginx's max_fails/fail_timeout):
 * after `maxFails` failures within `failWindowMs` the upstream is skipped for `failTimeoutMs`,
 * then a single request probes it while others are still skipped; the probe's success ends the
 * skipping and its failure starts another `failTimeoutMs`.
 *
 * A skipped request fails at once with the "upstream" kind, the failure it would have been
 * after waiting for the timeout, so the chain keeps the go command's semantics: after `,` the
 * chain stops with that error, after `|` the next entry is asked at once.
 */
export class UpstreamBreaker implements ModuleSource {
  private currentState: BreakerState = "closed";
  /** Times of the failures within the window, oldest first. */
  private failures: number[] = [];
  private openedAt = 0;
  private readonly now: () => number;

  constructor(
    private readonly inner: ModuleSource,
    private readonly options: BreakerOptions,
  ) {
    this.now = options.now ?? Date.now;
    options.metrics?.upstreamState.set({ upstream: options.label }, STATE_GAUGE.closed);
    // From zero, so that the first trip shows in increase() and rate().
    options.metrics?.upstreamTrips.inc({ upstream: options.label }, 0);
  }

  /** The state as of now (an `open` breaker whose timeout has passed waits for its probe). */
  get state(): BreakerState {
    return this.currentState;
  }

  list(path: string): Promise<string[]> {
    return this.call(() => this.inner.list(path));
  }
  info(path: string, query: string): Promise<ModuleInfo> {
    return this.call(() => this.inner.info(path, query));
  }
  latest(path: string): Promise<ModuleInfo> {
    return this.call(() => this.inner.latest(path));
  }
  mod(path: string, version: string): Promise<Buffer> {
    return this.call(() => this.inner.mod(path, version));
  }
  async zip(path: string, version: string): Promise<Download> {
    const download = await this.call(() => this.inner.zip(path, version));
    // The answer began well; a body that breaks off later is a failure of the upstream too.
    download.body.on("error", (err) => {
      if (isFault(err)) this.failed(false);
    });
    return download;
  }

  private async call<T>(op: () => Promise<T>): Promise<T> {
    const probe = this.admit();
    let result: T;
    try {
      result = await op();
    } catch (err) {
      if (isFault(err)) this.failed(probe);
      else this.succeeded(probe);
      throw err;
    }
    this.succeeded(probe);
    return result;
  }

  /** Lets a request through (true when it is the probe), or throws the skip. */
  private admit(): boolean {
    if (this.currentState === "closed") return false;
    const waited = this.now() - this.openedAt;
    if (this.currentState === "open" && waited >= this.options.failTimeoutMs) {
      this.change("half-open");
      return true;
    }
    this.options.metrics?.upstreamSkipped.inc({ upstream: this.options.label });
    const again =
      this.currentState === "half-open"
        ? "a probe request is checking whether it is back"
        : `tried again in ${Math.ceil((this.options.failTimeoutMs - waited) / 1000)}s`;
    throw new ProxyError(
      "upstream",
      `${this.options.label}: skipped after ${this.options.maxFails} failures within ` +
        `${this.options.failWindowMs / 1000}s; ${again}`,
    );
  }

  private succeeded(probe: boolean): void {
    if (probe && this.currentState === "half-open") {
      this.failures = [];
      this.change("closed");
    }
  }

  private failed(probe: boolean): void {
    const now = this.now();
    if (probe && this.currentState === "half-open") {
      this.openedAt = now;
      this.change("open");
      return;
    }
    if (this.currentState !== "closed" || this.options.maxFails === 0) return;
    this.failures.push(now);
    while (this.failures.length > 0 && now - this.failures[0]! > this.options.failWindowMs) {
      this.failures.shift();
    }
    if (this.failures.length >= this.options.maxFails) {
      this.openedAt = now;
      this.change("open");
    }
  }

  private change(state: BreakerState): void {
    const previous = this.currentState;
    this.currentState = state;
    const { label, metrics, logger } = this.options;
    metrics?.upstreamState.set({ upstream: label }, STATE_GAUGE[state]);
    if (state === "open") metrics?.upstreamTrips.inc({ upstream: label });
    const line = {
      event: "upstream_state",
      upstream: label,
      state,
      previous,
      ...(state === "open"
        ? { failures: this.failures.length, skippedForSeconds: this.options.failTimeoutMs / 1000 }
        : {}),
    };
    if (state === "open") logger?.warn(line, `upstream ${label} is skipped after repeated failures`);
    else if (state === "closed") logger?.info(line, `upstream ${label} is in use again`);
    else logger?.info(line, `probing upstream ${label}`);
  }
}
