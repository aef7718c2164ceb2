/**
 * A GOPROXY list, parsed with the go command's rules: entries separated by `,` (fall through
 * to the next entry only when this one says "not found": 404/410) or `|` (fall through on any
 * error, timeouts included). `off` and `direct` end the list; anything after them is ignored, as
 * the go command does. A bare host name gets `https://`.
 */
export type ProxyListEntry =
  | { readonly kind: "url"; readonly url: string; readonly fallBackOnError: boolean }
  | { readonly kind: "direct"; readonly fallBackOnError: boolean }
  | { readonly kind: "off" };

export class ProxyListError extends Error {}

const URL_SCHEMES = new Set(["http:", "https:", "file:"]);

export function parseProxyList(value: string): ProxyListEntry[] {
  const entries: ProxyListEntry[] = [];
  let rest = value;
  while (rest !== "") {
    let item: string;
    let fallBackOnError = false;
    const sep = rest.search(/[,|]/);
    if (sep >= 0) {
      item = rest.slice(0, sep);
      fallBackOnError = rest[sep] === "|";
      rest = rest.slice(sep + 1);
    } else {
      item = rest;
      rest = "";
    }
    item = item.trim();
    if (item === "") continue;
    if (item === "off") {
      entries.push({ kind: "off" });
      break;
    }
    if (item === "direct") {
      entries.push({ kind: "direct", fallBackOnError });
      break;
    }
    // Single words are reserved for built-in behaviours; anything else must become a full URL.
    if (/[.:/]/.test(item) && !item.includes(":/") && !item.startsWith("/")) {
      item = `https://${item}`;
    }
    let parsed: URL;
    try {
      parsed = new URL(item);
    } catch {
      throw new ProxyListError(`invalid proxy URL missing scheme: ${item}`);
    }
    if (!URL_SCHEMES.has(parsed.protocol)) {
      throw new ProxyListError(`invalid proxy URL scheme (must be https, http, file): ${item}`);
    }
    if (parsed.username || parsed.password) {
      throw new ProxyListError(
        `proxy URL ${parsed.protocol}//${parsed.host}${parsed.pathname} carries credentials; ` +
          "gomirror reaches upstream proxies without credentials",
      );
    }
    entries.push({ kind: "url", url: item.replace(/\/+$/, ""), fallBackOnError });
  }
  if (entries.length === 0) {
    throw new ProxyListError("GOPROXY list is not the empty string, but contains no entries");
  }
  return entries;
}

/** The list written back in GOPROXY syntax (for logs and `--help`). */
export function formatProxyList(entries: readonly ProxyListEntry[]): string {
  let out = "";
  entries.forEach((entry, i) => {
    if (i > 0) {
      const prev = entries[i - 1]!;
      out += prev.kind !== "off" && prev.fallBackOnError ? "|" : ",";
    }
    out += entry.kind === "url" ? entry.url : entry.kind;
  });
  return out;
}
