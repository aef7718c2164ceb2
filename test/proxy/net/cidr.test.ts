import {
  CidrError,
  CidrSet,
  cidrContains,
  cidrCovers,
  cidrsByFamily,
  formatIp,
  parseCidr,
  parseCidrList,
  parseIp,
} from "../../../lib/proxy/net/cidr";

describe("parseIp", () => {
  it("reads IPv4 and IPv6, with or without brackets, in canonical form", () => {
    expect(parseIp("203.0.113.7")).toEqual({ family: "ipv4", value: 0xcb007107n });
    const v6 = parseIp("2001:DB8:0:0:0:0:0:1");
    expect(v6?.family).toBe("ipv6");
    expect(formatIp(v6!)).toBe("2001:db8::1");
    expect(formatIp(parseIp("[fd00::a:0:0:1]")!)).toBe("fd00::a:0:0:1");
    expect(formatIp(parseIp("::")!)).toBe("::");
    expect(formatIp(parseIp("1:0:0:2:0:0:0:3")!)).toBe("1:0:0:2::3");
  });

  it("treats an IPv4-mapped IPv6 address as the IPv4 address it maps", () => {
    expect(parseIp("::ffff:192.0.2.1")).toEqual(parseIp("192.0.2.1"));
    expect(parseIp("::ffff:c000:201")).toEqual(parseIp("192.0.2.1"));
    expect(formatIp(parseIp("::ffff:10.1.2.3")!)).toBe("10.1.2.3");
  });

  it("refuses what is no address, and zone ids", () => {
    for (const bad of ["", "1.2.3", "256.0.0.1", "10.0.0.1/8", "fe80::1%eth0", "::g", "example.com"]) {
      expect({ bad, ip: parseIp(bad) }).toEqual({ bad, ip: undefined });
    }
  });
});

describe("parseCidr", () => {
  it("parses IPv4 and IPv6 blocks, /0 included", () => {
    expect(parseCidr("10.0.0.0/8")).toMatchObject({ family: "ipv4", prefix: 8, network: 0x0a000000n });
    expect(parseCidr("2001:db8::/32")).toMatchObject({ family: "ipv6", prefix: 32 });
    expect(parseCidr("0.0.0.0/0")).toMatchObject({ family: "ipv4", prefix: 0 });
    expect(parseCidr("::/0")).toMatchObject({ family: "ipv6", prefix: 0 });
  });

  it("reads a mapped block as the IPv4 block it is", () => {
    expect(parseCidr("::ffff:10.0.0.0/104")).toMatchObject({
      family: "ipv4",
      prefix: 8,
      network: 0x0a000000n,
    });
  });

  it("says what to write when the prefix length is missing", () => {
    expect(() => parseCidr("203.0.113.7", "GOMIRROR_ALLOW_CIDRS")).toThrow(
      'GOMIRROR_ALLOW_CIDRS: "203.0.113.7" has no prefix length; write it like 203.0.113.7/32',
    );
    expect(() => parseCidr("2001:db8::1")).toThrow("write it like 2001:db8::1/128");
    expect(() => parseCidr("nonsense")).toThrow("write it like 10.0.0.0/8 or 2001:db8::/32");
  });

  it("names a bad address, a bad prefix length and host bits after the prefix", () => {
    expect(() => parseCidr("10.0.0.300/8")).toThrow(
      '"10.0.0.300" in "10.0.0.300/8" is not an IPv4 or IPv6 address',
    );
    expect(() => parseCidr("10.0.0.0/33")).toThrow('has prefix length "33"; want 0 to 32');
    expect(() => parseCidr("fd00::/129")).toThrow("want 0 to 128");
    expect(() => parseCidr("10.0.0.0/x")).toThrow('prefix length "x"');
    expect(() => parseCidr("10.1.2.3/8")).toThrow(
      "has bits set after the /8 prefix; did you mean 10.0.0.0/8?",
    );
    expect(() => parseCidr("fd00::1/8")).toThrow("did you mean fd00::/8?");
    expect(() => parseCidr("[::1]/128")).toThrow(CidrError);
  });

  it("parses lists separated by commas or spaces, and an empty one", () => {
    expect(parseCidrList(" 10.0.0.0/8, fd00::/8\n192.168.0.0/16 ").map((c) => c.text)).toEqual([
      "10.0.0.0/8",
      "fd00::/8",
      "192.168.0.0/16",
    ]);
    expect(parseCidrList("")).toEqual([]);
    expect(() => parseCidrList("10.0.0.0/8,10.0.0.1", "GOMIRROR_TRUSTED_PROXIES")).toThrow(
      /^GOMIRROR_TRUSTED_PROXIES: "10.0.0.1" has no prefix length/,
    );
  });
});

describe("containment", () => {
  it("finds addresses inside and outside a block, IPv4 and IPv6", () => {
    const net = parseCidr("10.20.0.0/16");
    expect(cidrContains(net, "10.20.255.1")).toBe(true);
    expect(cidrContains(net, "10.21.0.0")).toBe(false);
    const v6 = parseCidr("2001:db8:a::/48");
    expect(cidrContains(v6, "2001:db8:a:ffff::1")).toBe(true);
    expect(cidrContains(v6, "2001:db8:b::1")).toBe(false);
    expect(cidrContains(parseCidr("203.0.113.7/32"), "203.0.113.7")).toBe(true);
    expect(cidrContains(parseCidr("203.0.113.7/32"), "203.0.113.8")).toBe(false);
  });

  it("matches a mapped address against IPv4 blocks, and never mixes families otherwise", () => {
    expect(cidrContains(parseCidr("192.0.2.0/24"), "::ffff:192.0.2.9")).toBe(true);
    expect(cidrContains(parseCidr("::ffff:0:0/96"), "192.0.2.9")).toBe(true);
    expect(cidrContains(parseCidr("0.0.0.0/0"), "2001:db8::1")).toBe(false);
    expect(cidrContains(parseCidr("::/0"), "192.0.2.9")).toBe(true);
    expect(cidrContains(parseCidr("::/1"), "192.0.2.9")).toBe(true);
    expect(cidrContains(parseCidr("8000::/1"), "192.0.2.9")).toBe(false);
  });

  it("counts text that is no address as outside", () => {
    expect(cidrContains(parseCidr("0.0.0.0/0"), "unknown")).toBe(false);
  });

  it("tells whether one block covers another", () => {
    expect(cidrCovers(parseCidr("10.0.0.0/8"), parseCidr("10.1.0.0/16"))).toBe(true);
    expect(cidrCovers(parseCidr("10.0.0.0/8"), parseCidr("10.0.0.0/8"))).toBe(true);
    expect(cidrCovers(parseCidr("10.1.0.0/16"), parseCidr("10.0.0.0/8"))).toBe(false);
    expect(cidrCovers(parseCidr("10.0.0.0/8"), parseCidr("11.0.0.0/16"))).toBe(false);
    expect(cidrCovers(parseCidr("::/0"), parseCidr("10.0.0.0/8"))).toBe(false);
  });

  it("splits by family and looks addresses up in a set", () => {
    const set = CidrSet.parse("10.0.0.0/8,2001:db8::/32");
    expect(set.contains("10.9.9.9")).toBe(true);
    expect(set.contains("2001:db8::5")).toBe(true);
    expect(set.contains("192.0.2.1")).toBe(false);
    const { ipv4, ipv6 } = cidrsByFamily(set.cidrs);
    expect(ipv4.map((c) => c.text)).toEqual(["10.0.0.0/8"]);
    expect(ipv6.map((c) => c.text)).toEqual(["2001:db8::/32"]);
  });
});
