import { Annotations, Duration, Stack, Token } from "aws-cdk-lib";
import type * as acm from "aws-cdk-lib/aws-certificatemanager";
import * as cloudfront from "aws-cdk-lib/aws-cloudfront";
import * as origins from "aws-cdk-lib/aws-cloudfront-origins";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import type * as ecs from "aws-cdk-lib/aws-ecs";
import * as elbv2 from "aws-cdk-lib/aws-elasticloadbalancingv2";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import * as wafv2 from "aws-cdk-lib/aws-wafv2";
import { Construct } from "constructs";
import { CONTAINER_PORT, METRICS_PATH, READINESS_PATH } from "../image-contract";
import { MirrorCdn } from "./cdn";
import { splitCidrs } from "./cidr";
import { CloudFrontOriginPrefixList } from "./origin-prefix-list";
import { GoMirrorWafStack, IpAllowList } from "./waf";

/** The header CloudFront adds to every origin request; the ALB forwards only requests carrying it. */
export const ORIGIN_VERIFY_HEADER = "X-Gomirror-Origin-Verify";

export interface MirrorEdgeProps {
  readonly vpc: ec2.IVpc;
  /** The service whose tasks the load balancer sends requests to. */
  readonly service: ecs.FargateService;
  /** The name of the proxy's container in the service's task definition. */
  readonly containerName: string;
  /** Put CloudFront in front of the load balancer. */
  readonly cdn: boolean;
  /** An internal load balancer (no CloudFront), reachable from `allowedIpRanges` and `allowedSecurityGroups`. */
  readonly internal: boolean;
  /** The proxy checks client tokens: CloudFront then forwards every request and caches nothing. */
  readonly clientTokens: boolean;
  /** How long CloudFront keeps list, `@latest` and query answers. */
  readonly queryTtl: Duration;
  /** Whether the proxy redirects `.zip` requests to presigned URLs. */
  readonly zipRedirect: boolean;
  readonly webAclArn?: string;
  readonly allowedIpRanges?: string[];
  readonly allowedSecurityGroups?: ec2.ISecurityGroup[];
  readonly originPrefixListId?: string;
  readonly certificate?: acm.ICertificate;
  readonly loadBalancerDomainName?: string;
  readonly domainNames?: string[];
  readonly cdnCertificate?: acm.ICertificate;
  readonly priceClass?: cloudfront.PriceClass;
}

/**
 * Everything between clients and the tasks: the load balancer with its listener and target
 * group, and one of three fronts: CloudFront (the load balancer then admits only CloudFront,
 * with a secret header), the load balancer answering clients itself, or an internal load
 * balancer reachable from listed ranges and security groups. IP allowlists become a WAF WebACL
 * (CloudFront or regional) or security group rules.
 */
export class MirrorEdge extends Construct {
  public readonly securityGroup: ec2.SecurityGroup;
  public readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  public readonly listener: elbv2.ApplicationListener;
  public readonly targetGroup: elbv2.ApplicationTargetGroup;
  /** The random value CloudFront sends in ORIGIN_VERIFY_HEADER (with `cdn`). */
  public readonly originSecret?: secretsmanager.Secret;
  /** CloudFront and its cache policies (with `cdn`). */
  public readonly cdn?: MirrorCdn;
  /** The WAF allowlist made from `allowedIpRanges`: regional, or CloudFront's in us-east-1. */
  public readonly allowList?: IpAllowList;
  /** The us-east-1 stack holding CloudFront's allowlist, when the mirror's stack is elsewhere. */
  public readonly wafStack?: GoMirrorWafStack;
  /** The URL to put in GOPROXY. */
  public readonly url: string;

