import { isIPv4, isIPv6 } from "node:net";

/**
 * IP addresses and CIDR blocks, IPv4 and IPv6: parsing with errors that say what to write
 * instead, containment, and families. The proxy's allowlist and trusted-proxy settings use it,
 * and so can the constructs that validate the same settings at synth.
 *
 * An IPv4-mapped IPv6 address (`::ffff:203.0.113.7`, what a dual-stack socket reports for an
 * IPv4 client) is the IPv4 address it maps: it matches IPv4 blocks and prints as IPv4.
 */

export type IpFamily = "ipv4" | "ipv6";

export interface IpAddress {
  readonly family: IpFamily;
  /** The address as a 32-bit (IPv4) or 128-bit (IPv6) number. */
  readonly value: bigint;
}

export interface Cidr {
  /** As written in the setting. */
  readonly text: string;
  readonly family: IpFamily;
  /** The network address (host bits are zero). */
  readonly network: bigint;
  readonly prefix: number;
}

export class CidrError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CidrError";
  }
}

const MAPPED_PREFIX = 0xffffn << 32n;

function width(family: IpFamily): 32 | 128 {
  return family === "ipv4" ? 32 : 128;
}

function ipv4Value(text: string): bigint {
  return text.split(".").reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
}

function ipv6Value(text: string): bigint {
  let rest = text;
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(rest);
  if (tail) {
    const v4 = ipv4Value(tail[1]);
    rest = `${rest.slice(0, tail.index)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const [head, after] = rest.split("::") as [string, string | undefined];
  const headGroups = head === "" ? [] : head.split(":");
  const tailGroups = after === undefined || after === "" ? [] : after.split(":");
  const zeros = after === undefined ? 0 : 8 - headGroups.length - tailGroups.length;
  const groups = [...headGroups, ...Array<string>(zeros).fill("0"), ...tailGroups];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

/**
 * Parses an IPv4 or IPv6 address (IPv6 may be written in brackets); undefined when it is not one.
 * Zone ids (`fe80::1%eth0`) are refused: they name an interface, not an address.
 */
export function parseIp(text: string): IpAddress | undefined {
  const bare = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  if (isIPv4(bare)) return { family: "ipv4", value: ipv4Value(bare) };
  if (!isIPv6(bare) || bare.includes("%")) return undefined;
  const value = ipv6Value(bare);
  if (value >> 32n === 0xffffn) return { family: "ipv4", value: value & 0xffffffffn };
  return { family: "ipv6", value };
}

/** The address in its usual text form (IPv6 compressed as RFC 5952 asks). */
export function formatIp(ip: IpAddress): string {
  if (ip.family === "ipv4") {
    return [24n, 16n, 8n, 0n].map((shift) => ((ip.value >> shift) & 0xffn).toString()).join(".");
  }
  const groups = [...Array(8).keys()].map((i) => (ip.value >> BigInt(112 - 16 * i)) & 0xffffn);
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0n) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0n) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLength).join(":")}`;
}

function hostMask(family: IpFamily, prefix: number): bigint {
  return (1n << BigInt(width(family) - prefix)) - 1n;
}

/**
 * Parses a CIDR block such as `10.0.0.0/8`, `203.0.113.7/32` or `2001:db8::/32`.
 * @param what how the value is named in an error, e.g. `GOMIRROR_ALLOW_CIDRS`
 * @throws CidrError saying what is wrong and what to write instead: a missing prefix length,
 *   an address that is not one, a prefix length out of range, or host bits set after the prefix
 *   (`10.1.2.3/8` would let a reader misjudge what it allows)
 */
export function parseCidr(text: string, what = "CIDR block"): Cidr {
  const slash = text.indexOf("/");
  if (slash < 0) {
    const ip = parseIp(text);
    const hint = ip ? `${formatIp(ip)}/${width(ip.family)}` : "10.0.0.0/8 or 2001:db8::/32";
    throw new CidrError(`${what}: ${JSON.stringify(text)} has no prefix length; write it like ${hint}`);
  }
  const addressText = text.slice(0, slash);
  const prefixText = text.slice(slash + 1);
  const bare = addressText.startsWith("[") ? undefined : addressText;
  const ip = bare === undefined ? undefined : parseIp(bare);
  if (!ip) {
    throw new CidrError(
      `${what}: ${JSON.stringify(addressText)} in ${JSON.stringify(text)} is not an IPv4 or IPv6 address`,
    );
  }
  // A mapped address written as IPv6 keeps IPv6 prefix lengths: ::ffff:10.0.0.0/104 is 10.0.0.0/8.
  const writtenAsIpv6 = isIPv6(addressText);
  const written = writtenAsIpv6 ? 128 : 32;
  const prefix = Number(prefixText);
  if (!/^\d{1,3}$/.test(prefixText) || prefix > written) {
    throw new CidrError(
      `${what}: ${JSON.stringify(text)} has prefix length ${JSON.stringify(prefixText)}; want 0 to ${written}`,
    );
  }
  let family = ip.family;
  let effective = prefix;
  let value = ip.value;
  if (writtenAsIpv6 && ip.family === "ipv4") {
    if (prefix >= 96) effective = prefix - 96;
    else {
      // Wider than the mapped range: it covers IPv6 addresses too, so keep it as IPv6.
      family = "ipv6";
      value = MAPPED_PREFIX | ip.value;
    }
  }
  const mask = hostMask(family, effective);
  if ((value & mask) !== 0n) {
    const network = formatIp({ family, value: value & ~mask });
    throw new CidrError(
      `${what}: ${JSON.stringify(text)} has bits set after the /${effective} prefix; did you mean ${network}/${effective}?`,
    );
  }
  return { text, family, network: value, prefix: effective };
}

/**
 * Parses a comma- or whitespace-separated list of CIDR blocks (an empty text is an empty list).
 * @throws CidrError for the first bad block
 */
export function parseCidrList(text: string, what = "CIDR list"): Cidr[] {
  return text
    .split(/[\s,]+/)
    .filter((part) => part !== "")
    .map((part) => parseCidr(part, what));
}

/** Whether `address` (an address or its text) lies inside `cidr`. Text that is no address is outside. */
export function cidrContains(cidr: Cidr, address: IpAddress | string): boolean {
  const ip = typeof address === "string" ? parseIp(address) : address;
  if (!ip) return false;
  let value = ip.value;
  if (ip.family !== cidr.family) {
    // Only an IPv4 address can also be an IPv6 one (mapped); never the other way round.
    if (ip.family !== "ipv4") return false;
    value = MAPPED_PREFIX | ip.value;
  }
  const shift = BigInt(width(cidr.family) - cidr.prefix);
  return value >> shift === cidr.network >> shift;
}

/** Whether every address of `inner` lies inside `outer` (a block covers itself). */
export function cidrCovers(outer: Cidr, inner: Cidr): boolean {
  if (outer.family !== inner.family || inner.prefix < outer.prefix) return false;
  return cidrContains(outer, { family: inner.family, value: inner.network });
}

/** Splits blocks by family, e.g. for AWS WAF IP sets, which take one family each. */
export function cidrsByFamily(cidrs: readonly Cidr[]): { ipv4: Cidr[]; ipv6: Cidr[] } {
  return {
    ipv4: cidrs.filter((c) => c.family === "ipv4"),
    ipv6: cidrs.filter((c) => c.family === "ipv6"),
  };
}

/** A set of blocks that an address is looked up in. */
export class CidrSet {
  constructor(readonly cidrs: readonly Cidr[]) {}

  static parse(text: string, what?: string): CidrSet {
    return new CidrSet(parseCidrList(text, what));
  }

  get size(): number {
    return this.cidrs.length;
  }

  contains(address: IpAddress | string): boolean {
    return this.cidrs.some((c) => cidrContains(c, address));
  }
}
