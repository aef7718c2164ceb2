import { CidrSet, formatIp } from "../../../lib/proxy/net/cidr";
import { clientAddress, rateLimitKey } from "../../../lib/proxy/net/client-address";

const address = (...args: Parameters<typeof clientAddress>): string | undefined => {
  const ip = clientAddress(...args);
  return ip && formatIp(ip);
};

describe("clientAddress", () => {
  const lb = CidrSet.parse("10.0.0.0/16,fd00::/8");

  it("is the socket's peer without trusted proxies, whatever X-Forwarded-For says", () => {
    expect(address("198.51.100.4", "203.0.113.9", undefined)).toBe("198.51.100.4");
    expect(address("198.51.100.4", "203.0.113.9", CidrSet.parse(""))).toBe("198.51.100.4");
  });

  it("ignores X-Forwarded-For from a peer that is not a trusted proxy", () => {
    expect(address("198.51.100.4", "203.0.113.9", lb)).toBe("198.51.100.4");
  });

  it("takes the hop a trusted proxy appended", () => {
    expect(address("10.0.3.3", "203.0.113.9", lb)).toBe("203.0.113.9");
  });

  it("walks from the right past trusted hops, never believing what the client wrote", () => {
    // The client sent "192.0.2.66" itself; the first load balancer appended the real address.
    expect(address("10.0.1.1", "192.0.2.66, 203.0.113.9, 10.0.2.2", lb)).toBe("203.0.113.9");
    // A spoofed trusted-looking entry left of the real client changes nothing.
    expect(address("10.0.1.1", "10.0.9.9, 203.0.113.9", lb)).toBe("203.0.113.9");
  });

  it("reads several X-Forwarded-For headers as one list", () => {
    expect(address("10.0.1.1", ["192.0.2.66", "203.0.113.9"], lb)).toBe("203.0.113.9");
  });

  it("ends at the leftmost hop when every hop is trusted", () => {
    expect(address("10.0.1.1", "10.0.4.4, 10.0.2.2", lb)).toBe("10.0.4.4");
  });

  it("is unknown when a trusted hop passed on something that is not an address", () => {
    expect(address("10.0.1.1", "203.0.113.9, garbage", lb)).toBeUndefined();
    // ...but garbage the client wrote before the real address is never reached.
    expect(address("10.0.1.1", "garbage, 203.0.113.9", lb)).toBe("203.0.113.9");
  });

  it("handles IPv6 and IPv4-mapped peers and hops", () => {
    expect(address("::ffff:198.51.100.4", undefined, undefined)).toBe("198.51.100.4");
    expect(address("::ffff:10.0.0.5", "2001:db8::77", lb)).toBe("2001:db8::77");
    expect(address("fd00::1", "::ffff:203.0.113.9", lb)).toBe("203.0.113.9");
    expect(address("fd00::1", "[2001:db8::8]", lb)).toBe("2001:db8::8");
  });

  it("is unknown without a socket address", () => {
    expect(address(undefined, "203.0.113.9", lb)).toBeUndefined();
  });
});

describe("rateLimitKey", () => {
  it("counts IPv4 addresses one by one and IPv6 by /64", () => {
    const key = (text: string) => rateLimitKey(clientAddress(text, undefined, undefined));
    expect(key("203.0.113.9")).toBe("203.0.113.9");
    expect(key("::ffff:203.0.113.9")).toBe("203.0.113.9");
    expect(key("2001:db8:1:2:aaaa::1")).toBe("2001:db8:1:2::/64");
    expect(key("2001:db8:1:2:bbbb::9")).toBe(key("2001:db8:1:2:aaaa::1"));
    expect(key("2001:db8:1:3::1")).not.toBe(key("2001:db8:1:2::1"));
    expect(rateLimitKey(undefined)).toBe("unknown");
  });
});
