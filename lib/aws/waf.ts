import { CfnOutput, Stack, type StackProps } from "aws-cdk-lib";
import * as wafv2 from "aws-cdk-lib/aws-wafv2";
import { Construct } from "constructs";
import { splitCidrs } from "./cidr";

/** Where a WebACL is used: CloudFront (the WebACL must live in us-east-1) or a regional ALB. */
export type WafScope = "CLOUDFRONT" | "REGIONAL";

export interface IpAllowListProps {
  /**
   * The client ranges allowed in, IPv4 and IPv6 in CIDR notation (`203.0.113.0/24`,
   * `2001:db8::/32`). Every other source is blocked. Checked at synth time.
   */
  readonly allowedIpRanges: readonly string[];

  /** CLOUDFRONT for a distribution (deploy in us-east-1), REGIONAL for an ALB. */
  readonly scope: WafScope;

  /**
   * The CloudWatch metric name prefix for the WebACL and its rules.
   *
   * @default "GoMirrorAllowList"
   */
  readonly metricName?: string;
}

/**
 * A WebACL that blocks by default and allows only listed IP ranges, with one IP set per
 * address family (WAF keeps IPv4 and IPv6 in separate sets).
 */
export class IpAllowList extends Construct {
  /** The WebACL (default action: block). */
  public readonly webAcl: wafv2.CfnWebACL;
  /** The IPv4 set, when any IPv4 range was listed. */
  public readonly ipv4Set?: wafv2.CfnIPSet;
  /** The IPv6 set, when any IPv6 range was listed. */
  public readonly ipv6Set?: wafv2.CfnIPSet;
  /** The WebACL's ARN, for `GoMirror`'s `webAclArn` or a WebACL association. */
  public readonly webAclArn: string;

  constructor(scope: Construct, id: string, props: IpAllowListProps) {
    super(scope, id);
    if (props.allowedIpRanges.length === 0) {
      throw new Error(
        "IpAllowList: allowedIpRanges is empty, which would block every client; list the CIDR ranges of your team",
      );
    }
    const ranges = splitCidrs(props.allowedIpRanges);
    const metricName = props.metricName ?? "GoMirrorAllowList";

    const rules: wafv2.CfnWebACL.RuleProperty[] = [];
    const allowFrom = (family: "IPV4" | "IPV6", addresses: string[]): wafv2.CfnIPSet | undefined => {
      if (addresses.length === 0) return undefined;
      const set = new wafv2.CfnIPSet(this, family === "IPV4" ? "Ipv4" : "Ipv6", {
        scope: props.scope,
        ipAddressVersion: family,
        addresses,
        description: `gomirror clients allowed in, ${family === "IPV4" ? "IPv4" : "IPv6"}`,
      });
      const ruleName = `Allow${family === "IPV4" ? "Ipv4" : "Ipv6"}`;
      rules.push({
        name: ruleName,
        priority: rules.length,
        action: { allow: {} },
        statement: { ipSetReferenceStatement: { arn: set.attrArn } },
        visibilityConfig: {
          cloudWatchMetricsEnabled: true,
          sampledRequestsEnabled: true,
          metricName: `${metricName}${ruleName}`,
        },
      });
      return set;
    };
    this.ipv4Set = allowFrom("IPV4", ranges.ipv4);
    this.ipv6Set = allowFrom("IPV6", ranges.ipv6);

    this.webAcl = new wafv2.CfnWebACL(this, "WebAcl", {
      scope: props.scope,
      defaultAction: { block: {} },
      description: "gomirror: allow listed IP ranges, block everything else",
      rules,
      visibilityConfig: { cloudWatchMetricsEnabled: true, sampledRequestsEnabled: true, metricName },
    });
    this.webAclArn = this.webAcl.attrArn;
  }
}

export interface GoMirrorWafStackProps extends StackProps {
  /** The client ranges allowed to reach the mirror through CloudFront (IPv4 and IPv6 CIDRs). */
  readonly allowedIpRanges: readonly string[];
}

/**
 * A stack in us-east-1 holding the CloudFront-scope IP allowlist (CloudFront only accepts
 * WebACLs from that region). Pass `webAclArn` to `GoMirror`; when the mirror's stack is in
 * another region, give that stack `crossRegionReferences: true` or copy the `WebAclArn` output.
 */
export class GoMirrorWafStack extends Stack {
  /** The allowlist construct. */
  public readonly allowList: IpAllowList;
  /** The CloudFront-scope WebACL's ARN. */
  public readonly webAclArn: string;

  constructor(scope: Construct, id: string, props: GoMirrorWafStackProps) {
    const region = props.env?.region;
    if (region !== undefined && region !== "us-east-1") {
      throw new Error(
        `GoMirrorWafStack: env.region is "${region}", but CloudFront WebACLs must be in us-east-1; ` +
          "leave env.region unset or set it to us-east-1",
      );
    }
    super(scope, id, { ...props, env: { ...props.env, region: "us-east-1" } });
    this.allowList = new IpAllowList(this, "AllowList", {
      allowedIpRanges: props.allowedIpRanges,
      scope: "CLOUDFRONT",
    });
    this.webAclArn = this.allowList.webAclArn;
    new CfnOutput(this, "WebAclArn", {
      value: this.webAclArn,
      description: "Pass to GoMirror's webAclArn prop",
    });
  }
}
