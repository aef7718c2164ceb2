import { Annotations, CfnOutput, Duration, Names, SecretValue, Stack, Token } from "aws-cdk-lib";
import type * as cloudfront from "aws-cdk-lib/aws-cloudfront";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import { Platform } from "aws-cdk-lib/aws-ecr-assets";
import * as ecs from "aws-cdk-lib/aws-ecs";
import type * as elbv2 from "aws-cdk-lib/aws-elasticloadbalancingv2";
import * as logs from "aws-cdk-lib/aws-logs";
import type * as s3 from "aws-cdk-lib/aws-s3";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import * as sns from "aws-cdk-lib/aws-sns";
import { Construct } from "constructs";
import { CONTAINER_PORT, IMAGE_ENVIRONMENT, PORT_NAME, TMP_DIR } from "../image-contract";
import { ConfigError, durationSeconds, type DurationValue } from "../proxy/settings/kinds";
import { toEnvironment } from "../proxy/settings/environment";
import { SCHEMA } from "../proxy/settings/schema";
import { GoMirrorAlarms } from "./alarms";
import { MirrorCdn } from "./cdn";
import { checkCapacity, checkExposure } from "./checks";
import { GoMirrorDashboard } from "./dashboard";
import { MirrorEdge } from "./edge";
import { findImageDirectory, imageBundleProblem } from "./image-directory";
import { ProxyLogMetrics } from "./log-metrics";
import { GoMirrorMetrics } from "./metrics";
import { acknowledgeNagFindings } from "./nag";
import type { GoMirrorProps } from "./props";
import { MirrorStorage } from "./storage";
import { MirrorSync } from "./sync";
import type { GoMirrorWafStack, IpAllowList } from "./waf";

/** Cache time for list, `@latest` and query answers, in the proxy and in CloudFront alike. */
export const DEFAULT_CACHE_TTL = Duration.seconds(60);

/** Shapes of the values only known at deploy time, for checking the proxy's settings at synth. */
const DEPLOY_TIME_STAND_INS: Record<string, string> = {
  [SCHEMA.storage.env]: "s3://deploy-time-bucket/gomirror",
  [SCHEMA.s3Region.env]: "us-east-1",
  [SCHEMA.trustedProxies.env]: "10.0.0.0/16",
  [SCHEMA.authSecret.env]: "arn:aws:secretsmanager:us-east-1:111111111111:secret:gomirror-tokens-AbCdEf",
};

/**
 * A private Go module mirror on AWS: the gomirror proxy on ECS Fargate behind an ALB, its
 * cache in S3, CloudFront in front (by default) with cache behaviours by path, an optional WAF
 * IP allowlist, autoscaling, alarms and a dashboard. Every composed part is a public member.
 */
export class GoMirror extends Construct {
  public readonly vpc: ec2.IVpc;
  public readonly cluster: ecs.ICluster;
  public readonly storage: MirrorStorage;
  /** The bucket holding the module cache. */
  public readonly bucket: s3.IBucket;
  public readonly logGroup: logs.LogGroup;
  public readonly taskDefinition: ecs.FargateTaskDefinition;
  public readonly container: ecs.ContainerDefinition;
  public readonly service: ecs.FargateService;
  /** The load balancer, its listener and target group, and CloudFront or the allowlist. */
  public readonly edge: MirrorEdge;
  public readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  public readonly listener: elbv2.ApplicationListener;
  public readonly targetGroup: elbv2.ApplicationTargetGroup;
  public readonly scaling: ecs.ScalableTaskCount;
  /** The netrc secret, when there is one. */
  public readonly gitCredentials?: secretsmanager.ISecret;
  /** The random value CloudFront sends to the load balancer (with `cdn`). */
  public readonly originSecret?: secretsmanager.Secret;
  /** CloudFront and its cache policies (with `cdn`). */
  public readonly cdn?: MirrorCdn;
  public readonly distribution?: cloudfront.Distribution;
  /** The WAF allowlist made from `allowedIpRanges` (CloudFront's or the load balancer's). */
  public readonly allowList?: IpAllowList;
  /** The us-east-1 stack holding CloudFront's allowlist, when the mirror's stack is elsewhere. */
  public readonly wafStack?: GoMirrorWafStack;
  /** The secret holding the client token file (with `auth`). */
  public readonly tokens?: secretsmanager.ISecret;
  public readonly logMetrics: ProxyLogMetrics;
  /** The metric factory: every signal the alarms and the dashboard use. */
  public readonly metrics: GoMirrorMetrics;
  public readonly alarmTopic: sns.ITopic;
  public readonly alarms: GoMirrorAlarms;
  public readonly dashboard: GoMirrorDashboard;
  /** The URL to put in GOPROXY. */
  public readonly url: string;
  /** The scheduled `gomirror sync` task (with `sync`). */
  public readonly sync?: MirrorSync;

