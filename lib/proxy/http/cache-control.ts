/**
 * Who may keep an answer. Without client tokens anyone may (CDNs and shared caches included);
 * with them only the client that asked, so no shared cache can hand a module to someone the
 * proxy would have refused.
 */
export type CacheAudience = "public" | "private";

const YEAR_SECONDS = 31536000;

/** The Cache-Control value of an answer that may be kept for `seconds`. */
export function cacheFor(audience: CacheAudience, seconds: number): string {
  return `${audience}, max-age=${seconds}`;
}

/** The Cache-Control value of an answer that never changes (`.mod`, `.zip`, tiles...). */
export function cacheForever(audience: CacheAudience): string {
  return `${audience}, max-age=${YEAR_SECONDS}, immutable`;
}