  constructor(scope: Construct, id: string, props: MirrorEdgeProps) {
    super(scope, id);
    const https = props.certificate !== undefined;
    this.securityGroup = new ec2.SecurityGroup(this, "LBSecurityGroup", {
      vpc: props.vpc,
      description: "gomirror load balancer",
      allowAllOutbound: false,
    });
    this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, "LB", {
      vpc: props.vpc,
      internetFacing: !props.internal,
      vpcSubnets: props.internal ? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS } : undefined,
      securityGroup: this.securityGroup,
      dropInvalidHeaderFields: true,
    });
    this.targetGroup = new elbv2.ApplicationTargetGroup(this, "Targets", {
      vpc: props.vpc,
      port: CONTAINER_PORT,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targetType: elbv2.TargetType.IP,
      targets: [
        props.service.loadBalancerTarget({
          containerName: props.containerName,
          containerPort: CONTAINER_PORT,
        }),
      ],
      healthCheck: {
        // Readiness, not liveness: a task that cannot reach its storage leaves the target group.
        path: READINESS_PATH,
        healthyHttpCodes: "200",
        interval: Duration.seconds(15),
        timeout: Duration.seconds(5),
        healthyThresholdCount: 2,
        unhealthyThresholdCount: 3,
      },
      deregistrationDelay: Duration.seconds(30),
    });
    const forbidden = elbv2.ListenerAction.fixedResponse(403, {
      contentType: "text/plain",
      messageBody: "Forbidden",
    });
    this.listener = https
      ? this.loadBalancer.addListener("Https", {
          port: 443,
          protocol: elbv2.ApplicationProtocol.HTTPS,
          certificates: [props.certificate],
          sslPolicy: elbv2.SslPolicy.RECOMMENDED_TLS,
          open: false,
          defaultAction: forbidden,
        })
      : this.loadBalancer.addListener("Http", {
          port: 80,
          protocol: elbv2.ApplicationProtocol.HTTP,
          open: false,
          defaultAction: forbidden,
        });
    // Prometheus metrics are for scrapers inside the VPC, not for clients.
    this.listener.addAction("HideMetrics", {
      priority: 1,
      conditions: [elbv2.ListenerCondition.pathPatterns([METRICS_PATH, `${METRICS_PATH}/*`])],
      action: elbv2.ListenerAction.fixedResponse(404, {
        contentType: "text/plain",
        messageBody: "Not Found",
      }),
    });
    const listenerPort = https ? 443 : 80;

    if (props.cdn) {
      const front = this.addCloudFront(props, https, listenerPort);
      this.originSecret = front.originSecret;
      this.cdn = front.cdn;
      this.allowList = front.allowList;
      this.wafStack = front.wafStack;
      const host = props.domainNames?.[0] ?? this.cdn.distribution.distributionDomainName;
      this.url = `https://${host}`;
      return;
    }

    this.listener.addAction("Proxy", {
      priority: 10,
      conditions: [elbv2.ListenerCondition.pathPatterns(["/*"])],
      action: elbv2.ListenerAction.forward([this.targetGroup]),
    });
    const ports = https ? [listenerPort, 80] : [listenerPort];
    // The redirect listener opens port 80 to the world unless told not to; internal admits listed clients only.
    if (https) this.loadBalancer.addRedirect({ sourcePort: 80, targetPort: 443, open: !props.internal });
    if (props.internal) {
      this.admitInternalClients(props, ports);
    } else {
      for (const port of ports) {
        this.securityGroup.addIngressRule(
          ec2.Peer.anyIpv4(),
          ec2.Port.tcp(port),
          port === listenerPort ? "gomirror clients" : "redirect to HTTPS",
        );
      }
      if (props.allowedIpRanges) {
        this.allowList = new IpAllowList(this, "AllowList", {
          allowedIpRanges: props.allowedIpRanges,
          scope: "REGIONAL",
        });
        new wafv2.CfnWebACLAssociation(this, "AllowListAssociation", {
          resourceArn: this.loadBalancer.loadBalancerArn,
          webAclArn: this.allowList.webAclArn,
        });
      }
      if (!https) {
        // On the mirror itself, where users look for it.
        Annotations.of(scope).addWarningV2(
          "gomirror:plain-http",
          "clients reach the mirror over plain HTTP across the internet; pass certificate to serve HTTPS",
        );
      }
    }
    const host = props.loadBalancerDomainName ?? this.loadBalancer.loadBalancerDnsName;
    this.url = `${https ? "https" : "http"}://${host}`;
  }

  /** CloudFront's distribution (with `cdn`). */
  public get distribution(): cloudfront.Distribution | undefined {
    return this.cdn?.distribution;
  }

  private addCloudFront(
    props: MirrorEdgeProps,
    https: boolean,
    listenerPort: number,
  ): {
    originSecret: secretsmanager.Secret;
    cdn: MirrorCdn;
    allowList?: IpAllowList;
    wafStack?: GoMirrorWafStack;
  } {
    // Only CloudFront can connect, and the ALB forwards only requests carrying the header.
    const prefixListId =
      props.originPrefixListId ?? new CloudFrontOriginPrefixList(this, "OriginPrefixList").prefixListId;
    this.securityGroup.addIngressRule(
      ec2.Peer.prefixList(prefixListId),
      ec2.Port.tcp(listenerPort),
      "CloudFront origin-facing addresses",
    );
    const originSecret = new secretsmanager.Secret(this, "OriginSecret", {
      description: `gomirror: value of the ${ORIGIN_VERIFY_HEADER} header CloudFront sends to the load balancer`,
      generateSecretString: { passwordLength: 48, excludePunctuation: true },
    });
    const headerValue = originSecret.secretValue.unsafeUnwrap();
    this.listener.addAction("FromCloudFront", {
      priority: 10,
      conditions: [elbv2.ListenerCondition.httpHeader(ORIGIN_VERIFY_HEADER, [headerValue])],
      action: elbv2.ListenerAction.forward([this.targetGroup]),
    });
    const originOptions = {
      customHeaders: { [ORIGIN_VERIFY_HEADER]: headerValue },
      readTimeout: Duration.seconds(60),
      protocolPolicy: https
        ? cloudfront.OriginProtocolPolicy.HTTPS_ONLY
        : cloudfront.OriginProtocolPolicy.HTTP_ONLY,
      originSslProtocols: [cloudfront.OriginSslPolicy.TLS_V1_2],
    };
    const origin = props.loadBalancerDomainName
      ? new origins.HttpOrigin(props.loadBalancerDomainName, originOptions)
      : new origins.LoadBalancerV2Origin(this.loadBalancer, originOptions);
    const allow = props.allowedIpRanges ? this.cloudFrontAllowList(props.allowedIpRanges) : undefined;
    const cdn = new MirrorCdn(this, "Cdn", {
      origin,
      queryTtl: props.queryTtl,
      zipRedirect: props.zipRedirect,
      clientTokens: props.clientTokens,
      webAclArn: props.webAclArn ?? allow?.allowList.webAclArn,
      domainNames: props.domainNames,
      certificate: props.cdnCertificate,
      priceClass: props.priceClass,
    });
    return { originSecret, cdn, allowList: allow?.allowList, wafStack: allow?.wafStack };
  }

  /**
   * CloudFront takes WebACLs from us-east-1 only: in this stack when it is there, otherwise in a
   * stack of its own in the same app, read through a cross-region reference.
   */
  private cloudFrontAllowList(ranges: string[]): { allowList: IpAllowList; wafStack?: GoMirrorWafStack } {
    const stack = Stack.of(this);
    if (stack.region === "us-east-1") {
      return {
        allowList: new IpAllowList(this, "CdnAllowList", { allowedIpRanges: ranges, scope: "CLOUDFRONT" }),
      };
    }
    if (Token.isUnresolved(stack.region) || !stack._crossRegionReferences) {
      throw new Error(
        `GoMirror: allowedIpRanges with CloudFront makes a WAF WebACL in us-east-1, read by stack ${stack.stackName} ` +
          "through a cross-region reference: give that stack an explicit env.region and crossRegionReferences: true " +
          "(or deploy GoMirrorWafStack yourself and pass its webAclArn)",
      );
    }
    const app = stack.node.scope as Construct;
    // Named after the mirror's stack and the mirror, e.g. "TeamMirrorMirrorWaf".
    const wafStack = new GoMirrorWafStack(app, `${stack.node.id}${this.node.scope!.node.id}Waf`, {
      allowedIpRanges: ranges,
      env: Token.isUnresolved(stack.account)
        ? { region: "us-east-1" }
        : { account: stack.account, region: "us-east-1" },
      crossRegionReferences: true,
      description: `gomirror: CloudFront IP allowlist for ${stack.stackName}`,
    });
    stack.addStackDependency(wafStack, "CloudFront reads its WebACL from this us-east-1 stack");
    return { allowList: wafStack.allowList, wafStack };
  }

  /** An internal load balancer admits only the listed ranges and security groups. */
  private admitInternalClients(props: MirrorEdgeProps, ports: number[]): void {
    const ranges = splitCidrs(props.allowedIpRanges ?? []);
    for (const port of ports) {
      for (const cidr of ranges.ipv4) {
        this.securityGroup.addIngressRule(
          ec2.Peer.ipv4(cidr),
          ec2.Port.tcp(port),
          `gomirror clients ${cidr}`,
        );
      }
      for (const cidr of ranges.ipv6) {
        this.securityGroup.addIngressRule(
          ec2.Peer.ipv6(cidr),
          ec2.Port.tcp(port),
          `gomirror clients ${cidr}`,
        );
      }
      for (const group of props.allowedSecurityGroups ?? []) {
        this.securityGroup.addIngressRule(group, ec2.Port.tcp(port), "gomirror clients");
      }
    }
  }
}