  constructor(scope: Construct, id: string, props: GoMirrorProps = {}) {
    super(scope, id);
    const exposure = checkExposure(props);
    const capacity = checkCapacity(props);
    if (props.publicAccess) {
      Annotations.of(this).addWarningV2(
        "gomirror:public-access",
        "publicAccess: anyone who can reach the mirror can use it",
      );
    }
    const cacheTtl = props.cacheTtl ?? DEFAULT_CACHE_TTL;

    const createdVpc = props.cluster || props.vpc ? undefined : this.createVpc();
    this.cluster =
      props.cluster ??
      new ecs.Cluster(this, "Cluster", {
        vpc: props.vpc ?? createdVpc,
        containerInsightsV2: ecs.ContainerInsights.ENABLED,
      });
    this.vpc = this.cluster.vpc;

    this.storage = new MirrorStorage(this, "Storage", {
      existingBucket: props.existingBucket,
      bucketProps: props.bucketProps,
      prefix: props.storagePrefix,
      abortIncompleteUploadsAfter: props.abortIncompleteUploadsAfter,
      intelligentTiering: props.intelligentTiering,
      expireUnrequestedAfter: props.expireUnrequestedAfter,
    });
    this.bucket = this.storage.bucket;

    this.logGroup = new logs.LogGroup(this, "Logs", {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
    });
    this.taskDefinition = new ecs.FargateTaskDefinition(this, "TaskDef", {
      cpu: props.cpu ?? 512,
      memoryLimitMiB: props.memoryLimitMiB ?? 1024,
      volumes: [{ name: "tmp" }],
    });
    const createdGitCredentials =
      props.gitCredentials || !(props.privatePatterns?.length || props.noProxy?.length)
        ? undefined
        : this.createGitCredentials();
    this.gitCredentials = props.gitCredentials ?? createdGitCredentials;
    const createdTokens = props.auth && !props.auth.tokens ? this.createTokens() : undefined;
    this.tokens = props.auth?.tokens ?? createdTokens;
    const image = props.image ?? defaultImage(this);
    this.container = this.taskDefinition.addContainer("Proxy", {
      image,
      essential: true,
      readonlyRootFilesystem: true,
      portMappings: [{ containerPort: CONTAINER_PORT, name: PORT_NAME }],
      environment: this.proxyEnvironment(props, cacheTtl),
      secrets: this.gitCredentials
        ? { [SCHEMA.netrc.env]: ecs.Secret.fromSecretsManager(this.gitCredentials) }
        : undefined,
      logging: ecs.LogDrivers.awsLogs({ streamPrefix: "proxy", logGroup: this.logGroup }),
      stopTimeout: Duration.seconds(30),
    });
    // Zips are spooled and checked in the scratch directory; the module cache itself is in S3.
    this.container.addMountPoints({ sourceVolume: "tmp", containerPath: TMP_DIR, readOnly: false });
    this.storage.grantReadWrite(this.taskDefinition.taskRole);
    // The proxy reads the token file itself, again and again: a new token needs no new task.
    this.tokens?.grantRead(this.taskDefinition.taskRole);

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

    // "Default" keeps the edge's resources where they were before it became a construct of its
    // own: CDK leaves that id out of logical ids, so no resource is replaced.
    this.edge = new MirrorEdge(this, "Default", {
      vpc: this.vpc,
      service: this.service,
      containerName: this.container.containerName,
      cdn: exposure.cdn,
      internal: exposure.internal,
      clientTokens: props.auth !== undefined,
      queryTtl: Duration.seconds(durationSeconds(cacheTtl, "cacheTtl")),
      zipRedirect: props.zipRedirect ?? false,
      webAclArn: props.webAclArn,
      allowedIpRanges: props.allowedIpRanges,
      allowedSecurityGroups: props.allowedSecurityGroups,
      originPrefixListId: props.originPrefixListId,
      certificate: props.certificate,
      loadBalancerDomainName: props.loadBalancerDomainName,
      domainNames: props.domainNames,
      cdnCertificate: props.cdnCertificate,
      priceClass: props.priceClass,
    });
    this.loadBalancer = this.edge.loadBalancer;
    this.listener = this.edge.listener;
    this.targetGroup = this.edge.targetGroup;
    this.originSecret = this.edge.originSecret;
    this.cdn = this.edge.cdn;
    this.distribution = this.edge.distribution;
    this.allowList = this.edge.allowList;
    this.wafStack = this.edge.wafStack;
    this.url = this.edge.url;

    this.scaling = this.service.autoScaleTaskCount({ minCapacity: capacity.min, maxCapacity: capacity.max });
    this.scaling.scaleOnCpuUtilization("Cpu", {
      targetUtilizationPercent: props.targetCpuUtilizationPercent ?? 60,
    });
    this.scaling.scaleOnRequestCount("Requests", {
      requestsPerTarget: props.requestsPerTarget ?? 3000,
      targetGroup: this.targetGroup,
    });

    this.logMetrics = new ProxyLogMetrics(this, "LogMetrics", {
      logGroup: this.logGroup,
      namespace: props.metricNamespace ?? `GoMirror/${Names.uniqueId(this)}`,
    });
    this.metrics = new GoMirrorMetrics({
      loadBalancer: this.loadBalancer,
      targetGroup: this.targetGroup,
      service: this.service,
      logMetrics: this.logMetrics,
    });
    const createdAlarmTopic = props.alarmTopic ? undefined : this.createAlarmTopic();
    this.alarmTopic = props.alarmTopic ?? createdAlarmTopic!;
    this.alarms = new GoMirrorAlarms(this, "Alarms", {
      metrics: this.metrics,
      topic: this.alarmTopic,
      thresholds: props.alarmThresholds,
    });
    this.dashboard = new GoMirrorDashboard(this, "Dashboard", {
      metrics: this.metrics,
      alarms: this.alarms,
      dashboardName: props.dashboardName,
    });

    if (props.sync) {
      this.sync = new MirrorSync(this, "Sync", {
        ...props.sync,
        cluster: this.cluster,
        image,
        environment: this.proxyEnvironment(props, cacheTtl),
        storage: this.storage,
        logGroup: this.logGroup,
      });
    }

    acknowledgeNagFindings({
      props,
      createdVpc,
      storage: this.storage,
      taskDefinition: this.taskDefinition,
      edge: this.edge,
      createdGitCredentials,
      createdTokens,
      createdAlarmTopic,
      sync: this.sync,
    });

    const output = new CfnOutput(this, "GoproxyUrl", {
      value: this.url,
      description: "Put this in GOPROXY",
    });
    // A name people can find in `cdk deploy`'s output and scripts can read: the construct's path
    // in its stack (unique there) followed by GoproxyUrl, e.g. "MirrorGoproxyUrl".
    output.overrideLogicalId(`${stackRelativeName(this)}GoproxyUrl`);
  }

