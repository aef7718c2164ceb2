import { CidrError, cidrsByFamily, formatIp, parseCidr, type Cidr } from "../proxy/net/cidr";

/** IP ranges in CIDR notation, split by family the way AWS WAF IP sets need them. */
export interface IpRanges {
  readonly ipv4: string[];
  readonly ipv6: string[];
}

/**
 * Checks one CIDR range with the proxy's own parser (lib/proxy/net/cidr.ts), plus what AWS WAF
 * adds: no `/0` (WAF refuses it; write the two halves instead).
 *
 * @returns the address family of the range
 * @throws Error naming the bad value and what is wrong with it
 */
export function checkCidr(value: string): "ipv4" | "ipv6" {
  let cidr;
  try {
    cidr = parseCidr(value, "invalid CIDR");
  } catch (err) {
    if (err instanceof CidrError) throw new Error(err.message);
    throw err;
  }
  if (cidr.prefix === 0) {
    throw new Error(
      `invalid CIDR: ${JSON.stringify(value)} has prefix length 0, which AWS WAF does not accept`,
    );
  }
  return cidr.family;
}

/**
 * Checks every range (see {@link checkCidr}) and splits them into IPv4 and IPv6, each written in
 * its own family's notation (an IPv4-mapped `::ffff:192.0.2.0/120` goes to the IPv4 set as
 * `192.0.2.0/24`, which is what matches IPv4 clients).
 */
export function splitCidrs(values: readonly string[]): IpRanges {
  for (const value of values) checkCidr(value);
  const byFamily = cidrsByFamily(values.map((value) => parseCidr(value)));
  const text = (c: Cidr): string => `${formatIp({ family: c.family, value: c.network })}/${c.prefix}`;
  return { ipv4: byFamily.ipv4.map(text), ipv6: byFamily.ipv6.map(text) };
}
