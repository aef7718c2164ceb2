/**
 * When each stored zip was last served, kept in the store itself so that it survives restarts
 * (file access times are not: `noatime` and `relatime` mounts rarely update them). One line per
 * zip, `<unix seconds> <storage key>`; a malformed line is skipped rather than failing the file.
 */

/** No module's key can start here: a module path's first element always holds a dot. */
export const SERVED_INDEX_KEY = "gomirror/last-served";

export function formatServedIndex(served: ReadonlyMap<string, number>): Buffer {
  let text = "";
  for (const [key, ms] of served) text += `${Math.floor(ms / 1000)} ${key}\n`;
  return Buffer.from(text);
}

/** The times in milliseconds, by key. */
export function parseServedIndex(data: Buffer): Map<string, number> {
  const served = new Map<string, number>();
  for (const line of data.toString("utf8").split("\n")) {
    const m = /^(\d{1,12}) (\S+)$/.exec(line);
    if (m) served.set(m[2]!, Number(m[1]) * 1000);
  }
  return served;
}

/** Whether a storage key holds a module zip (`<module>/@v/<version>.zip`), the only files evicted. */
export function isZipKey(key: string): boolean {
  return key.endsWith(".zip") && key.includes("/@v/");
}