  private createVpc(): ec2.Vpc {
    return new ec2.Vpc(this, "Vpc", {
      maxAzs: 2,
      natGateways: 1,
      // Cache traffic to S3 stays off the NAT gateway.
      gatewayEndpoints: { S3: { service: ec2.GatewayVpcEndpointAwsService.S3 } },
    });
  }

  private createGitCredentials(): secretsmanager.Secret {
    return new secretsmanager.Secret(this, "GitCredentials", {
      description: "gomirror: netrc for private git hosts (replace the placeholder with put-secret-value)",
      // A harmless placeholder: example.invalid never resolves. The template never changes it,
      // so a value set later with put-secret-value survives redeploys.
      secretStringValue: SecretValue.unsafePlainText("machine example.invalid login none password none\n"),
    });
  }

  private createTokens(): secretsmanager.Secret {
    return new secretsmanager.Secret(this, "Tokens", {
      description: "gomirror: client token file (gomirror token add --file, then put-secret-value)",
      // No token yet: the proxy admits nobody until one is added. The template never changes
      // the value, so tokens put later survive redeploys.
      secretStringValue: SecretValue.unsafePlainText(
        "# gomirror client tokens: add with `gomirror token add --file F --name NAME`, then put-secret-value\n",
      ),
    });
  }

