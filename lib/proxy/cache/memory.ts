/**
 * What an entry costs beyond its own bytes (the map slot, the key, the value's object), so that
 * a cache of many tiny files stays within its bound too.
 */
const ENTRY_OVERHEAD = 256;

/**
 * A least-recently-used map bounded by total bytes, for small immutable answers (`.mod`,
 * canonical `.info`, small zips) so that hot hits never touch storage.
 */
export class MemoryCache<V> {
  private readonly entries = new Map<string, { value: V; bytes: number; tick: number }>();
  private total = 0;
  /** Counts insertions: an entry's tick tells how far from the newest end of the map it sits. */
  private tick = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly maxEntryBytes: number,
  ) {}

  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    // Re-insert to mark as most recently used (Map keeps insertion order), but only once the
    // entry has drifted into the older half: a hot entry is not moved on every hit.
    if (this.tick - entry.tick > this.entries.size >> 1) {
      this.entries.delete(key);
      this.entries.set(key, entry);
      entry.tick = ++this.tick;
    }
    return entry.value;
  }

  /** Whether an entry of this many bytes would be kept. */
  fits(bytes: number): boolean {
    return bytes <= this.maxEntryBytes && bytes + ENTRY_OVERHEAD <= this.maxBytes;
  }

  set(key: string, value: V, size: number): void {
    if (!this.fits(size)) return;
    const bytes = size + ENTRY_OVERHEAD;
    const old = this.entries.get(key);
    if (old) {
      this.total -= old.bytes;
      this.entries.delete(key);
    }
    this.entries.set(key, { value, bytes, tick: ++this.tick });
    this.total += bytes;
    for (const [oldest, entry] of this.entries) {
      if (this.total <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.total -= entry.bytes;
    }
  }

  delete(key: string): void {
    const entry = this.entries.get(key);
    if (entry) {
      this.total -= entry.bytes;
      this.entries.delete(key);
    }
  }

  get bytes(): number {
    return this.total;
  }
}
