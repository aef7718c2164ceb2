import { Duration, Stack } from "aws-cdk-lib";
import * as acm from "aws-cdk-lib/aws-certificatemanager";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as ecs from "aws-cdk-lib/aws-ecs";
import * as s3 from "aws-cdk-lib/aws-s3";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import * as sns from "aws-cdk-lib/aws-sns";
import { GoMirror, GoMirrorWafStack } from "../../lib/aws";
import { registryImage, testApp, testStack } from "./support";

/**
 * The configurations every whole-template check (snapshots, cdk-nag, cfn-lint) runs over:
 * the defaults and each family of options.
 */

export const CERTIFICATE_ARN =
  "arn:aws:acm:eu-west-1:111111111111:certificate/11111111-2222-3333-4444-555555555555";
export const CDN_CERTIFICATE_ARN =
  "arn:aws:acm:us-east-1:111111111111:certificate/66666666-7777-8888-9999-000000000000";
export const WEB_ACL_ARN =
  "arn:aws:wafv2:us-east-1:111111111111:global/webacl/gomirror/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";

export interface Configuration {
  readonly name: string;
  /** Builds the stack(s); the first is the one holding the mirror (if any). */
  readonly build: () => Stack[];
}

export const CONFIGURATIONS: Configuration[] = [
  {
    name: "defaults with client tokens",
    build: () => {
      const stack = testStack();
      new GoMirror(stack, "Mirror", { auth: {} });
      return [stack];
    },
  },
  {
    name: "IP allowlist through CloudFront, its WebACL in a us-east-1 stack",
    build: () => {
      const app = testApp();
      const stack = new Stack(app, "Test", {
        env: { account: "111111111111", region: "eu-west-1" },
        crossRegionReferences: true,
      });
      const m = new GoMirror(stack, "Mirror", {
        image: registryImage(),
        allowedIpRanges: ["203.0.113.0/24", "2001:db8:1234::/48"],
      });
      return [stack, m.wafStack!];
    },
  },
  {
    name: "internal load balancer with client tokens",
    build: () => {
      const stack = testStack();
      new GoMirror(stack, "Mirror", {
        image: registryImage(),
        internal: true,
        allowedIpRanges: ["10.20.0.0/16"],
        auth: {},
        privatePatterns: ["git.example.com/*"],
        certificate: acm.Certificate.fromCertificateArn(stack, "Cert", CERTIFICATE_ARN),
        loadBalancerDomainName: "goproxy.corp.example",
      });
      return [stack];
    },
  },
  {
    name: "private modules, redirect mode, versioned bucket",
    build: () => {
      const stack = testStack();
      new GoMirror(stack, "Mirror", {
        image: registryImage(),
        upstreams: ["https://proxy.golang.org", "direct"],
        privatePatterns: ["git.example.com/*", "github.com/acme/*"],
        sumdb: "sum.golang.org",
        noSumdb: ["git.example.com"],
        cacheTtl: Duration.minutes(2),
        zipRedirect: true,
        storagePrefix: "team/cache",
        bucketProps: { versioned: true },
        webAclArn: WEB_ACL_ARN,
      });
      return [stack];
    },
  },
  {
    name: "HTTPS origin and custom domain",
    build: () => {
      const stack = testStack();
      new GoMirror(stack, "Mirror", {
        image: registryImage(),
        certificate: acm.Certificate.fromCertificateArn(stack, "Cert", CERTIFICATE_ARN),
        loadBalancerDomainName: "origin.goproxy.example.com",
        domainNames: ["goproxy.example.com"],
        cdnCertificate: acm.Certificate.fromCertificateArn(stack, "CdnCert", CDN_CERTIFICATE_ARN),
        originPrefixListId: "pl-4fa04526",
        webAclArn: WEB_ACL_ARN,
      });
      return [stack];
    },
  },
  {
    name: "no CDN, regional allowlist, HTTPS",
    build: () => {
      const stack = testStack();
      new GoMirror(stack, "Mirror", {
        image: registryImage(),
        cdn: false,
        allowedIpRanges: ["203.0.113.0/24", "198.51.100.7/32", "2001:db8:1234::/48"],
        certificate: acm.Certificate.fromCertificateArn(stack, "Cert", CERTIFICATE_ARN),
      });
      return [stack];
    },
  },
  {
    name: "existing VPC, cluster, bucket, secret and topic",
    build: () => {
      const stack = testStack();
      const vpc = new ec2.Vpc(stack, "Vpc", {
        maxAzs: 2,
        natGateways: 1,
        flowLogs: { All: { destination: ec2.FlowLogDestination.toCloudWatchLogs() } },
      });
      const cluster = new ecs.Cluster(stack, "Cluster", {
        vpc,
        containerInsightsV2: ecs.ContainerInsights.ENABLED,
      });
      new GoMirror(stack, "Mirror", {
        image: registryImage(),
        cluster,
        existingBucket: s3.Bucket.fromBucketName(stack, "Bucket", "acme-shared-cache"),
        storagePrefix: "gomirror",
        gitCredentials: secretsmanager.Secret.fromSecretNameV2(stack, "Netrc", "gomirror/netrc"),
        auth: { tokens: secretsmanager.Secret.fromSecretNameV2(stack, "Tokens", "gomirror/tokens") },
        alarmTopic: sns.Topic.fromTopicArn(stack, "Topic", "arn:aws:sns:eu-west-1:111111111111:ops-alarms"),
      });
      return [stack];
    },
  },
  {
    name: "WAF stack",
    build: () => [
      new GoMirrorWafStack(testApp(), "Waf", {
        allowedIpRanges: ["203.0.113.0/24", "2001:db8:1234::/48"],
      }),
    ],
  },
];

/** Builds one configuration by name. */
export function buildConfiguration(name: string): Stack[] {
  const found = CONFIGURATIONS.find((c) => c.name === name);
  if (!found) throw new Error(`no configuration named "${name}"`);
  return found.build();
}
