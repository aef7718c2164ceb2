import { Annotations, CfnOutput, Duration, Names, SecretValue, Token, Validations } from "aws-cdk-lib";
import type * as acm from "aws-cdk-lib/aws-certificatemanager";
import * as cloudfront from "aws-cdk-lib/aws-cloudfront";
import * as origins from "aws-cdk-lib/aws-cloudfront-origins";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import { Platform } from "aws-cdk-lib/aws-ecr-assets";
import * as ecs from "aws-cdk-lib/aws-ecs";
import * as elbv2 from "aws-cdk-lib/aws-elasticloadbalancingv2";
import * as logs from "aws-cdk-lib/aws-logs";
import type * as s3 from "aws-cdk-lib/aws-s3";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import * as sns from "aws-cdk-lib/aws-sns";
import * as wafv2 from "aws-cdk-lib/aws-wafv2";
import { Construct } from "constructs";
import { GoMirrorAlarms, type GoMirrorAlarmThresholds, type GoMirrorMetrics } from "./alarms";
import { MirrorCdn } from "./cdn";
import { GoMirrorDashboard } from "./dashboard";
import { findImageDirectory, imageBundleProblem } from "./image-directory";
import { ProxyLogMetrics } from "./log-metrics";
import { CloudFrontOriginPrefixList } from "./origin-prefix-list";
import { nagFindingText } from "./nag-finding";
import { MirrorStorage } from "./storage";
import { IpAllowList } from "./waf";
import { checkProxyEnvironment, ConfigError } from "../proxy/config";

/** The port the proxy listens on inside the container (`GOMIRROR_LISTEN=0.0.0.0:8080`). */
export const CONTAINER_PORT = 8080;

/** The header CloudFront adds to every origin request; the ALB forwards only requests carrying it. */
export const ORIGIN_VERIFY_HEADER = "X-Gomirror-Origin-Verify";

/** Cache time for list, `@latest` and query answers, in the proxy and in CloudFront alike. */
export const DEFAULT_CACHE_TTL = Duration.seconds(60);

/** Shapes of the values only known at deploy time, for checking the proxy's settings at synth. */
const DEPLOY_TIME_STAND_INS: Record<string, string> = {
  GOMIRROR_STORAGE: "s3://deploy-time-bucket/gomirror",
  GOMIRROR_S3_REGION: "us-east-1",
};

/** Environment variables GoMirror sets itself; `environment` may not override them. */
const MANAGED_ENVIRONMENT = ["GOMIRROR_LISTEN", "GOMIRROR_STORAGE", "GOMIRROR_S3_REGION", "GOMIRROR_NETRC"];

export interface GoMirrorProps {
  // ---- network and compute -------------------------------------------------------------

  /**
   * The VPC for the load balancer and the tasks. Ignored when `cluster` is given (its VPC is used).
   *
   * @default - a new VPC over 2 availability zones, one NAT gateway, and an S3 gateway endpoint
   */
  readonly vpc?: ec2.IVpc;

  /**
   * The ECS cluster to run in.
   *
   * @default - a new cluster in the VPC, with Container Insights
   */
  readonly cluster?: ecs.ICluster;

  /**
   * The proxy's container image.
   *
   * @default - built at deploy time from the gomirror package's own `image/` directory
   *   (for linux/amd64); build the server bundle first, see docs/aws.md
   */
  readonly image?: ecs.ContainerImage;

  /**
   * Fargate CPU units per task.
   *
   * @default 512
   */
  readonly cpu?: number;

  /**
   * Fargate memory per task, in MiB.
   *
   * @default 1024
   */
  readonly memoryLimitMiB?: number;

  /**
   * The task count written into the template. Every deployment resets the service to it, so
   * leave it unset to let autoscaling alone decide.
   *
   * @default - not set: CloudFormation starts one task, autoscaling raises it to minCapacity,
   *   and updates keep whatever count autoscaling chose
   */
  readonly desiredCount?: number;

  /**
   * The fewest tasks autoscaling keeps.
   *
   * @default 2
   */
  readonly minCapacity?: number;

  /**
   * The most tasks autoscaling starts.
   *
   * @default - 6, or minCapacity when that is larger
   */
  readonly maxCapacity?: number;

