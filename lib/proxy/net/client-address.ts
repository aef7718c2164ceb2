import { formatIp, parseIp, type CidrSet, type IpAddress } from "./cidr";

/**
 * The address a request comes from. Without trusted proxies it is the socket's peer, which a
 * client cannot forge. When the peer is a trusted proxy (a load balancer in GOMIRROR_TRUSTED_PROXIES),
 * X-Forwarded-For is read from the right: each trusted hop appended the address it saw, so the
 * first entry that is not a trusted proxy is the client. Entries further left were written by the
 * client itself and are never believed.
 *
 * @returns the address, or undefined when it cannot be known (no socket address, or a trusted hop
 *   passed on something that is not an address); an unknown address is in no allowlist
 */
export function clientAddress(
  peer: string | undefined,
  forwardedFor: string | string[] | undefined,
  trusted: CidrSet | undefined,
): IpAddress | undefined {
  let current = peer === undefined ? undefined : parseIp(peer);
  if (!current || !trusted || trusted.size === 0 || forwardedFor === undefined) return current;
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(",") : forwardedFor)
    .split(",")
    .map((hop) => hop.trim())
    .filter((hop) => hop !== "");
  for (let i = hops.length - 1; i >= 0 && trusted.contains(current); i--) {
    const hop = parseIp(hops[i]);
    if (!hop) return undefined;
    current = hop;
  }
  return current;
}

/**
 * The key failed attempts are counted under: the address for IPv4, its /64 for IPv6 (one
 * subscriber usually holds a whole /64, so counting single addresses would count nothing).
 */
export function rateLimitKey(address: IpAddress | undefined): string {
  if (!address) return "unknown";
  if (address.family === "ipv4") return formatIp(address);
  const network = (address.value >> 64n) << 64n;
  return `${formatIp({ family: "ipv6", value: network })}/64`;
}
