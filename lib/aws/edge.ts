import { Annotations, Duration } from "aws-cdk-lib";
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
import { CloudFrontOriginPrefixList } from "./origin-prefix-list";
import { IpAllowList } from "./waf";

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
  /** How long CloudFront keeps list, `@latest` and query answers. */
  readonly queryTtl: Duration;
  /** Whether the proxy redirects `.zip` requests to presigned URLs. */
  readonly zipRedirect: boolean;
  readonly webAclArn?: string;
  readonly allowedIpRanges?: string[];
  readonly originPrefixListId?: string;
  readonly certificate?: acm.ICertificate;
  readonly loadBalancerDomainName?: string;
  readonly domainNames?: string[];
  readonly cdnCertificate?: acm.ICertificate;
  readonly priceClass?: cloudfront.PriceClass;
}

/**
 * Everything between clients and the tasks: the load balancer with its listener and target
 * group, and either CloudFront in front of it (reachable only from CloudFront, with a secret
 * header) or the load balancer answering clients itself, behind an optional WAF allowlist.
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
  /** The regional allowlist on the load balancer (without `cdn`, with `allowedIpRanges`). */
  public readonly allowList?: IpAllowList;
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
      internetFacing: true,
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
      // Only CloudFront can connect, and the ALB forwards only requests carrying the header.
      const prefixListId =
        props.originPrefixListId ?? new CloudFrontOriginPrefixList(this, "OriginPrefixList").prefixListId;
      this.securityGroup.addIngressRule(
        ec2.Peer.prefixList(prefixListId),
        ec2.Port.tcp(listenerPort),
        "CloudFront origin-facing addresses",
      );
      this.originSecret = new secretsmanager.Secret(this, "OriginSecret", {
        description: `gomirror: value of the ${ORIGIN_VERIFY_HEADER} header CloudFront sends to the load balancer`,
        generateSecretString: { passwordLength: 48, excludePunctuation: true },
      });
      const headerValue = this.originSecret.secretValue.unsafeUnwrap();
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
      this.cdn = new MirrorCdn(this, "Cdn", {
        origin,
        queryTtl: props.queryTtl,
        zipRedirect: props.zipRedirect,
        webAclArn: props.webAclArn,
        domainNames: props.domainNames,
        certificate: props.cdnCertificate,
        priceClass: props.priceClass,
      });
      const host = props.domainNames?.[0] ?? this.cdn.distribution.distributionDomainName;
      this.url = `https://${host}`;
      return;
    }

    this.listener.addAction("Proxy", {
      priority: 10,
      conditions: [elbv2.ListenerCondition.pathPatterns(["/*"])],
      action: elbv2.ListenerAction.forward([this.targetGroup]),
    });
    this.securityGroup.addIngressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(listenerPort), "gomirror clients");
    if (https) {
      this.loadBalancer.addRedirect({ sourcePort: 80, targetPort: 443 });
      this.securityGroup.addIngressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(80), "redirect to HTTPS");
    }
    if (!props.allowedIpRanges) {
      // On the mirror itself, where users look for it.
      Annotations.of(scope).addWarningV2(
        "gomirror:open-to-internet",
        "the mirror has no CloudFront and no allowedIpRanges: anyone on the internet can use it",
      );
    } else {
      this.allowList = new IpAllowList(this, "AllowList", {
        allowedIpRanges: props.allowedIpRanges,
        scope: "REGIONAL",
      });
      new wafv2.CfnWebACLAssociation(this, "AllowListAssociation", {
        resourceArn: this.loadBalancer.loadBalancerArn,
        webAclArn: this.allowList.webAclArn,
      });
    }
    const host = props.loadBalancerDomainName ?? this.loadBalancer.loadBalancerDnsName;
    this.url = `${https ? "https" : "http"}://${host}`;
  }

  /** CloudFront's distribution (with `cdn`). */
  public get distribution(): cloudfront.Distribution | undefined {
    return this.cdn?.distribution;
  }
}