  /**
   * Average CPU utilisation that CPU target tracking aims for, in percent.
   *
   * @default 60
   */
  readonly targetCpuUtilizationPercent?: number;

  /**
   * Requests per task per minute that request-count target tracking aims for.
   *
   * @default 3000
   */
  readonly requestsPerTarget?: number;

  // ---- the proxy -------------------------------------------------------------------------

  /**
   * The upstream GOPROXY list, joined with `,` (an entry may itself contain `|`), for example
   * `["https://proxy.golang.org", "direct"]`.
   *
   * @default - the proxy's default, `https://proxy.golang.org,direct`
   */
  readonly upstreams?: string[];

  /**
   * GOPRIVATE glob patterns: modules fetched straight from their VCS and kept out of the
   * checksum database.
   *
   * @default - none
   */
  readonly privatePatterns?: string[];

  /**
   * GONOPROXY glob patterns (fetched from VCS, still checked against the checksum database).
   *
   * @default - none
   */
  readonly noProxy?: string[];

  /**
   * GOSUMDB: the checksum database to verify against, or `off`.
   *
   * @default - the proxy's default, `sum.golang.org`
   */
  readonly sumdb?: string;

  /**
   * GONOSUMDB glob patterns.
   *
   * @default - none
   */
  readonly noSumdb?: string[];

  /**
   * How long list, `@latest` and query answers are cached, by the proxy and by CloudFront.
   *
   * @default Duration.seconds(60)
   */
  readonly cacheTtl?: Duration;

  /**
   * Timeout for one request to an upstream.
   *
   * @default - the proxy's default
   */
  readonly upstreamTimeout?: Duration;

  /**
   * Git URL rewrites (`GOMIRROR_GIT_REWRITE`), from prefix to replacement.
   *
   * @default - none
   */
  readonly gitRewrite?: Record<string, string>;

  /**
   * `GOMIRROR_LOG_LEVEL`.
   *
   * @default - the proxy's default
   */
  readonly logLevel?: string;

  /**
   * More environment variables for the proxy. Cannot override GOMIRROR_LISTEN, GOMIRROR_STORAGE,
   * GOMIRROR_S3_REGION or GOMIRROR_NETRC.
   *
   * @default - none
   */
  readonly environment?: Record<string, string>;

  /**
   * A Secrets Manager secret holding a netrc file for private git hosts, passed to the proxy as
   * `GOMIRROR_NETRC`.
   *
   * @default - when `privatePatterns` or `noProxy` is set, a secret is created holding a
   *   placeholder netrc (for `example.invalid`) to replace with `aws secretsmanager
   *   put-secret-value`; otherwise none
   */
  readonly gitCredentials?: secretsmanager.ISecret;

  /**
   * Answer `.zip` requests with a 302 redirect to a presigned S3 URL instead of streaming them
   * through the task (`GOMIRROR_ZIP_REDIRECT=true`). Clients then download from S3 directly,
   * outside CloudFront and the WAF allowlist, holding a URL that expires.
   *
   * @default false
   */
  readonly zipRedirect?: boolean;

  // ---- storage ---------------------------------------------------------------------------

  /**
   * A bucket to keep the module cache in. Give this or `bucketProps`, not both.
   *
   * @default - a new bucket (see `bucketProps`)
   */
  readonly existingBucket?: s3.IBucket;

  /**
   * Settings for a new bucket, over the secure defaults (private, S3-managed encryption,
   * TLS-only, retained on delete, a lifecycle rule aborting incomplete multipart uploads).
   * `versioned: true` turns on versioning.
   *
   * @default - the secure defaults
   */
  readonly bucketProps?: s3.BucketProps;

  /**
   * The key prefix in the bucket; the task role is confined to it.
   *
   * @default "gomirror"
   */
  readonly storagePrefix?: string;

  /**
   * When S3 deletes the parts of an interrupted multipart upload.
   *
   * @default Duration.days(1)
   */
  readonly abortIncompleteUploadsAfter?: Duration;

  // ---- logs and monitoring ---------------------------------------------------------------

  /**
   * How long the proxy's logs are kept.
   *
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * The SNS topic alarms notify.
   *
   * @default - a new topic (subscribe to it after deploying)
   */
  readonly alarmTopic?: sns.ITopic;

