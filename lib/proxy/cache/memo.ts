/**
 * Remembers the results of a pure function of a string for recently used arguments: on a cached
 * hit, re-validating the same module path and version on every request costs more than the hit.
 * Bounded in count and argument length (oldest out first); a call that throws is not remembered.
 */
export function remembered<T>(fn: (s: string) => T, entries = 4096, maxLength = 256): (s: string) => T {
  const seen = new Map<string, T>();
  return (s) => {
    if (seen.has(s)) return seen.get(s) as T;
    const value = fn(s);
    if (s.length <= maxLength) {
      if (seen.size >= entries) seen.delete(seen.keys().next().value as string);
      seen.set(s, value);
    }
    return value;
  };
}
