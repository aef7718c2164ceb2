/**
 * Collapses concurrent calls with the same key into one: while a call for a key is running,
 * later callers get the same promise instead of starting their own.
 */
export class SingleFlight<T> {
  private readonly running = new Map<string, Promise<T>>();

  do(key: string, fn: () => Promise<T>): Promise<T> {
    const existing = this.running.get(key);
    if (existing) return existing;
    const promise = (async () => {
      try {
        return await fn();
      } finally {
        this.running.delete(key);
      }
    })();
    this.running.set(key, promise);
    return promise;
  }

  /** Settles when every call running now has settled. */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.running.values()]);
  }

  get size(): number {
    return this.running.size;
  }
}