  /**
   * Alarm thresholds.
   *
   * @default - see GoMirrorAlarmThresholds
   */
  readonly alarmThresholds?: GoMirrorAlarmThresholds;

  /**
   * The CloudWatch namespace for the metrics taken from the proxy's logs.
   *
   * @default - "GoMirror/" followed by this construct's unique id
   */
  readonly metricNamespace?: string;

  /**
   * The dashboard's name.
   *
   * @default - generated
   */
  readonly dashboardName?: string;

  // ---- the edge --------------------------------------------------------------------------

  /**
   * Put CloudFront in front of the load balancer. Without it, the load balancer answers
   * clients directly.
   *
   * @default true
   */
  readonly cdn?: boolean;

  /**
   * A CLOUDFRONT-scope WebACL for the distribution, for instance `GoMirrorWafStack.webAclArn`
   * (it must be in us-east-1). Only with `cdn`.
   *
   * @default - no WebACL
   */
  readonly webAclArn?: string;

  /**
   * Without `cdn`: the client ranges (IPv4 and IPv6 CIDRs) a regional WebACL on the load
   * balancer allows; everything else is blocked. With `cdn`, use GoMirrorWafStack and
   * `webAclArn` instead.
   *
   * @default - no WebACL
   */
  readonly allowedIpRanges?: string[];

  /**
   * The id of the `com.amazonaws.global.cloudfront.origin-facing` prefix list in this region,
   * which the load balancer's security group admits. Only with `cdn`.
   *
   * @default - looked up at deploy time by a custom resource (synth stays offline)
   */
  readonly originPrefixListId?: string;

  /**
   * A certificate for an HTTPS listener on the load balancer. With `cdn`, CloudFront then
   * connects over HTTPS to `loadBalancerDomainName`; without it, clients use HTTPS and port 80
   * redirects to 443.
   *
   * @default - plain HTTP between CloudFront and the load balancer
   */
  readonly certificate?: acm.ICertificate;

  /**
   * A DNS name pointing at the load balancer and covered by `certificate` (create the record
   * yourself). Needed with `certificate` and `cdn`: CloudFront checks the origin's
   * certificate against it.
   *
   * @default - the load balancer's own DNS name
   */
  readonly loadBalancerDomainName?: string;

  /**
   * Alternative domain names for the distribution.
   *
   * @default - the distribution's cloudfront.net name
   */
  readonly domainNames?: string[];

  /**
   * An ACM certificate in us-east-1 covering `domainNames`.
   *
   * @default - CloudFront's default certificate
   */
  readonly cdnCertificate?: acm.ICertificate;

  /**
   * CloudFront's price class.
   *
   * @default PriceClass.PRICE_CLASS_100
   */
  readonly priceClass?: cloudfront.PriceClass;
}

/**
 * A private Go module mirror on AWS: the gomirror proxy on ECS Fargate behind an ALB, its
 * cache in S3, CloudFront in front (by default) with cache behaviours by path, an optional WAF
 * IP allowlist, autoscaling, alarms and a dashboard. Every composed part is a public member.
 */
export class GoMirror extends Construct implements GoMirrorMetrics {
  public readonly vpc: ec2.IVpc;
  public readonly cluster: ecs.ICluster;
  public readonly storage: MirrorStorage;
  /** The bucket holding the module cache. */
  public readonly bucket: s3.IBucket;
  public readonly logGroup: logs.LogGroup;
  public readonly taskDefinition: ecs.FargateTaskDefinition;
  public readonly container: ecs.ContainerDefinition;
  public readonly service: ecs.FargateService;
  public readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  public readonly listener: elbv2.ApplicationListener;
  public readonly targetGroup: elbv2.ApplicationTargetGroup;
  public readonly scaling: ecs.ScalableTaskCount;
  /** The netrc secret, when there is one. */
  public readonly gitCredentials?: secretsmanager.ISecret;
  /** The random value CloudFront sends in ORIGIN_VERIFY_HEADER (with `cdn`). */
  public readonly originSecret?: secretsmanager.Secret;
  /** CloudFront and its cache policies (with `cdn`). */
  public readonly cdn?: MirrorCdn;
  public readonly distribution?: cloudfront.Distribution;
  /** The regional allowlist on the load balancer (without `cdn`, with `allowedIpRanges`). */
  public readonly allowList?: IpAllowList;
  public readonly logMetrics: ProxyLogMetrics;
  public readonly alarmTopic: sns.ITopic;
  public readonly alarms: GoMirrorAlarms;
  public readonly dashboard: GoMirrorDashboard;
  /** The URL to put in GOPROXY. */
  public readonly url: string;

