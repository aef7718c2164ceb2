import type * as acm from "aws-cdk-lib/aws-certificatemanager";
import type * as cloudfront from "aws-cdk-lib/aws-cloudfront";
import type * as ec2 from "aws-cdk-lib/aws-ec2";
import type * as ecs from "aws-cdk-lib/aws-ecs";
import type * as logs from "aws-cdk-lib/aws-logs";
import type * as s3 from "aws-cdk-lib/aws-s3";
import type * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import type * as sns from "aws-cdk-lib/aws-sns";
import type { Duration } from "aws-cdk-lib";
import type { ProxySettings } from "../proxy/settings/props";
import type { GoMirrorAlarmThresholds } from "./alarms";
import type { GoMirrorSyncOptions } from "./sync";

/**
 * The props of `GoMirror`: the proxy's settings (`ProxySettings`, shared with the Kubernetes
 * construct), then the AWS parts: network and compute, storage, monitoring, and the edge.
 */
export interface GoMirrorProps extends ProxySettings {
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

  // ---- the proxy (its settings come from ProxySettings) -------------------------------

  /**
   * A Secrets Manager secret holding a netrc file for private git hosts, passed to the proxy as
   * `GOMIRROR_NETRC`.
   *
   * @default - when `privatePatterns` or `noProxy` is set, a secret is created holding a
   *   placeholder netrc (for `example.invalid`) to replace with `aws secretsmanager
   *   put-secret-value`; otherwise none
   */
  readonly gitCredentials?: secretsmanager.ISecret;

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

  /**
   * Move objects of 128 KiB and more (module zips) to S3 Intelligent-Tiering as soon as they are
   * stored. Only on a bucket GoMirror creates.
   *
   * @default true
   */
  readonly intelligentTiering?: boolean;

  /**
   * Expire stored objects nobody requested for this long (whole days, at least 2): a lifecycle
   * rule on the bucket GoMirror creates, and the proxy renewing what it serves
   * (`GOMIRROR_S3_LAST_REQUESTED`, at most once a day per object).
   *
   * @default - nothing expires
   */
  readonly expireUnrequestedAfter?: Duration;

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

  // ---- who may use the mirror -------------------------------------------------------------
  // A mirror reachable from the internet must say who may use it: allowedIpRanges, webAclArn,
  // auth, or publicAccess: true. An internal mirror is reachable from the VPC only.

  /**
   * Client tokens, checked by the proxy on every request (HTTP Basic from a netrc, or Bearer):
   * the token file `gomirror token add` writes, kept in Secrets Manager. With CloudFront, the
   * edge then caches nothing, so no cached answer can reach a client without a valid token.
   *
   * @default - no tokens
   */
  readonly auth?: GoMirrorAuth;

  /**
   * The client ranges (IPv4 and IPv6 CIDRs) allowed in; everything else is blocked. With
   * CloudFront, a CLOUDFRONT-scope WAF WebACL is created in us-east-1 (in this stack when it is
   * in us-east-1, otherwise in a stack of its own that `cdk deploy --all` deploys first; the
   * mirror's stack then needs an explicit `env.region` and `crossRegionReferences: true`).
   * Without CloudFront, a regional WebACL on the load balancer; with `internal`, the load
   * balancer's security group.
   *
   * @default - no allowlist
   */
  readonly allowedIpRanges?: string[];

  /**
   * An existing CLOUDFRONT-scope WebACL for the distribution, for instance
   * `GoMirrorWafStack.webAclArn` (it must be in us-east-1). Only with `cdn`.
   *
   * @default - no WebACL (or the one `allowedIpRanges` creates)
   */
  readonly webAclArn?: string;

  /**
   * An internal load balancer in the VPC's private subnets and no CloudFront, for teams on a
   * VPN or a peered VPC. Reachable only from `allowedIpRanges` and `allowedSecurityGroups`.
   *
   * @default false
   */
  readonly internal?: boolean;

  /**
   * With `internal`: security groups whose members may reach the load balancer.
   *
   * @default - none
   */
  readonly allowedSecurityGroups?: ec2.ISecurityGroup[];

  /**
   * Accept a mirror that anyone on the internet can use (a warning at synth says so). Refused
   * together with private modules unless `auth` keeps them to token holders.
   *
   * @default false
   */
  readonly publicAccess?: boolean;

  // ---- the edge --------------------------------------------------------------------------

  /**
   * Put CloudFront in front of the load balancer. Without it, the load balancer answers
   * clients directly.
   *
   * @default - true, or false with `internal`
   */
  readonly cdn?: boolean;

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

  // ---- sync ------------------------------------------------------------------------------

  /**
   * Copy what another gomirror stored, on a schedule: an EventBridge rule starting a Fargate
   * task that runs `gomirror sync` on the mirror's bucket.
   *
   * @default - no sync
   */
  readonly sync?: GoMirrorSyncOptions;
}

/** Client tokens for `GoMirror` (`auth`). */
export interface GoMirrorAuth {
  /**
   * A Secrets Manager secret holding the token file (the text `gomirror token add --file`
   * writes). The proxy reads it again every 30 seconds, so adding or revoking a token is a
   * `put-secret-value`, not a deploy.
   *
   * @default - a new secret holding an empty token file, which admits nobody until a token is added
   */
  readonly tokens?: secretsmanager.ISecret;
}
