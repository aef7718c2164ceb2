/**
 * Limits failed authentication attempts per client (a token bucket per address): a burst of
 * failures is allowed, then one more attempt per refill interval. A client whose bucket is empty
 * is refused (429) without its credentials being checked, so guessing gains nothing by going
 * faster; clients at other addresses are not affected.
 *
 * Memory is bounded: at most `maxClients` buckets are kept, the least recently failing one is
 * dropped to make room, and a bucket that has refilled is forgotten when next looked at.
 */

export interface FailureLimiterOptions {
  /** Failures allowed in a row. @default 10 */
  readonly burst?: number;
  /** Milliseconds until one more attempt is allowed. @default 6000 (10 a minute) */
  readonly refillMs?: number;
  /** Clients tracked at once. @default 10000 */
  readonly maxClients?: number;
  readonly now?: () => number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class FailureLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly burst: number;
  private readonly refillMs: number;
  private readonly maxClients: number;
  private readonly now: () => number;

  constructor(options: FailureLimiterOptions = {}) {
    this.burst = options.burst ?? 10;
    this.refillMs = options.refillMs ?? 6000;
    this.maxClients = options.maxClients ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  /** Clients currently tracked. */
  get size(): number {
    return this.buckets.size;
  }

  /** Seconds the client must wait before its next attempt counts; 0 when it may try now. */
  retryAfterSeconds(client: string): number {
    const bucket = this.refilled(client);
    if (!bucket || bucket.tokens >= 1) return 0;
    return Math.max(1, Math.ceil(((1 - bucket.tokens) * this.refillMs) / 1000));
  }

  /** Counts one failed attempt; true when it used up the client's burst. */
  recordFailure(client: string): boolean {
    const bucket = this.refilled(client) ?? { tokens: this.burst, at: this.now() };
    bucket.tokens -= 1;
    // Re-inserted so that the map's order is least recently failing first.
    this.buckets.delete(client);
    while (this.buckets.size >= this.maxClients) {
      this.buckets.delete(this.buckets.keys().next().value as string);
    }
    this.buckets.set(client, bucket);
    return bucket.tokens < 1;
  }

  private refilled(client: string): Bucket | undefined {
    const bucket = this.buckets.get(client);
    if (!bucket) return undefined;
    const now = this.now();
    bucket.tokens = Math.min(this.burst, bucket.tokens + (now - bucket.at) / this.refillMs);
    bucket.at = now;
    if (bucket.tokens >= this.burst) {
      this.buckets.delete(client);
      return undefined;
    }
    return bucket;
  }
}