  constructor(scope: Construct, id: string, props: GoMirrorProps = {}) {
    super(scope, id);
    const useCdn = props.cdn ?? true;
    checkEdgeProps(props, useCdn);
    const capacity = checkCapacity(props);

    // ---- network and cluster ----
    this.cluster =
      props.cluster ??
      new ecs.Cluster(this, "Cluster", {
        vpc: props.vpc ?? this.createVpc(),
        containerInsightsV2: ecs.ContainerInsights.ENABLED,
      });
    this.vpc = this.cluster.vpc;

    // ---- storage ----
    this.storage = new MirrorStorage(this, "Storage", {
      existingBucket: props.existingBucket,
      bucketProps: props.bucketProps,
      prefix: props.storagePrefix,
      abortIncompleteUploadsAfter: props.abortIncompleteUploadsAfter,
    });
    this.bucket = this.storage.bucket;
    if (!props.existingBucket) {
      Validations.of(this.bucket).acknowledge({
        id: "AwsSolutions-S1",
        reason:
          "the proxy logs every request itself (event:request JSON lines in CloudWatch Logs); S3 server access logs would duplicate them",
      });
    }

    // ---- task ----
    this.logGroup = new logs.LogGroup(this, "Logs", {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
    });
    this.taskDefinition = new ecs.FargateTaskDefinition(this, "TaskDef", {
      cpu: props.cpu ?? 512,
      memoryLimitMiB: props.memoryLimitMiB ?? 1024,
      volumes: [{ name: "tmp" }],
    });
    this.gitCredentials =
      props.gitCredentials ??
      (props.privatePatterns?.length || props.noProxy?.length ? this.createGitCredentials() : undefined);
    const cacheTtl = props.cacheTtl ?? DEFAULT_CACHE_TTL;
    this.container = this.taskDefinition.addContainer("Proxy", {
      image: props.image ?? defaultImage(this),
      essential: true,
      readonlyRootFilesystem: true,
      portMappings: [{ containerPort: CONTAINER_PORT, name: "http" }],
      environment: this.proxyEnvironment(props, cacheTtl),
      secrets: this.gitCredentials
        ? { GOMIRROR_NETRC: ecs.Secret.fromSecretsManager(this.gitCredentials) }
        : undefined,
      logging: ecs.LogDrivers.awsLogs({ streamPrefix: "proxy", logGroup: this.logGroup }),
      stopTimeout: Duration.seconds(30),
    });
    if (!props.image) {
      Validations.of(this.taskDefinition.obtainExecutionRole()).acknowledge({
        id: "AwsSolutions-IAM5[Resource::*]",
        reason:
          "pulling the image from the CDK asset repository needs ecr:GetAuthorizationToken, which supports no resource-level permissions",
      });
    }
    // Node and git write temporary files; the module cache itself is in S3.
    this.container.addMountPoints({ sourceVolume: "tmp", containerPath: "/tmp", readOnly: false });
    this.storage.grantReadWrite(this.taskDefinition.taskRole);
    Validations.of(this.taskDefinition).acknowledge(
      {
        id: `AwsSolutions-IAM5[Resource::${nagFindingText(this, this.storage.objectsArn())}]`,
        reason:
          "the proxy reads and writes objects whose keys are module paths and versions, all under its own prefix",
      },
      {
        id: "AwsSolutions-ECS2",
        reason:
          "the proxy's settings are plain configuration (upstreams, patterns, TTLs); credentials come from Secrets Manager",
      },
    );

    // ---- service ----
    this.service = new ecs.FargateService(this, "Service", {
      cluster: this.cluster,
      taskDefinition: this.taskDefinition,
      desiredCount: capacity.desired,
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      circuitBreaker: { enable: true, rollback: true },
      assignPublicIp: false,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      propagateTags: ecs.PropagatedTagSource.SERVICE,
    });

    // ---- load balancer ----
    const https = props.certificate !== undefined;
    const lbSecurityGroup = new ec2.SecurityGroup(this, "LBSecurityGroup", {
      vpc: this.vpc,
      description: "gomirror load balancer",
      allowAllOutbound: false,
    });
    this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, "LB", {
      vpc: this.vpc,
      internetFacing: true,
      securityGroup: lbSecurityGroup,
      dropInvalidHeaderFields: true,
    });
    Validations.of(this.loadBalancer).acknowledge({
      id: "AwsSolutions-ELB2",
      reason:
        "the proxy logs every request itself (event:request JSON lines in CloudWatch Logs); ALB access logs would duplicate them",
    });
    this.targetGroup = new elbv2.ApplicationTargetGroup(this, "Targets", {
      vpc: this.vpc,
      port: CONTAINER_PORT,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targetType: elbv2.TargetType.IP,
      targets: [this.service.loadBalancerTarget({ containerName: "Proxy", containerPort: CONTAINER_PORT })],
      healthCheck: {
        // Readiness, not liveness: a task that cannot reach its storage leaves the target group.
        path: "/readyz",
        healthyHttpCodes: "200",
        interval: Duration.seconds(15),
        timeout: Duration.seconds(5),
        healthyThresholdCount: 2,
        unhealthyThresholdCount: 3,
      },
      deregistrationDelay: Duration.seconds(30),
    });
    this.listener = https
      ? this.loadBalancer.addListener("Https", {
          port: 443,
          protocol: elbv2.ApplicationProtocol.HTTPS,
          certificates: [props.certificate],
          sslPolicy: elbv2.SslPolicy.RECOMMENDED_TLS,
          open: false,
          defaultAction: elbv2.ListenerAction.fixedResponse(403, {
            contentType: "text/plain",
            messageBody: "Forbidden",
          }),
        })
      : this.loadBalancer.addListener("Http", {
          port: 80,
          protocol: elbv2.ApplicationProtocol.HTTP,
          open: false,
          defaultAction: elbv2.ListenerAction.fixedResponse(403, {
            contentType: "text/plain",
            messageBody: "Forbidden",
          }),
        });
    // Prometheus metrics are for scrapers inside the VPC, not for clients.
    this.listener.addAction("HideMetrics", {
      priority: 1,
      conditions: [elbv2.ListenerCondition.pathPatterns(["/metrics", "/metrics/*"])],
      action: elbv2.ListenerAction.fixedResponse(404, {
        contentType: "text/plain",
        messageBody: "Not Found",
      }),
    });
    const listenerPort = https ? 443 : 80;

