import { App, type CfnElement, Stack } from "aws-cdk-lib";
import { Annotations, Match, Template } from "aws-cdk-lib/assertions";
import * as acm from "aws-cdk-lib/aws-certificatemanager";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import { GoMirror, type GoMirrorProps } from "../../lib/aws";
import { containsToken } from "../../lib/proxy/auth/token";
import { CERTIFICATE_ARN, WEB_ACL_ARN } from "./fixtures";
import { registryImage, testApp, testStack } from "./support";

/**
 * Who may use a mirror. A mirror reachable from the internet must say so (allowlist, WebACL,
 * client tokens, or an explicit public mirror); an internal one is reachable from listed
 * ranges and security groups only.
 */

function build(props: GoMirrorProps, stack: Stack = testStack()): { stack: Stack; m: GoMirror; t: Template } {
  const m = new GoMirror(stack, "Mirror", { image: registryImage(), ...props });
  return { stack, m, t: Template.fromStack(stack) };
}

function env(t: Template): Record<string, unknown> {
  const [def] = Object.values(t.findResources("AWS::ECS::TaskDefinition"));
  const list = def!.Properties.ContainerDefinitions[0].Environment as { Name: string; Value: unknown }[];
  return Object.fromEntries(list.map((e) => [e.Name, e.Value]));
}