  private createAlarmTopic(): sns.Topic {
    return new sns.Topic(this, "AlarmTopic", { displayName: "gomirror alarms", enforceSSL: true });
  }

  /**
   * The container's environment: the image's address, the bucket, the cache time (which
   * CloudFront shares, so the construct owns it), then the other proxy settings.
   */
  private proxyEnvironment(props: GoMirrorProps, cacheTtl: DurationValue): Record<string, string> {
    try {
      return toEnvironment(
        { ...props, cacheTtl: undefined },
        {
          construct: "GoMirror",
          managed: {
            [SCHEMA.listen.env]: IMAGE_ENVIRONMENT[SCHEMA.listen.env]!,
            [SCHEMA.storage.env]: this.storage.storageUrl,
            [SCHEMA.s3Region.env]: this.bucket.env.region,
            [SCHEMA.cacheTtlSeconds.env]: String(durationSeconds(cacheTtl, "cacheTtl")),
            // Requests arrive through the load balancer, whose X-Forwarded-For names the client.
            [SCHEMA.trustedProxies.env]: this.vpc.vpcCidrBlock,
            ...(this.tokens ? { [SCHEMA.authSecret.env]: this.tokens.secretArn } : {}),
            // The bucket's expiry rule counts from the last write: served objects are renewed.
            ...(this.storage.expiresUnrequested ? { [SCHEMA.s3LastRequested.env]: "true" } : {}),
          },
          isUnresolved: (value) => Token.isUnresolved(value),
          standIns: DEPLOY_TIME_STAND_INS,
        },
      );
    } catch (err) {
      if (err instanceof ConfigError) throw new Error(`GoMirror: ${err.message}`);
      throw err;
    }
  }
}

/** The construct's path inside its stack, letters and digits only ("Mirror", "TeamMirror"). */
function stackRelativeName(scope: Construct): string {
  const stackPath = Stack.of(scope).node.path;
  return scope.node.path.slice(stackPath.length).replace(/[^A-Za-z0-9]/g, "");
}

/** The image built from the package's own Dockerfile; warns at synth when its bundle is missing. */
function defaultImage(scope: Construct): ecs.ContainerImage {
  const directory = findImageDirectory();
  const problem = imageBundleProblem(directory);
  if (problem) Annotations.of(scope).addWarningV2("gomirror:missing-bundle", problem);
  return ecs.ContainerImage.fromAsset(directory, { platform: Platform.LINUX_AMD64 });
}