    if (useCdn) {
      // Only CloudFront can connect, and the ALB forwards only requests carrying the header.
      const prefixListId =
        props.originPrefixListId ?? new CloudFrontOriginPrefixList(this, "OriginPrefixList").prefixListId;
      lbSecurityGroup.addIngressRule(
        ec2.Peer.prefixList(prefixListId),
        ec2.Port.tcp(listenerPort),
        "CloudFront origin-facing addresses",
      );
      this.originSecret = new secretsmanager.Secret(this, "OriginSecret", {
        description: `gomirror: value of the ${ORIGIN_VERIFY_HEADER} header CloudFront sends to the load balancer`,
        generateSecretString: { passwordLength: 48, excludePunctuation: true },
      });
      Validations.of(this.originSecret).acknowledge({
        id: "AwsSolutions-SMG4",
        reason:
          "the value is written into the CloudFront origin and the ALB rule at deploy time; rotating it means a redeploy, not a rotation Lambda",
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
        queryTtl: cacheTtl,
        zipRedirect: props.zipRedirect ?? false,
        webAclArn: props.webAclArn,
        domainNames: props.domainNames,
        certificate: props.cdnCertificate,
        priceClass: props.priceClass,
      });
      this.distribution = this.cdn.distribution;
      this.acknowledgeCdnFindings(props);
      const host = props.domainNames?.[0] ?? this.distribution.distributionDomainName;
      this.url = `https://${host}`;
    } else {
      this.listener.addAction("Proxy", {
        priority: 10,
        conditions: [elbv2.ListenerCondition.pathPatterns(["/*"])],
        action: elbv2.ListenerAction.forward([this.targetGroup]),
      });
      lbSecurityGroup.addIngressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(listenerPort), "gomirror clients");
      if (https) {
        this.loadBalancer.addRedirect({ sourcePort: 80, targetPort: 443 });
        lbSecurityGroup.addIngressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(80), "redirect to HTTPS");
      }
      if (!props.allowedIpRanges) {
        Annotations.of(this).addWarningV2(
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
        Validations.of(lbSecurityGroup).acknowledge({
          id: "AwsSolutions-EC23",
          reason:
            "the load balancer is the mirror's public endpoint; the WAF IP allowlist on it decides who gets in",
        });
      }
      const host = props.loadBalancerDomainName ?? this.loadBalancer.loadBalancerDnsName;
      this.url = `${https ? "https" : "http"}://${host}`;
    }

    // ---- autoscaling ----
    this.scaling = this.service.autoScaleTaskCount({ minCapacity: capacity.min, maxCapacity: capacity.max });
    this.scaling.scaleOnCpuUtilization("Cpu", {
      targetUtilizationPercent: props.targetCpuUtilizationPercent ?? 60,
    });
    this.scaling.scaleOnRequestCount("Requests", {
      requestsPerTarget: props.requestsPerTarget ?? 3000,
      targetGroup: this.targetGroup,
    });

    // ---- monitoring ----
    this.logMetrics = new ProxyLogMetrics(this, "LogMetrics", {
      logGroup: this.logGroup,
      namespace: props.metricNamespace ?? `GoMirror/${Names.uniqueId(this)}`,
    });
    this.alarmTopic = props.alarmTopic ?? this.createAlarmTopic();
    this.alarms = new GoMirrorAlarms(this, "Alarms", {
      metrics: this,
      topic: this.alarmTopic,
      thresholds: props.alarmThresholds,
    });
    this.dashboard = new GoMirrorDashboard(this, "Dashboard", {
      metrics: this,
      alarms: this.alarms,
      dashboardName: props.dashboardName,
    });

    new CfnOutput(this, "GoproxyUrl", {
      value: this.url,
      description: "Put this in GOPROXY (for example GOPROXY=<url>,direct)",
    });
  }

  // ---- metrics ---------------------------------------------------------------------------

  public metricRequestCount(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.loadBalancer.metrics.requestCount({ period: Duration.minutes(1), ...props });
  }

  /** 5xx answers from the targets and from the load balancer itself. */
  public metric5xxCount(props?: cloudwatch.MetricOptions): cloudwatch.IMetric {
    return new cloudwatch.MathExpression({
      expression: "FILL(target5xx, 0) + FILL(elb5xx, 0)",
      usingMetrics: {
        target5xx: this.loadBalancer.metrics.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, props),
        elb5xx: this.loadBalancer.metrics.httpCodeElb(elbv2.HttpCodeElb.ELB_5XX_COUNT, props),
      },
      label: "5xx answers",
      period: props?.period ?? Duration.minutes(1),
    });
  }

  public metric5xxRate(props?: cloudwatch.MathExpressionOptions): cloudwatch.IMetric {
    const period = props?.period ?? Duration.minutes(1);
    return new cloudwatch.MathExpression({
      expression: "IF(requests > 0, 100 * (FILL(target5xx, 0) + FILL(elb5xx, 0)) / requests, 0)",
      usingMetrics: {
        requests: this.loadBalancer.metrics.requestCount({ period }),
        target5xx: this.loadBalancer.metrics.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, {
          period,
        }),
        elb5xx: this.loadBalancer.metrics.httpCodeElb(elbv2.HttpCodeElb.ELB_5XX_COUNT, { period }),
      },
      label: "5xx rate (%)",
      ...props,
      period,
    });
  }

  public metricLatencyP99(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.targetGroup.metrics.targetResponseTime({
      statistic: "p99",
      period: Duration.minutes(1),
      ...props,
    });
  }

  public metricUnhealthyHosts(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.targetGroup.metrics.unhealthyHostCount({
      statistic: "Maximum",
      period: Duration.minutes(1),
      ...props,
    });
  }

  public metricHealthyHosts(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.targetGroup.metrics.healthyHostCount({
      statistic: "Minimum",
      period: Duration.minutes(1),
      ...props,
    });
  }

  public metricCpuUtilization(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.service.metricCpuUtilization({ period: Duration.minutes(5), ...props });
  }

  public metricMemoryUtilization(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.service.metricMemoryUtilization({ period: Duration.minutes(5), ...props });
  }

  public metricUpstreamErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.logMetrics.metricUpstreamErrors(props);
  }

  public metricChecksumMismatches(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.logMetrics.metricChecksumMismatches(props);
  }

  // ---- parts -----------------------------------------------------------------------------

  private createVpc(): ec2.Vpc {
    const vpc = new ec2.Vpc(this, "Vpc", {
      maxAzs: 2,
      natGateways: 1,
      // Cache traffic to S3 stays off the NAT gateway.
      gatewayEndpoints: { S3: { service: ec2.GatewayVpcEndpointAwsService.S3 } },
    });
    Validations.of(vpc).acknowledge({
      id: "AwsSolutions-VPC7",
      reason:
        "this VPC carries only the mirror, whose requests the proxy logs itself; pass your own vpc to have flow logs",
    });
    return vpc;
  }

  private createGitCredentials(): secretsmanager.Secret {
    const secret = new secretsmanager.Secret(this, "GitCredentials", {
      description: "gomirror: netrc for private git hosts (replace the placeholder with put-secret-value)",
      // A harmless placeholder: example.invalid never resolves. The template never changes it,
      // so a value set later with put-secret-value survives redeploys.
      secretStringValue: SecretValue.unsafePlainText("machine example.invalid login none password none\n"),
    });
    Validations.of(secret).acknowledge({
      id: "AwsSolutions-SMG4",
      reason:
        "the netrc holds tokens issued by a git host, which Secrets Manager cannot rotate; rotate them at the host",
    });
    return secret;
  }

  private createAlarmTopic(): sns.Topic {
    const topic = new sns.Topic(this, "AlarmTopic", { displayName: "gomirror alarms", enforceSSL: true });
    Validations.of(topic).acknowledge({
      id: "AwsSolutions-SNS2",
      reason:
        "CloudWatch alarms cannot publish to a topic encrypted with the AWS managed SNS key, and the notifications carry no secrets",
    });
    return topic;
  }

  private proxyEnvironment(props: GoMirrorProps, cacheTtl: Duration): Record<string, string> {
    const env: Record<string, string> = {
      GOMIRROR_LISTEN: `0.0.0.0:${CONTAINER_PORT}`,
      GOMIRROR_STORAGE: this.storage.storageUrl,
      GOMIRROR_S3_REGION: this.bucket.env.region,
      GOMIRROR_CACHE_TTL: String(cacheTtl.toSeconds()),
    };
    const list = (name: string, values: string[] | undefined) => {
      if (values?.length) env[name] = values.join(",");
    };
    list("GOPROXY", props.upstreams);
    list("GOPRIVATE", props.privatePatterns);
    list("GONOPROXY", props.noProxy);
    if (props.sumdb !== undefined) env.GOSUMDB = props.sumdb;
    list("GONOSUMDB", props.noSumdb);
    if (props.upstreamTimeout) env.GOMIRROR_UPSTREAM_TIMEOUT = String(props.upstreamTimeout.toSeconds());
    if (props.gitRewrite) {
      list(
        "GOMIRROR_GIT_REWRITE",
        Object.entries(props.gitRewrite).map(([from, to]) => `${from}=${to}`),
      );
    }
    if (props.logLevel) env.GOMIRROR_LOG_LEVEL = props.logLevel;
    if (props.zipRedirect) env.GOMIRROR_ZIP_REDIRECT = "true";
    for (const [name, value] of Object.entries(props.environment ?? {})) {
      if (MANAGED_ENVIRONMENT.includes(name)) {
        throw new Error(
          `GoMirror: environment.${name} is set by GoMirror itself; use the matching prop (storage, gitCredentials) instead`,
        );
      }
      env[name] = value;
    }
    // Deploy-time values (the bucket, the region) are replaced by stand-ins of the same shape.
    const known: Record<string, string> = {};
    for (const [name, value] of Object.entries(env)) {
      if (!Token.isUnresolved(value)) known[name] = value;
      else if (name in DEPLOY_TIME_STAND_INS) known[name] = DEPLOY_TIME_STAND_INS[name]!;
    }
    try {
      checkProxyEnvironment(known);
    } catch (err) {
      if (err instanceof ConfigError)
        throw new Error(`GoMirror: the proxy would refuse its settings: ${err.message}`);
      throw err;
    }
    return env;
  }

  private acknowledgeCdnFindings(props: GoMirrorProps): void {
    const distribution = this.distribution;
    if (!distribution) return;
    const acks = [
      {
        id: "AwsSolutions-CFR1",
        reason: "who may use the mirror is decided by the WAF IP allowlist (webAclArn), not by country",
      },
      {
        id: "AwsSolutions-CFR3",
        reason:
          "the proxy logs every request itself (event:request JSON lines in CloudWatch Logs); CloudFront access logs would duplicate them",
      },
    ];
    if (!props.webAclArn) {
      acks.push({
        id: "AwsSolutions-CFR2",
        reason:
          "no IP allowlist was asked for; deploy GoMirrorWafStack and pass its webAclArn to restrict access",
      });
    }
    if (!props.cdnCertificate) {
      acks.push({
        id: "AwsSolutions-CFR4",
        reason:
          "the default cloudfront.net certificate allows only CloudFront's default TLS policy; pass cdnCertificate for TLS 1.2+",
      });
    }
    if (!props.certificate) {
      acks.push({
        id: "AwsSolutions-CFR5",
        reason:
          "CloudFront reaches the ALB over HTTP on a port admitted only from CloudFront's origin-facing prefix list, with a secret header; pass certificate for HTTPS",
      });
    }
    Validations.of(distribution).acknowledge(...acks);
  }
}

