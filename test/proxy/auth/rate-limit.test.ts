import { FailureLimiter } from "../../../lib/proxy/auth/rate-limit";

describe("FailureLimiter", () => {
  let now: number;
  const limiter = (options: { burst?: number; refillMs?: number; maxClients?: number } = {}) =>
    new FailureLimiter({ burst: 3, refillMs: 10_000, ...options, now: () => now });
  beforeEach(() => (now = 1_000_000));

  it("allows a burst of failures, then asks the client to wait", () => {
    const l = limiter();
    expect([l.recordFailure("a"), l.recordFailure("a")]).toEqual([false, false]);
    expect(l.retryAfterSeconds("a")).toBe(0);
    expect(l.recordFailure("a")).toBe(true);
    expect(l.retryAfterSeconds("a")).toBe(10);
  });

  it("gives one attempt back per refill interval, and says how long is left", () => {
    const l = limiter();
    for (let i = 0; i < 3; i++) l.recordFailure("a");
    now += 4_000;
    expect(l.retryAfterSeconds("a")).toBe(6);
    now += 6_000;
    expect(l.retryAfterSeconds("a")).toBe(0);
    expect(l.recordFailure("a")).toBe(true);
    expect(l.retryAfterSeconds("a")).toBe(10);
  });

  it("never limits other clients", () => {
    const l = limiter();
    for (let i = 0; i < 3; i++) l.recordFailure("a");
    expect(l.retryAfterSeconds("a")).toBeGreaterThan(0);
    expect(l.retryAfterSeconds("b")).toBe(0);
    expect(l.recordFailure("b")).toBe(false);
  });

  it("forgets a client once its bucket is full again", () => {
    const l = limiter();
    l.recordFailure("a");
    expect(l.size).toBe(1);
    now += 10_000;
    expect(l.retryAfterSeconds("a")).toBe(0);
    expect(l.size).toBe(0);
  });

  it("keeps at most maxClients, dropping the least recently failing", () => {
    const l = limiter({ maxClients: 100 });
    for (let i = 0; i < 3; i++) l.recordFailure("early");
    for (let i = 0; i < 3; i++) l.recordFailure("late");
    for (let i = 0; i < 500; i++) {
      l.recordFailure(`spray-${i}`);
      if (i === 90) for (let j = 0; j < 3; j++) l.recordFailure("late");
      expect(l.size).toBeLessThanOrEqual(100);
    }
    expect(l.size).toBe(100);
    expect(l.retryAfterSeconds("early")).toBe(0);
    // "late" failed again at i = 90, but 400 other clients failed after it: dropped, memory stays bounded.
    expect(l.retryAfterSeconds("late")).toBe(0);
  });

  it("keeps a recent offender while fewer than maxClients fail after it", () => {
    const l = limiter({ maxClients: 100 });
    for (let i = 0; i < 3; i++) l.recordFailure("bad");
    for (let i = 0; i < 99; i++) l.recordFailure(`other-${i}`);
    expect(l.retryAfterSeconds("bad")).toBeGreaterThan(0);
  });
});
