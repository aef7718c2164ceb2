import { MemoryCache } from "../../../lib/proxy/cache/memory";

describe("MemoryCache", () => {
  it("stays within its byte bound, dropping the least recently used first", () => {
    const cache = new MemoryCache<string>(10_000, 4000);
    for (let i = 0; i < 100; i++) {
      cache.set(`k${i}`, `v${i}`, 1000);
      expect(cache.bytes).toBeLessThanOrEqual(10_000);
    }
    // Each entry costs its bytes plus a fixed overhead, so only seven of them fit.
    expect(cache.get("k99")).toBe("v99");
    expect(cache.get("k93")).toBe("v93");
    expect(cache.get("k92")).toBeUndefined();
    // Reading an entry makes it the most recent: it outlives entries read before it.
    for (let i = 100; i < 106; i++) cache.set(`k${i}`, `v${i}`, 1000);
    expect(cache.get("k93")).toBe("v93");
    expect(cache.get("k99")).toBeUndefined();
  });

  it("refuses an entry over the per-entry limit, keeping what it holds", () => {
    const cache = new MemoryCache<string>(10_000, 4000);
    cache.set("small", "s", 100);
    expect(cache.fits(4001)).toBe(false);
    cache.set("big", "b", 4001);
    expect(cache.get("big")).toBeUndefined();
    expect(cache.get("small")).toBe("s");
  });

  it("keeps nothing with a bound of 0", () => {
    const cache = new MemoryCache<string>(0, 0);
    cache.set("k", "v", 0);
    expect(cache.get("k")).toBeUndefined();
    expect(cache.bytes).toBe(0);
  });

  it("accounts replaced and deleted entries", () => {
    const cache = new MemoryCache<string>(10_000, 4000);
    cache.set("k", "v1", 1000);
    const one = cache.bytes;
    cache.set("k", "v2", 2000);
    expect(cache.bytes).toBe(one + 1000);
    cache.delete("k");
    expect(cache.bytes).toBe(0);
  });
});