/** Checks the props that only make sense with or without CloudFront. */
function checkEdgeProps(props: GoMirrorProps, useCdn: boolean): void {
  if (useCdn && props.allowedIpRanges) {
    throw new Error(
      "GoMirror: allowedIpRanges is for a mirror without CloudFront (cdn: false); with CloudFront, " +
        "deploy GoMirrorWafStack in us-east-1 with those ranges and pass its webAclArn",
    );
  }
  if (!useCdn) {
    for (const name of [
      "webAclArn",
      "originPrefixListId",
      "domainNames",
      "cdnCertificate",
      "priceClass",
    ] as const) {
      if (props[name] !== undefined) {
        throw new Error(
          `GoMirror: ${name} configures CloudFront, but cdn is false; remove it or drop cdn: false`,
        );
      }
    }
  }
  if (useCdn && props.certificate && !props.loadBalancerDomainName) {
    throw new Error(
      "GoMirror: certificate with CloudFront needs loadBalancerDomainName, a DNS name for the load balancer " +
        "covered by the certificate (CloudFront checks the origin's certificate against it)",
    );
  }
}

/** Validates min / max / desired task counts. */
function checkCapacity(props: GoMirrorProps): { min: number; max: number; desired?: number } {
  const min = props.minCapacity ?? 2;
  const max = props.maxCapacity ?? Math.max(6, min);
  for (const [name, value] of [
    ["minCapacity", min],
    ["maxCapacity", max],
  ] as const) {
    if (!Token.isUnresolved(value) && (!Number.isInteger(value) || value < 1)) {
      throw new Error(`GoMirror: ${name} must be a whole number of tasks, at least 1; got ${value}`);
    }
  }
  if (min > max) {
    throw new Error(
      `GoMirror: minCapacity (${min}) is greater than maxCapacity (${max}); raise maxCapacity or lower minCapacity`,
    );
  }
  const desired = props.desiredCount;
  if (desired !== undefined && (desired < min || desired > max)) {
    throw new Error(
      `GoMirror: desiredCount (${desired}) must be between minCapacity (${min}) and maxCapacity (${max})`,
    );
  }
  return { min, max, desired };
}

/** The image built from the package's own Dockerfile; warns at synth when its bundle is missing. */
function defaultImage(scope: Construct): ecs.ContainerImage {
  const directory = findImageDirectory();
  const problem = imageBundleProblem(directory);
  if (problem) Annotations.of(scope).addWarningV2("gomirror:missing-bundle", problem);
  return ecs.ContainerImage.fromAsset(directory, { platform: Platform.LINUX_AMD64 });
}
