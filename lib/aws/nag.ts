import { Aws, Validations } from "aws-cdk-lib";
import type * as cloudfront from "aws-cdk-lib/aws-cloudfront";
import type * as ec2 from "aws-cdk-lib/aws-ec2";
import type * as ecs from "aws-cdk-lib/aws-ecs";
import type { IConstruct } from "constructs";
import type { MirrorEdge } from "./edge";
import { nagFindingText } from "./nag-finding";
import type { GoMirrorProps } from "./props";
import type { MirrorStorage } from "./storage";
import type { MirrorSync } from "./sync";

/**
 * Every cdk-nag (AwsSolutions) finding the mirror acknowledges, each with the reason it does not
 * apply, in one place. Parts the user passed in are theirs to judge, so only what the construct
 * creates is acknowledged.
 */
export interface MirrorNagParts {
  readonly props: GoMirrorProps;
  /** The VPC, when the construct created it. */
  readonly createdVpc?: ec2.Vpc;
  readonly storage: MirrorStorage;
  readonly taskDefinition: ecs.FargateTaskDefinition;
  readonly edge: MirrorEdge;
  /** Secrets and topics the construct created. */
  readonly createdGitCredentials?: IConstruct;
  readonly createdTokens?: IConstruct;
  readonly createdAlarmTopic?: IConstruct;
  readonly sync?: MirrorSync;
}

const LOGGED_BY_PROXY =
  "the proxy logs every request itself (event:request JSON lines in CloudWatch Logs); " +
  "access logs would duplicate them";

export function acknowledgeNagFindings(parts: MirrorNagParts): void {
  const { props, edge } = parts;
  if (parts.createdVpc) {
    Validations.of(parts.createdVpc).acknowledge({
      id: "AwsSolutions-VPC7",
      reason:
        "this VPC carries only the mirror, whose requests the proxy logs itself; pass your own vpc to have flow logs",
    });
  }
  if (!props.existingBucket) {
    Validations.of(parts.storage.bucket).acknowledge({ id: "AwsSolutions-S1", reason: LOGGED_BY_PROXY });
  }
  if (!props.image) {
    Validations.of(parts.taskDefinition.obtainExecutionRole()).acknowledge({
      id: "AwsSolutions-IAM5[Resource::*]",
      reason:
        "pulling the image from the CDK asset repository needs ecr:GetAuthorizationToken, which supports no resource-level permissions",
    });
  }
  Validations.of(parts.taskDefinition).acknowledge(
    {
      id: `AwsSolutions-IAM5[Resource::${nagFindingText(parts.taskDefinition, parts.storage.objectsArn())}]`,
      reason:
        "the proxy reads and writes objects whose keys are module paths and versions, all under its own prefix",
    },
    {
      id: "AwsSolutions-ECS2",
      reason:
        "the proxy's settings are plain configuration (upstreams, patterns, TTLs); credentials come from Secrets Manager",
    },
  );
  if (parts.sync) {
    Validations.of(parts.sync.taskDefinition).acknowledge(
      {
        id: `AwsSolutions-IAM5[Resource::${nagFindingText(parts.sync.taskDefinition, parts.storage.objectsArn())}]`,
        reason: "sync stores objects whose keys are module paths and versions, all under the mirror's prefix",
      },
      {
        id: "AwsSolutions-ECS2",
        reason:
          "the task's settings are the proxy's plain configuration; the peer's token comes from Secrets Manager",
      },
      {
        id: `AwsSolutions-IAM5[Resource::${nagFindingText(
          parts.sync.taskDefinition,
          `arn:${Aws.PARTITION}:ecs:${Aws.REGION}:*:task/${parts.sync.cluster.clusterName}/*`,
        )}]`,
        reason:
          "EventBridge tags the sync tasks it starts in the mirror's cluster, whose task ids are not known before they run",
      },
    );
  }
  if (parts.createdGitCredentials) {
    Validations.of(parts.createdGitCredentials).acknowledge({
      id: "AwsSolutions-SMG4",
      reason:
        "the netrc holds tokens issued by a git host, which Secrets Manager cannot rotate; rotate them at the host",
    });
  }
  if (parts.createdTokens) {
    Validations.of(parts.createdTokens).acknowledge({
      id: "AwsSolutions-SMG4",
      reason:
        "the token file is edited with gomirror token add/revoke and put-secret-value; a rotation Lambda cannot issue tokens to people",
    });
  }
  if (parts.createdAlarmTopic) {
    Validations.of(parts.createdAlarmTopic).acknowledge({
      id: "AwsSolutions-SNS2",
      reason:
        "CloudWatch alarms cannot publish to a topic encrypted with the AWS managed SNS key, and the notifications carry no secrets",
    });
  }
  Validations.of(edge.loadBalancer).acknowledge({ id: "AwsSolutions-ELB2", reason: LOGGED_BY_PROXY });
  if (edge.originSecret) {
    Validations.of(edge.originSecret).acknowledge({
      id: "AwsSolutions-SMG4",
      reason:
        "the value is written into the CloudFront origin and the ALB rule at deploy time; rotating it means a redeploy, not a rotation Lambda",
    });
  }
  // An internet-facing load balancer without CloudFront admits every address; who gets in is
  // decided after that, by the WAF allowlist or by the proxy's tokens. Public access is the
  // user's stated choice and stays a visible finding.
  const gate = edge.allowList
    ? "the WAF IP allowlist on it"
    : props.auth
      ? "the client tokens the proxy checks"
      : undefined;
  if (!edge.cdn && !props.internal && gate) {
    Validations.of(edge.securityGroup).acknowledge({
      id: "AwsSolutions-EC23",
      reason: `the load balancer is the mirror's public endpoint; ${gate} decides who gets in`,
    });
  }
  if (edge.distribution) acknowledgeCdnFindings(edge.distribution, props);
}

function acknowledgeCdnFindings(distribution: cloudfront.Distribution, props: GoMirrorProps): void {
  const acks = [
    {
      id: "AwsSolutions-CFR1",
      reason: "who may use the mirror is decided by an IP allowlist or client tokens, not by country",
    },
    { id: "AwsSolutions-CFR3", reason: LOGGED_BY_PROXY },
  ];
  // A distribution without a WebACL is acknowledged only when tokens guard it; a public mirror
  // keeps the finding.
  if (!props.webAclArn && !props.allowedIpRanges && props.auth) {
    acks.push({
      id: "AwsSolutions-CFR2",
      reason:
        "clients are let in by the tokens the proxy checks on every request; CloudFront caches nothing and forwards each one",
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
