import { Stack } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { GoMirrorWafStack, IpAllowList } from "../../lib/aws";
import { checkCidr, splitCidrs } from "../../lib/aws/cidr";
import { testApp, testStack } from "./support";

describe("checkCidr", () => {
  it.each([
    ["10.0.0.0/8", "ipv4"],
    ["203.0.113.7/32", "ipv4"],
    ["0.0.0.0/1", "ipv4"],
    ["2001:db8::/32", "ipv6"],
    ["::1/128", "ipv6"],
    ["2001:db8:0:0:0:0:0:0/64", "ipv6"],
    // an IPv4-mapped block is the IPv4 block it maps, which is what IPv4 clients match
    ["::ffff:192.0.2.0/120", "ipv4"],
  ])("accepts %s as %s", (cidr, family) => {
    expect(checkCidr(cidr)).toBe(family);
  });

  it.each([
    ["203.0.113.7", /no prefix length; write it like 203\.0\.113\.7\/32/],
    ["2001:db8::1", /no prefix length; write it like 2001:db8::1\/128/],
    ["example.com", /no prefix length/],
    ["0.0.0.0/0", /"0\.0\.0\.0\/0" has prefix length 0, which AWS WAF does not accept/],
    ["::/0", /has prefix length 0, which AWS WAF does not accept/],
    ["10.0.0.0/0", /has bits set after the \/0 prefix/],
    ["10.0.0.0/33", /has prefix length "33"; want 0 to 32/],
    ["10.0.0.0/", /has prefix length ""; want 0 to 32/],
    ["10.0.0.0/08x", /has prefix length "08x"; want 0 to 32/],
    ["2001:db8::/129", /has prefix length "129"; want 0 to 128/],
    ["256.0.0.0/8", /"256\.0\.0\.0" in "256\.0\.0\.0\/8" is not an IPv4 or IPv6 address/],
    ["2001:db8:0:0:0:0:0:1/64", /has bits set after the \/64 prefix; did you mean 2001:db8::\/64\?/],
    ["10.0.0/8", /"10\.0\.0" in "10\.0\.0\/8" is not an IPv4 or IPv6 address/],
    ["2001:db8:::/48", /is not an IPv4 or IPv6 address/],
    ["fe80::1%eth0/64", /is not an IPv4 or IPv6 address/],
    [" 10.0.0.0/8", /is not an IPv4 or IPv6 address/],
  ])("rejects %j naming the value", (cidr, message) => {
    expect(() => checkCidr(cidr)).toThrow(message);
    expect(() => checkCidr(cidr)).toThrow(`"${cidr}"`);
  });

  it("splits ranges by family, keeping their order", () => {
    expect(splitCidrs(["10.0.0.0/8", "2001:db8::/32", "192.0.2.0/24"])).toEqual({
      ipv4: ["10.0.0.0/8", "192.0.2.0/24"],
      ipv6: ["2001:db8::/32"],
    });
  });
});

describe("IpAllowList", () => {
  it("blocks by default and allows each IP set", () => {
    // given IPv4 and IPv6 ranges
    const stack = testStack();
    const list = new IpAllowList(stack, "List", {
      scope: "CLOUDFRONT",
      allowedIpRanges: ["203.0.113.0/24", "2001:db8::/32"],
    });
    const template = Template.fromStack(stack);
    // then one IP set per family and a WebACL that allows only them
    template.hasResourceProperties("AWS::WAFv2::IPSet", {
      Scope: "CLOUDFRONT",
      IPAddressVersion: "IPV4",
      Addresses: ["203.0.113.0/24"],
    });
    template.hasResourceProperties("AWS::WAFv2::IPSet", {
      Scope: "CLOUDFRONT",
      IPAddressVersion: "IPV6",
      Addresses: ["2001:db8::/32"],
    });
    template.hasResourceProperties("AWS::WAFv2::WebACL", {
      Scope: "CLOUDFRONT",
      DefaultAction: { Block: {} },
      Rules: [
        Match.objectLike({
          Name: "AllowIpv4",
          Priority: 0,
          Action: { Allow: {} },
          Statement: {
            IPSetReferenceStatement: { Arn: { "Fn::GetAtt": [stack.getLogicalId(list.ipv4Set!), "Arn"] } },
          },
        }),
        Match.objectLike({
          Name: "AllowIpv6",
          Priority: 1,
          Action: { Allow: {} },
          Statement: {
            IPSetReferenceStatement: { Arn: { "Fn::GetAtt": [stack.getLogicalId(list.ipv6Set!), "Arn"] } },
          },
        }),
      ],
    });
  });

  it("creates only the sets it needs", () => {
    const stack = testStack();
    const list = new IpAllowList(stack, "List", { scope: "REGIONAL", allowedIpRanges: ["198.51.100.0/24"] });
    expect(list.ipv6Set).toBeUndefined();
    const template = Template.fromStack(stack);
    template.resourceCountIs("AWS::WAFv2::IPSet", 1);
    template.hasResourceProperties("AWS::WAFv2::WebACL", {
      Rules: [Match.objectLike({ Name: "AllowIpv4" })],
    });
  });

  it("refuses an empty list and a bad CIDR", () => {
    expect(() => new IpAllowList(testStack(), "L", { scope: "REGIONAL", allowedIpRanges: [] })).toThrow(
      /allowedIpRanges is empty, which would block every client/,
    );
    expect(
      () =>
        new IpAllowList(testStack(), "L", {
          scope: "REGIONAL",
          allowedIpRanges: ["10.0.0.0/8", "10.1.0.0/40"],
        }),
    ).toThrow(/invalid CIDR: "10\.1\.0\.0\/40" has prefix length "40"/);
  });
});

describe("GoMirrorWafStack", () => {
  it("lives in us-east-1 and outputs the CloudFront-scope WebACL ARN", () => {
    const stack = new GoMirrorWafStack(testApp(), "Waf", { allowedIpRanges: ["203.0.113.0/24"] });
    expect(stack.region).toBe("us-east-1");
    const template = Template.fromStack(stack);
    template.hasResourceProperties("AWS::WAFv2::WebACL", {
      Scope: "CLOUDFRONT",
      DefaultAction: { Block: {} },
    });
    template.hasOutput("WebAclArn", {
      Value: { "Fn::GetAtt": [stack.getLogicalId(stack.allowList.webAcl), "Arn"] },
    });
  });

  it("keeps the account it is given", () => {
    const stack = new GoMirrorWafStack(testApp(), "Waf", {
      allowedIpRanges: ["203.0.113.0/24"],
      env: { account: "111111111111" },
    });
    expect(Stack.of(stack).account).toBe("111111111111");
    expect(stack.region).toBe("us-east-1");
  });

  it("refuses another region", () => {
    expect(
      () =>
        new GoMirrorWafStack(testApp(), "Waf", {
          allowedIpRanges: ["203.0.113.0/24"],
          env: { region: "eu-west-1" },
        }),
    ).toThrow(/env\.region is "eu-west-1", but CloudFront WebACLs must be in us-east-1/);
  });
});