/** The properties of the resource with logical id `id`. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a CloudFormation template is untyped JSON
function properties(t: Template, id: string): any {
  return (t.toJSON().Resources as Record<string, { Properties: unknown }>)[id]!.Properties;
}

function ref(stack: Stack, c: { node: { defaultChild?: unknown } }): string {
  return stack.getLogicalId(c.node.defaultChild as CfnElement);
}

describe("a mirror reachable from the internet must say who may use it", () => {
  it.each([[{}], [{ cdn: false }]])("refuses %j, listing the ways to control access", (props) => {
    expect(() => build(props)).toThrow(
      /this mirror would be open to anyone on the internet\. Say who may use it: allowedIpRanges .* webAclArn .* auth .* internal: true .* or publicAccess: true/,
    );
  });

  it("accepts publicAccess: true, with a warning at synth", () => {
    const { stack } = build({ publicAccess: true });
    Annotations.fromStack(stack).hasWarning(
      "/Test/Mirror",
      Match.stringLikeRegexp("publicAccess: anyone who can reach the mirror can use it"),
    );
  });

  it("refuses publicAccess with private modules, unless tokens keep them to token holders", () => {
    expect(() => build({ publicAccess: true, privatePatterns: ["git.example.com/*"] })).toThrow(
      /publicAccess with privatePatterns or noProxy would serve your private modules to anyone; add auth/,
    );
    expect(() =>
      build({ publicAccess: true, privatePatterns: ["git.example.com/*"], auth: {}, anonymous: "public" }),
    ).not.toThrow();
  });

  it("warns when clients would reach a load balancer over plain HTTP", () => {
    const { stack } = build({ cdn: false, allowedIpRanges: ["203.0.113.0/24"] });
    Annotations.fromStack(stack).hasWarning(
      "/Test/Mirror",
      Match.stringLikeRegexp("plain HTTP across the internet; pass certificate"),
    );
  });

  it.each([
    [{ webAclArn: "not-an-arn" }, /webAclArn "not-an-arn" is not the ARN of a CLOUDFRONT-scope WebACL/],
    [
      { webAclArn: WEB_ACL_ARN.replace("us-east-1", "eu-west-1") },
      /is not the ARN of a CLOUDFRONT-scope WebACL/,
    ],
    [
      { webAclArn: WEB_ACL_ARN, allowedIpRanges: ["203.0.113.0/24"] },
      /webAclArn and allowedIpRanges both set the distribution's WebACL; keep one/,
    ],
    [{ allowedIpRanges: [] }, /allowedIpRanges is empty/],
    [{ cdn: false, auth: {} }, /auth without CloudFront needs certificate/],
    [{ internal: true, cdn: true, allowedIpRanges: ["10.0.0.0/8"] }, /internal puts no CloudFront/],
    [
      { internal: true },
      /an internal mirror is reachable only from allowedIpRanges and allowedSecurityGroups/,
    ],
    [{ privatePatterns: ["https://git.example.com/team"], auth: {} }, /GOPRIVATE=.*not a module path glob/],
  ] as [GoMirrorProps, RegExp][])("refuses %j", (props, message) => {
    expect(() => build(props)).toThrow(message);
  });
});

describe("client tokens (auth)", () => {
  const { stack, m, t } = build({ auth: {}, privatePatterns: ["git.example.com/*"] });

  it("keeps the token file in a created secret that starts with no token and is never overwritten", () => {
    t.hasResourceProperties("AWS::SecretsManager::Secret", {
      SecretString: Match.stringLikeRegexp("^# gomirror client tokens"),
    });
    expect(m.tokens).toBeDefined();
  });

  it("has the proxy read the secret itself (a new token needs no new task)", () => {
    expect(env(t).GOMIRROR_AUTH_SECRET).toEqual({ Ref: ref(stack, m.tokens as secretsmanager.Secret) });
    t.hasResourceProperties("AWS::IAM::Policy", {
      Roles: [{ Ref: ref(stack, m.taskDefinition.taskRole) }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
            Resource: { Ref: ref(stack, m.tokens as secretsmanager.Secret) },
          }),
        ]),
      },
    });
  });

  it("makes CloudFront cache nothing and forward Authorization, so no stored answer skips the proxy's check", () => {
    const behaviours = properties(t, ref(stack, m.distribution!)).DistributionConfig;
    expect(behaviours.CacheBehaviors).toBeUndefined();
    expect(behaviours.DefaultCacheBehavior).toMatchObject({
      CachePolicyId: "4135ea2d-6df8-44a3-9df3-4b5a84be39ad", // CachingDisabled
      OriginRequestPolicyId: "b689b0a8-53d0-40ab-baf2-68738e2966ac", // AllViewerExceptHostHeader
    });
    t.resourceCountIs("AWS::CloudFront::CachePolicy", 0);
  });

  it("trusts the load balancer's X-Forwarded-For: the VPC's range", () => {
    expect(env(t).GOMIRROR_TRUSTED_PROXIES).toEqual({
      "Fn::GetAtt": [ref(stack, m.vpc as ec2.Vpc), "CidrBlock"],
    });
  });

  it("never puts a token or a token record into the template: the secret's value is set later", () => {
    const text = JSON.stringify(t.toJSON());
    expect(containsToken(text)).toBe(false);
    expect(text).not.toMatch(/\b[0-9a-f]{16} \S+ \S+ [A-Za-z0-9_-]{22} [0-9a-f]{64}\b/);
  });

  it("uses a given secret instead of creating one", () => {
    const s = testStack();
    const tokens = secretsmanager.Secret.fromSecretNameV2(s, "Tokens", "gomirror/tokens");
    const { t: given } = build({ auth: { tokens } }, s);
    given.resourceCountIs("AWS::SecretsManager::Secret", 1); // the origin header's only
    expect(JSON.stringify(env(given).GOMIRROR_AUTH_SECRET)).toContain("gomirror/tokens");
  });
});

describe("an IP allowlist in front of CloudFront", () => {
  it("lives in the mirror's stack when that stack is in us-east-1", () => {
    const stack = new Stack(testApp(), "Test", { env: { region: "us-east-1" } });
    const { m, t } = build({ allowedIpRanges: ["203.0.113.0/24", "2001:db8::/32"] }, stack);
    t.hasResourceProperties("AWS::WAFv2::WebACL", { Scope: "CLOUDFRONT", DefaultAction: { Block: {} } });
    t.hasResourceProperties("AWS::CloudFront::Distribution", {
      DistributionConfig: Match.objectLike({
        WebACLId: { "Fn::GetAtt": [stack.getLogicalId(m.allowList!.webAcl), "Arn"] },
      }),
    });
    expect(m.wafStack).toBeUndefined();
  });

  it("gets a us-east-1 stack of its own, read through a cross-region reference, elsewhere", () => {
    const app: App = testApp();
    const stack = new Stack(app, "Mirrors", {
      env: { account: "111111111111", region: "eu-west-1" },
      crossRegionReferences: true,
    });
    const { m, t } = build({ allowedIpRanges: ["203.0.113.0/24"] }, stack);
    expect(m.wafStack?.region).toBe("us-east-1");
    expect(m.wafStack?.account).toBe("111111111111");
    expect(stack.dependencies).toContain(m.wafStack);
    Template.fromStack(m.wafStack!).hasResourceProperties("AWS::WAFv2::WebACL", { Scope: "CLOUDFRONT" });
    t.hasResourceProperties("AWS::CloudFront::Distribution", {
      DistributionConfig: Match.objectLike({
        WebACLId: {
          "Fn::GetAtt": [Match.stringLikeRegexp("ExportsReader"), Match.stringLikeRegexp("WebAcl")],
        },
      }),
    });
  });
});

describe("an internal mirror", () => {
  const stack = testStack();
  const vpn = new ec2.SecurityGroup(stack, "Vpn", { vpc: new ec2.Vpc(stack, "Vpc") });
  const { m, t } = build(
    {
      internal: true,
      vpc: vpn.node.scope?.node.tryFindChild("Vpc") as ec2.Vpc,
      allowedIpRanges: ["10.20.0.0/16", "fd00:20::/32"],
      allowedSecurityGroups: [vpn],
      auth: {},
      certificate: acm.Certificate.fromCertificateArn(stack, "Cert", CERTIFICATE_ARN),
      loadBalancerDomainName: "goproxy.corp.example",
    },
    stack,
  );

  it("has an internal load balancer and no CloudFront", () => {
    t.hasResourceProperties("AWS::ElasticLoadBalancingV2::LoadBalancer", { Scheme: "internal" });
    t.resourceCountIs("AWS::CloudFront::Distribution", 0);
    expect(m.url).toBe("https://goproxy.corp.example");
  });

  it("admits only the listed ranges and security groups", () => {
    const sg = ref(stack, m.edge.securityGroup);
    const ingress = properties(t, sg).SecurityGroupIngress as {
      CidrIp?: string;
      CidrIpv6?: string;
      FromPort: number;
    }[];
    expect(ingress.map((r) => r.CidrIp ?? r.CidrIpv6).sort()).toEqual([
      "10.20.0.0/16",
      "10.20.0.0/16",
      "fd00:20::/32",
      "fd00:20::/32",
    ]);
    t.hasResourceProperties("AWS::EC2::SecurityGroupIngress", {
      GroupId: { "Fn::GetAtt": [sg, "GroupId"] },
      SourceSecurityGroupId: { "Fn::GetAtt": [ref(stack, vpn), "GroupId"] },
      FromPort: 443,
    });
  });

  it("refuses allowedSecurityGroups on an internet-facing mirror", () => {
    const s = testStack();
    const group = ec2.SecurityGroup.fromSecurityGroupId(s, "G", "sg-12345678");
    expect(() => build({ auth: {}, allowedSecurityGroups: [group] }, s)).toThrow(
      /allowedSecurityGroups applies to an internal mirror/,
    );
  });
});
