/** Byte units as settings write them: decimal (kB, MB, GB, TB) and binary (KiB/Ki, MiB/Mi, ...). */
const UNITS: Record<string, number> = {
  "": 1,
  B: 1,
  kB: 1e3,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  TB: 1e12,
  KiB: 2 ** 10,
  MiB: 2 ** 20,
  GiB: 2 ** 30,
  TiB: 2 ** 40,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
};

/**
 * A size like `2GiB`, `512Mi`, `1.5GB` or `1048576` in bytes (whole bytes, rounded down), or
 * undefined when it is not one.
 */
export function parseByteSize(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([A-Za-z]*)$/.exec(text.trim());
  if (!m || !(m[2] in UNITS)) return undefined;
  const bytes = Math.floor(Number(m[1]) * UNITS[m[2]]);
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

/** `bytes` in the largest binary unit that divides it (`1GiB`, `512MiB`), else in bytes. */
export function formatByteSize(bytes: number): string {
  for (const unit of ["TiB", "GiB", "MiB", "KiB"]) {
    if (bytes > 0 && bytes % UNITS[unit] === 0) return `${bytes / UNITS[unit]}${unit}`;
  }
  return String(bytes);
}
