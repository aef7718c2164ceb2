import { isIPv4, isIPv6 } from "node:net";

/** An IP range in CIDR notation, split by family the way AWS WAF IP sets need them. */
export interface IpRanges {
  readonly ipv4: string[];
  readonly ipv6: string[];
}

/**
 * Checks one CIDR range the way AWS WAF accepts it: an IPv4 or IPv6 address, a slash, and a
 * prefix length from 1 to 32 (IPv4) or 1 to 128 (IPv6); WAF rejects `/0`.
 *
 * @returns the address family of the range
 * @throws Error naming the bad value and what is wrong with it
 */
export function checkCidr(value: string): "ipv4" | "ipv6" {
  const slash = value.indexOf("/");
  if (slash < 0) {
    const hint = isIPv4(value)
      ? `${value}/32`
      : isIPv6(value)
        ? `${value}/128`
        : "10.0.0.0/8 or 2001:db8::/32";
    throw new Error(`invalid CIDR "${value}": no prefix length; write it as ${hint}`);
  }
  const address = value.slice(0, slash);
  const lengthText = value.slice(slash + 1);
  const family = isIPv4(address) ? "ipv4" : isIPv6(address) && !address.includes("%") ? "ipv6" : undefined;
  if (!family) {
    throw new Error(`invalid CIDR "${value}": "${address}" is not an IPv4 or IPv6 address`);
  }
  const max = family === "ipv4" ? 32 : 128;
  if (!/^\d{1,3}$/.test(lengthText) || Number(lengthText) < 1 || Number(lengthText) > max) {
    throw new Error(
      `invalid CIDR "${value}": prefix length must be 1 to ${max} for ${family === "ipv4" ? "IPv4" : "IPv6"}` +
        " (AWS WAF does not accept /0)",
    );
  }
  return family;
}

/** Checks every range (see {@link checkCidr}) and splits them into IPv4 and IPv6. */
export function splitCidrs(values: readonly string[]): IpRanges {
  const ipv4: string[] = [];
  const ipv6: string[] = [];
  for (const value of values) (checkCidr(value) === "ipv4" ? ipv4 : ipv6).push(value);
  return { ipv4, ipv6 };
}
