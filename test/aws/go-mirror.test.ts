import { Duration, type CfnElement, type Stack } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import * as acm from "aws-cdk-lib/aws-certificatemanager";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as kms from "aws-cdk-lib/aws-kms";
import * as s3 from "aws-cdk-lib/aws-s3";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import { GoMirror, type GoMirrorProps, ORIGIN_VERIFY_HEADER } from "../../lib/aws";
import { CDN_CERTIFICATE_ARN, CERTIFICATE_ARN, WEB_ACL_ARN } from "./fixtures";
import { registryImage, testStack } from "./support";

const ACCESS_PROPS = ["auth", "allowedIpRanges", "webAclArn", "internal", "publicAccess"] as const;

/**
 * A mirror with a registry image. Tests that are not about access control get one anyway (a
 * WebACL with CloudFront, public access without), since an uncontrolled mirror is refused.
 */
function mirror(props: GoMirrorProps = {}): { stack: Stack; mirror: GoMirror; template: Template } {
  const stack = testStack();
  const controlled = ACCESS_PROPS.some((name) => props[name] !== undefined);
  const access = controlled ? {} : props.cdn === false ? { publicAccess: true } : { webAclArn: WEB_ACL_ARN };
  const m = new GoMirror(stack, "Mirror", { image: registryImage(), ...access, ...props });
  return { stack, mirror: m, template: Template.fromStack(stack) };
}

function logicalId(stack: Stack, construct: { node: { defaultChild?: unknown } }): string {
  return stack.getLogicalId(construct.node.defaultChild as CfnElement);
}

/** The container's environment as a name -> value map. */
function containerEnvironment(template: Template): Record<string, unknown> {
  const defs = Object.values(template.findResources("AWS::ECS::TaskDefinition"));
  expect(defs).toHaveLength(1);
  const env = defs[0].Properties.ContainerDefinitions[0].Environment as { Name: string; Value: unknown }[];
  return Object.fromEntries(env.map((e) => [e.Name, e.Value]));
}

function taskRolePolicy(stack: Stack, m: GoMirror, statements: unknown[]): object {
  return {
    Roles: [{ Ref: logicalId(stack, m.taskDefinition.taskRole) }],
    PolicyDocument: { Statement: statements },
  };
}

function objectStatement(resource: unknown): object {
  return {
    Sid: "MirrorObjects",
    Effect: "Allow",
    Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
    Resource: resource,
  };
}

describe("GoMirror defaults", () => {
  // given a mirror with nothing but an image, when synthesized
  const { stack, mirror: m, template } = mirror();
  const bucketId = logicalId(stack, m.bucket);

  it("creates a private, encrypted, retained bucket that aborts stale multipart uploads", () => {
    template.hasResource("AWS::S3::Bucket", {
      DeletionPolicy: "Retain",
      Properties: {
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" } }],
        },
        OwnershipControls: { Rules: [{ ObjectOwnership: "BucketOwnerEnforced" }] },
        LifecycleConfiguration: {
          Rules: [
            {
              Id: "AbortIncompleteUploads",
              Status: "Enabled",
              AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
            },
            Match.objectLike({ Id: "IntelligentTiering" }),
          ],
        },
        VersioningConfiguration: Match.absent(),
      },
    });
  });

  it("denies every request to the bucket that is not over TLS", () => {
    template.hasResourceProperties("AWS::S3::BucketPolicy", {
      Bucket: { Ref: bucketId },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: "Deny",
            Principal: { AWS: "*" },
            Action: "s3:*",
            Condition: { Bool: { "aws:SecureTransport": "false" } },
          }),
        ]),
      },
    });
  });

  it("gives the task role exactly the S3 actions the proxy uses, on its prefix", () => {
    template.hasResourceProperties(
      "AWS::IAM::Policy",
      taskRolePolicy(stack, m, [
        objectStatement({ "Fn::Join": ["", [{ "Fn::GetAtt": [bucketId, "Arn"] }, "/gomirror/*"]] }),
        {
          Sid: "MirrorList",
          Effect: "Allow",
          Action: "s3:ListBucket",
          Resource: { "Fn::GetAtt": [bucketId, "Arn"] },
          Condition: { StringLikeIfExists: { "s3:prefix": ["gomirror/*"] } },
        },
      ]),
    );
    // and the task role has no other policy
    const policies = template.findResources("AWS::IAM::Policy", {
      Properties: { Roles: [{ Ref: logicalId(stack, m.taskDefinition.taskRole) }] },
    });
    expect(Object.keys(policies)).toHaveLength(1);
  });

  it("runs the proxy read-only with a writable /tmp, configured for S3", () => {
    template.hasResourceProperties("AWS::ECS::TaskDefinition", {
      Cpu: "512",
      Memory: "1024",
      Volumes: [{ Name: "tmp" }],
      ContainerDefinitions: [
        Match.objectLike({
          ReadonlyRootFilesystem: true,
          MountPoints: [{ ContainerPath: "/tmp", ReadOnly: false, SourceVolume: "tmp" }],
          PortMappings: [Match.objectLike({ ContainerPort: 8080 })],
          Secrets: Match.absent(),
          LogConfiguration: Match.objectLike({ LogDriver: "awslogs" }),
        }),
      ],
    });
    expect(containerEnvironment(template)).toEqual({
      GOMIRROR_LISTEN: "0.0.0.0:8080",
      GOMIRROR_STORAGE: { "Fn::Join": ["", ["s3://", { Ref: bucketId }, "/gomirror"]] },
      GOMIRROR_S3_REGION: { Ref: "AWS::Region" },
      GOMIRROR_CACHE_TTL: "60",
      GOMIRROR_TRUSTED_PROXIES: { "Fn::GetAtt": [logicalId(stack, m.vpc as ec2.Vpc), "CidrBlock"] },
    });
  });

  it("keeps logs for a month", () => {
    template.hasResourceProperties("AWS::Logs::LogGroup", { RetentionInDays: 30 });
  });

  it("deploys with a circuit breaker that rolls back, in private subnets, leaving the count to autoscaling", () => {
    template.hasResourceProperties("AWS::ECS::Service", {
      DesiredCount: Match.absent(),
      LaunchType: "FARGATE",
      DeploymentConfiguration: {
        DeploymentCircuitBreaker: { Enable: true, Rollback: true },
        MinimumHealthyPercent: 100,
        MaximumPercent: 200,
      },
      NetworkConfiguration: { AwsvpcConfiguration: Match.objectLike({ AssignPublicIp: "DISABLED" }) },
    });
  });

  it("takes a task out of the target group when it is not ready (/readyz: storage unreachable)", () => {
    template.hasResourceProperties("AWS::ElasticLoadBalancingV2::TargetGroup", {
      HealthCheckPath: "/readyz",
      Matcher: { HttpCode: "200" },
      Port: 8080,
      TargetType: "ip",
    });
  });

  it("admits only CloudFront's origin-facing prefix list, looked up at deploy time", () => {
    const lookupId = logicalId(stack, m.edge.node.findChild("OriginPrefixList").node.findChild("Lookup"));
    template.hasResourceProperties("Custom::AWS", {
      Create: Match.serializedJson(
        Match.objectLike({
          service: "EC2",
          action: "DescribeManagedPrefixLists",
          parameters: {
            Filters: [
              { Name: "prefix-list-name", Values: ["com.amazonaws.global.cloudfront.origin-facing"] },
            ],
          },
        }),
      ),
    });
    const lbGroup = logicalId(stack, m.loadBalancer.connections.securityGroups[0]);
    const ingress = template.findResources("AWS::EC2::SecurityGroupIngress", {
      Properties: { GroupId: { "Fn::GetAtt": [lbGroup, "GroupId"] } },
    });
    expect(Object.values(ingress).map((r) => r.Properties)).toEqual([
      {
        Description: "CloudFront origin-facing addresses",
        FromPort: 80,
        ToPort: 80,
        IpProtocol: "tcp",
        GroupId: { "Fn::GetAtt": [lbGroup, "GroupId"] },
        SourcePrefixListId: { "Fn::GetAtt": [lookupId, "PrefixLists.0.PrefixListId"] },
      },
    ]);
    template.hasResourceProperties("AWS::EC2::SecurityGroup", {
      GroupDescription: "gomirror load balancer",
      SecurityGroupIngress: Match.absent(),
    });
  });

  it("answers 403 unless the request carries the secret origin header", () => {
    const secretRef = {
      "Fn::Join": [
        "",
        ["{{resolve:secretsmanager:", { Ref: logicalId(stack, m.originSecret!) }, ":SecretString:::}}"],
      ],
    };
    template.hasResourceProperties("AWS::ElasticLoadBalancingV2::Listener", {
      Port: 80,
      Protocol: "HTTP",
      DefaultActions: [
        {
          Type: "fixed-response",
          FixedResponseConfig: { StatusCode: "403", ContentType: "text/plain", MessageBody: "Forbidden" },
        },
      ],
    });
    template.hasResourceProperties("AWS::ElasticLoadBalancingV2::ListenerRule", {
      Priority: 10,
      Conditions: [
        {
          Field: "http-header",
          HttpHeaderConfig: { HttpHeaderName: ORIGIN_VERIFY_HEADER, Values: [secretRef] },
        },
      ],
      Actions: [{ Type: "forward", TargetGroupArn: { Ref: logicalId(stack, m.targetGroup) } }],
    });
    template.hasResourceProperties("AWS::SecretsManager::Secret", {
      GenerateSecretString: { PasswordLength: 48, ExcludePunctuation: true },
    });
    template.hasResourceProperties("AWS::CloudFront::Distribution", {
      DistributionConfig: {
        Origins: [
          Match.objectLike({
            OriginCustomHeaders: [{ HeaderName: ORIGIN_VERIFY_HEADER, HeaderValue: secretRef }],
            CustomOriginConfig: Match.objectLike({
              OriginProtocolPolicy: "http-only",
              OriginReadTimeout: 60,
            }),
          }),
        ],
      },
    });
  });

  it("hides /metrics from clients", () => {
    template.hasResourceProperties("AWS::ElasticLoadBalancingV2::ListenerRule", {
      Priority: 1,
      Conditions: [{ Field: "path-pattern", PathPatternConfig: { Values: ["/metrics", "/metrics/*"] } }],
      Actions: [
        Match.objectLike({
          Type: "fixed-response",
          FixedResponseConfig: Match.objectLike({ StatusCode: "404" }),
        }),
      ],
    });
  });

  it("caches by path: a year for immutable files, origin Cache-Control for .info, a minute for queries", () => {
    const cdn = m.cdn!;
    const ref = (policy: { node: { defaultChild?: unknown } }) => ({ Ref: logicalId(stack, policy) });
    const immutable = ref(cdn.immutablePolicy as never);
    const info = ref(cdn.infoPolicy as never);
    const query = ref(cdn.queryPolicy as never);
    template.hasResourceProperties("AWS::CloudFront::Distribution", {
      DistributionConfig: Match.objectLike({
        DefaultCacheBehavior: Match.objectLike({
          CachePolicyId: query,
          ViewerProtocolPolicy: "redirect-to-https",
          AllowedMethods: ["GET", "HEAD"],
        }),
        CacheBehaviors: [
          Match.objectLike({ PathPattern: "/sumdb/*/tile/*", CachePolicyId: immutable }),
          Match.objectLike({ PathPattern: "/sumdb/*/latest", CachePolicyId: query }),
          Match.objectLike({ PathPattern: "/sumdb/*/lookup/*", CachePolicyId: query }),
          Match.objectLike({ PathPattern: "*.mod", CachePolicyId: immutable }),
          Match.objectLike({ PathPattern: "*.zip", CachePolicyId: immutable, Compress: false }),
          Match.objectLike({ PathPattern: "*.info", CachePolicyId: info }),
          Match.objectLike({ PathPattern: "*/@v/list", CachePolicyId: query }),
          Match.objectLike({ PathPattern: "*/@latest", CachePolicyId: query }),
        ],
        PriceClass: "PriceClass_100",
        WebACLId: WEB_ACL_ARN,
      }),
    });
    const ttls = (policy: string) =>
      template.findResources("AWS::CloudFront::CachePolicy")[policy].Properties.CachePolicyConfig;
    expect(ttls(immutable.Ref)).toMatchObject({ MinTTL: 0, DefaultTTL: 31536000, MaxTTL: 31536000 });
    expect(ttls(info.Ref)).toMatchObject({ MinTTL: 0, DefaultTTL: 60, MaxTTL: 31536000 });
    expect(ttls(query.Ref)).toMatchObject({ MinTTL: 0, DefaultTTL: 60, MaxTTL: 60 });
  });

  it("scales between 2 and 6 tasks on CPU and on requests per target", () => {
    template.hasResourceProperties("AWS::ApplicationAutoScaling::ScalableTarget", {
      MinCapacity: 2,
      MaxCapacity: 6,
    });
    template.hasResourceProperties("AWS::ApplicationAutoScaling::ScalingPolicy", {
      TargetTrackingScalingPolicyConfiguration: Match.objectLike({
        PredefinedMetricSpecification: { PredefinedMetricType: "ECSServiceAverageCPUUtilization" },
        TargetValue: 60,
      }),
    });
    template.hasResourceProperties("AWS::ApplicationAutoScaling::ScalingPolicy", {
      TargetTrackingScalingPolicyConfiguration: Match.objectLike({
        PredefinedMetricSpecification: Match.objectLike({ PredefinedMetricType: "ALBRequestCountPerTarget" }),
        TargetValue: 3000,
      }),
    });
  });

  it("creates no git credentials secret when there are no private modules", () => {
    expect(m.gitCredentials).toBeUndefined();
    template.resourceCountIs("AWS::SecretsManager::Secret", 1); // the origin header's
  });

  it("outputs the CloudFront URL for GOPROXY", () => {
    template.hasOutput("*", {
      Value: {
        "Fn::Join": ["", ["https://", { "Fn::GetAtt": [logicalId(stack, m.distribution!), "DomainName"] }]],
      },
    });
  });

  it("creates a new VPC with an S3 gateway endpoint", () => {
    template.resourceCountIs("AWS::EC2::VPC", 1);
    template.resourceCountIs("AWS::EC2::NatGateway", 1);
    template.hasResourceProperties("AWS::EC2::VPCEndpoint", { VpcEndpointType: "Gateway" });
  });
});

describe("GoMirror output", () => {
  it("names the GOPROXY URL output after the construct, so people and scripts find it", () => {
    const { template } = mirror();
    expect(Object.keys(template.toJSON().Outputs)).toEqual(["MirrorGoproxyUrl"]);
    template.hasOutput("MirrorGoproxyUrl", { Description: "Put this in GOPROXY" });
  });
});

describe("GoMirror proxy settings", () => {
  it("passes upstreams, patterns, checksum DB and TTLs to the proxy", () => {
    // given every proxy setting, when synthesized
    const { template } = mirror({
      upstreams: ["https://proxy.golang.org", "https://goproxy.io|direct"],
      privatePatterns: ["git.example.com/*", "github.com/acme/*"],
      noProxy: ["corp.example.com"],
      sumdb: "sum.golang.org https://sum.example.com",
      noSumdb: ["git.example.com"],
      cacheTtl: Duration.minutes(2),
      upstreamTimeout: Duration.seconds(45),
      gitRewrites: { "https://github.com/": "https://git.example.com/mirror/" },
      logLevel: "debug",
      environment: { HTTPS_PROXY: "http://proxy.internal:3128" },
    });
    // then the container gets them under the proxy's own variable names
    expect(containerEnvironment(template)).toMatchObject({
      GOPROXY: "https://proxy.golang.org,https://goproxy.io|direct",
      GOPRIVATE: "git.example.com/*,github.com/acme/*",
      GONOPROXY: "corp.example.com",
      GOSUMDB: "sum.golang.org https://sum.example.com",
      GONOSUMDB: "git.example.com",
      GOMIRROR_CACHE_TTL: "120",
      GOMIRROR_UPSTREAM_TIMEOUT: "45",
      GOMIRROR_GIT_REWRITE: "https://github.com/=https://git.example.com/mirror/",
      GOMIRROR_LOG_LEVEL: "debug",
      HTTPS_PROXY: "http://proxy.internal:3128",
    });
    // and CloudFront caches queries for the same time
    template.hasResourceProperties("AWS::CloudFront::CachePolicy", {
      CachePolicyConfig: Match.objectLike({ DefaultTTL: 120, MaxTTL: 120 }),
    });
  });

  it("creates a placeholder netrc secret for private modules and passes it as GOMIRROR_NETRC", () => {
    const { stack, mirror: m, template } = mirror({ privatePatterns: ["git.example.com/*"] });
    const secretId = logicalId(stack, m.gitCredentials as secretsmanager.Secret);
    template.hasResourceProperties("AWS::SecretsManager::Secret", {
      SecretString: "machine example.invalid login none password none\n",
    });
    template.hasResourceProperties("AWS::ECS::TaskDefinition", {
      ContainerDefinitions: [
        Match.objectLike({ Secrets: [{ Name: "GOMIRROR_NETRC", ValueFrom: { Ref: secretId } }] }),
      ],
    });
    // the execution role, not the task role, reads it
    template.hasResourceProperties("AWS::IAM::Policy", {
      Roles: [{ Ref: logicalId(stack, m.taskDefinition.executionRole!) }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
            Resource: { Ref: secretId },
          }),
        ]),
      },
    });
  });

  it("uses a given netrc secret instead of creating one", () => {
    const stack = testStack();
    const secret = secretsmanager.Secret.fromSecretCompleteArn(
      stack,
      "Netrc",
      "arn:aws:secretsmanager:eu-west-1:111111111111:secret:gomirror-netrc-AbCdEf",
    );
    new GoMirror(stack, "Mirror", {
      webAclArn: WEB_ACL_ARN,
      image: registryImage(),
      privatePatterns: ["git.example.com/*"],
      gitCredentials: secret,
    });
    const template = Template.fromStack(stack);
    template.resourceCountIs("AWS::SecretsManager::Secret", 1); // only the origin header's
    template.hasResourceProperties("AWS::ECS::TaskDefinition", {
      ContainerDefinitions: [
        Match.objectLike({
          Secrets: [
            {
              Name: "GOMIRROR_NETRC",
              ValueFrom: "arn:aws:secretsmanager:eu-west-1:111111111111:secret:gomirror-netrc-AbCdEf",
            },
          ],
        }),
      ],
    });
  });

  it("redirect mode sets GOMIRROR_ZIP_REDIRECT, caches .zip answers briefly, and adds no permissions", () => {
    const plain = mirror();
    const { stack, mirror: m, template } = mirror({ zipRedirect: true });
    expect(containerEnvironment(template).GOMIRROR_ZIP_REDIRECT).toBe("true");
    expect(containerEnvironment(plain.template).GOMIRROR_ZIP_REDIRECT).toBeUndefined();
    template.hasResourceProperties("AWS::CloudFront::Distribution", {
      DistributionConfig: Match.objectLike({
        CacheBehaviors: Match.arrayWith([
          Match.objectLike({
            PathPattern: "*.zip",
            CachePolicyId: { Ref: logicalId(stack, m.cdn!.queryPolicy as never) },
          }),
        ]),
      }),
    });
    const statements = (t: Template, s: Stack, x: GoMirror) =>
      Object.values(
        t.findResources("AWS::IAM::Policy", {
          Properties: { Roles: [{ Ref: logicalId(s, x.taskDefinition.taskRole) }] },
        }),
      )[0].Properties.PolicyDocument.Statement;
    expect(statements(template, stack, m)).toEqual(statements(plain.template, plain.stack, plain.mirror));
  });

  it("refuses environment that would override what the construct manages", () => {
    expect(() => mirror({ environment: { GOMIRROR_STORAGE: "/var/cache/gomirror" } })).toThrow(
      /environment\.GOMIRROR_STORAGE is set by GoMirror itself/,
    );
  });

  it("disables query caching in CloudFront when cacheTtl is zero", () => {
    const { template } = mirror({ cacheTtl: Duration.seconds(0) });
    template.hasResourceProperties("AWS::CloudFront::Distribution", {
      DistributionConfig: Match.objectLike({
        DefaultCacheBehavior: Match.objectLike({ CachePolicyId: "4135ea2d-6df8-44a3-9df3-4b5a84be39ad" }),
      }),
    });
  });
});

describe("GoMirror storage options", () => {
  it("confines the task role and the storage URL to a custom prefix", () => {
    const { stack, mirror: m, template } = mirror({ storagePrefix: "/team/cache/" });
    const bucketId = logicalId(stack, m.bucket);
    expect(containerEnvironment(template).GOMIRROR_STORAGE).toEqual({
      "Fn::Join": ["", ["s3://", { Ref: bucketId }, "/team/cache"]],
    });
    template.hasResourceProperties(
      "AWS::IAM::Policy",
      taskRolePolicy(stack, m, [
        objectStatement({ "Fn::Join": ["", [{ "Fn::GetAtt": [bucketId, "Arn"] }, "/team/cache/*"]] }),
        Match.objectLike({ Condition: { StringLikeIfExists: { "s3:prefix": ["team/cache/*"] } } }),
      ]),
    );
  });

  it("with an empty prefix uses the whole bucket and drops the list condition", () => {
    const { stack, mirror: m, template } = mirror({ storagePrefix: "" });
    const bucketId = logicalId(stack, m.bucket);
    template.hasResourceProperties(
      "AWS::IAM::Policy",
      taskRolePolicy(stack, m, [
        objectStatement({ "Fn::Join": ["", [{ "Fn::GetAtt": [bucketId, "Arn"] }, "/*"]] }),
        {
          Sid: "MirrorList",
          Effect: "Allow",
          Action: "s3:ListBucket",
          Resource: { "Fn::GetAtt": [bucketId, "Arn"] },
        },
      ]),
    );
  });

  it("rejects a prefix IAM would read as a pattern", () => {
    expect(() => mirror({ storagePrefix: "cache/*" })).toThrow(/invalid storage prefix "cache\/\*"/);
  });

  it("turns on versioning and keeps the abort rule ahead of the user's lifecycle rules", () => {
    const { template } = mirror({
      bucketProps: {
        versioned: true,
        lifecycleRules: [{ id: "Old", noncurrentVersionExpiration: Duration.days(30) }],
      },
      abortIncompleteUploadsAfter: Duration.days(3),
    });
    template.hasResourceProperties("AWS::S3::Bucket", {
      VersioningConfiguration: { Status: "Enabled" },
      LifecycleConfiguration: {
        Rules: [
          Match.objectLike({
            Id: "AbortIncompleteUploads",
            AbortIncompleteMultipartUpload: { DaysAfterInitiation: 3 },
          }),
          Match.objectLike({ Id: "IntelligentTiering" }),
          Match.objectLike({ Id: "Old", NoncurrentVersionExpiration: { NoncurrentDays: 30 } }),
        ],
      },
      PublicAccessBlockConfiguration: Match.objectLike({ BlockPublicPolicy: true }),
    });
  });

  it("uses an existing bucket without creating one", () => {
    const stack = testStack();
    const m = new GoMirror(stack, "Mirror", {
      webAclArn: WEB_ACL_ARN,
      image: registryImage(),
      existingBucket: s3.Bucket.fromBucketName(stack, "Shared", "acme-shared-cache"),
    });
    const template = Template.fromStack(stack);
    template.resourceCountIs("AWS::S3::Bucket", 0);
    expect(containerEnvironment(template).GOMIRROR_STORAGE).toBe("s3://acme-shared-cache/gomirror");
    template.hasResourceProperties(
      "AWS::IAM::Policy",
      taskRolePolicy(stack, m, [
        objectStatement({
          "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, ":s3:::acme-shared-cache/gomirror/*"]],
        }),
        Match.objectLike({ Action: "s3:ListBucket" }),
      ]),
    );
  });

  it("grants use of a customer-managed KMS key", () => {
    const stack = testStack();
    const key = new kms.Key(stack, "Key", { enableKeyRotation: true });
    const m = new GoMirror(stack, "Mirror", {
      webAclArn: WEB_ACL_ARN,
      image: registryImage(),
      bucketProps: { encryption: s3.BucketEncryption.KMS, encryptionKey: key },
    });
    Template.fromStack(stack).hasResourceProperties("AWS::IAM::Policy", {
      Roles: [{ Ref: logicalId(stack, m.taskDefinition.taskRole) }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: Match.arrayWith(["kms:Decrypt", "kms:GenerateDataKey*"]),
            Resource: { "Fn::GetAtt": [logicalId(stack, key), "Arn"] },
          }),
        ]),
      },
    });
  });

  it("refuses an existing bucket together with bucket props", () => {
    const stack = testStack();
    expect(
      () =>
        new GoMirror(stack, "Mirror", {
          webAclArn: WEB_ACL_ARN,
          image: registryImage(),
          existingBucket: s3.Bucket.fromBucketName(stack, "Shared", "acme-shared-cache"),
          bucketProps: { versioned: true },
        }),
    ).toThrow(/both existingBucket and bucketProps were given/);
  });
});

describe("GoMirror edge options", () => {
  it("with a certificate, CloudFront talks HTTPS to the named origin on 443 only", () => {
    const stack = testStack();
    const m = new GoMirror(stack, "Mirror", {
      webAclArn: WEB_ACL_ARN,
      image: registryImage(),
      certificate: acm.Certificate.fromCertificateArn(stack, "Cert", CERTIFICATE_ARN),
      loadBalancerDomainName: "origin.goproxy.example.com",
      originPrefixListId: "pl-4fa04526",
    });
    const template = Template.fromStack(stack);
    template.resourceCountIs("AWS::ElasticLoadBalancingV2::Listener", 1);
    template.hasResourceProperties("AWS::ElasticLoadBalancingV2::Listener", {
      Port: 443,
      Protocol: "HTTPS",
      Certificates: [{ CertificateArn: CERTIFICATE_ARN }],
    });
    template.hasResourceProperties("AWS::EC2::SecurityGroupIngress", {
      GroupId: { "Fn::GetAtt": [logicalId(stack, m.loadBalancer.connections.securityGroups[0]), "GroupId"] },
      SourcePrefixListId: "pl-4fa04526",
      FromPort: 443,
      ToPort: 443,
    });
    template.resourceCountIs("Custom::AWS", 0);
    template.hasResourceProperties("AWS::CloudFront::Distribution", {
      DistributionConfig: Match.objectLike({
        Origins: [
          Match.objectLike({
            DomainName: "origin.goproxy.example.com",
            CustomOriginConfig: Match.objectLike({
              OriginProtocolPolicy: "https-only",
              OriginSSLProtocols: ["TLSv1.2"],
            }),
          }),
        ],
      }),
    });
  });

  it("attaches a CloudFront WebACL, custom domain and TLS 1.2 policy, and outputs the domain", () => {
    const stack = testStack();
    new GoMirror(stack, "Mirror", {
      image: registryImage(),
      webAclArn: WEB_ACL_ARN,
      domainNames: ["goproxy.example.com"],
      cdnCertificate: acm.Certificate.fromCertificateArn(stack, "CdnCert", CDN_CERTIFICATE_ARN),
    });
    const template = Template.fromStack(stack);
    template.hasResourceProperties("AWS::CloudFront::Distribution", {
      DistributionConfig: Match.objectLike({
        WebACLId: WEB_ACL_ARN,
        Aliases: ["goproxy.example.com"],
        ViewerCertificate: Match.objectLike({
          AcmCertificateArn: CDN_CERTIFICATE_ARN,
          MinimumProtocolVersion: "TLSv1.2_2021",
        }),
      }),
    });
    template.hasOutput("*", { Value: "https://goproxy.example.com" });
  });

  it("without CDN, forwards everything, opens the port, and outputs the ALB URL", () => {
    const { stack, mirror: m, template } = mirror({ cdn: false });
    template.resourceCountIs("AWS::CloudFront::Distribution", 0);
    template.resourceCountIs("Custom::AWS", 0);
    template.resourceCountIs("AWS::WAFv2::WebACL", 0);
    template.hasResourceProperties("AWS::ElasticLoadBalancingV2::ListenerRule", {
      Conditions: [{ Field: "path-pattern", PathPatternConfig: { Values: ["/*"] } }],
      Actions: [{ Type: "forward", TargetGroupArn: { Ref: logicalId(stack, m.targetGroup) } }],
    });
    template.hasResourceProperties("AWS::EC2::SecurityGroup", {
      GroupDescription: "gomirror load balancer",
      SecurityGroupIngress: [Match.objectLike({ CidrIp: "0.0.0.0/0", FromPort: 80, ToPort: 80 })],
    });
    template.hasOutput("*", {
      Value: {
        "Fn::Join": ["", ["http://", { "Fn::GetAtt": [logicalId(stack, m.loadBalancer), "DNSName"] }]],
      },
    });
  });

  it("without CDN, puts a regional WAF allowlist on the load balancer", () => {
    const {
      stack,
      mirror: m,
      template,
    } = mirror({
      cdn: false,
      allowedIpRanges: ["203.0.113.0/24", "2001:db8::/32", "198.51.100.7/32"],
    });
    template.hasResourceProperties("AWS::WAFv2::WebACL", { Scope: "REGIONAL", DefaultAction: { Block: {} } });
    template.hasResourceProperties("AWS::WAFv2::IPSet", {
      Scope: "REGIONAL",
      IPAddressVersion: "IPV4",
      Addresses: ["203.0.113.0/24", "198.51.100.7/32"],
    });
    template.hasResourceProperties("AWS::WAFv2::IPSet", {
      Scope: "REGIONAL",
      IPAddressVersion: "IPV6",
      Addresses: ["2001:db8::/32"],
    });
    template.hasResourceProperties("AWS::WAFv2::WebACLAssociation", {
      ResourceArn: { Ref: logicalId(stack, m.loadBalancer) },
      WebACLArn: { "Fn::GetAtt": [stack.getLogicalId(m.allowList!.webAcl), "Arn"] },
    });
  });

  it("without CDN but with a certificate, serves HTTPS and redirects port 80", () => {
    const stack = testStack();
    new GoMirror(stack, "Mirror", {
      image: registryImage(),
      cdn: false,
      auth: {},
      certificate: acm.Certificate.fromCertificateArn(stack, "Cert", CERTIFICATE_ARN),
      loadBalancerDomainName: "goproxy.example.com",
    });
    const template = Template.fromStack(stack);
    template.hasResourceProperties("AWS::ElasticLoadBalancingV2::Listener", { Port: 443, Protocol: "HTTPS" });
    template.hasResourceProperties("AWS::ElasticLoadBalancingV2::Listener", {
      Port: 80,
      DefaultActions: [
        Match.objectLike({ Type: "redirect", RedirectConfig: Match.objectLike({ Port: "443" }) }),
      ],
    });
    template.hasOutput("*", { Value: "https://goproxy.example.com" });
  });

  it.each([
    [
      { allowedIpRanges: ["203.0.113.0/24"] },
      /allowedIpRanges with CloudFront makes a WAF WebACL in us-east-1.*explicit env.region and crossRegionReferences: true/,
    ],
    [{ cdn: false, webAclArn: WEB_ACL_ARN }, /webAclArn configures CloudFront, but cdn is false/],
    [
      { cdn: false, originPrefixListId: "pl-1" },
      /originPrefixListId configures CloudFront, but cdn is false/,
    ],
    [
      { cdn: false, allowedIpRanges: ["203.0.113.0/33"] },
      /invalid CIDR: "203\.0\.113\.0\/33" has prefix length "33"; want 0 to 32/,
    ],
    [
      { cdn: false, allowedIpRanges: ["2001:db8::/129"] },
      /invalid CIDR: "2001:db8::\/129" has prefix length "129"; want 0 to 128/,
    ],
    [
      { cdn: false, allowedIpRanges: ["10.0.0.300/8"] },
      /invalid CIDR: "10\.0\.0\.300" in "10\.0\.0\.300\/8" is not an IPv4 or IPv6/,
    ],
    [{ cdn: false, allowedIpRanges: [] }, /allowedIpRanges is empty/],
    [{ domainNames: ["goproxy.example.com"] }, /domainNames \(goproxy\.example\.com\) need cdnCertificate/],
    // What the proxy itself would refuse at startup fails at synth, with the proxy's own message.
    [{ logLevel: "INFO" }, /the proxy would refuse its settings: GOMIRROR_LOG_LEVEL="INFO": want one of/],
    [
      { upstreams: ["ftp://mirror.example"] },
      /the proxy would refuse its settings: GOPROXY=.*invalid proxy URL scheme/,
    ],
    [{ sumdb: "sum.example+bad" }, /the proxy would refuse its settings: GOSUMDB="sum.example\+bad"/],
    [
      { gitRewrites: { "git@github.com:": "https://github.com/" } },
      /GOMIRROR_GIT_REWRITE=.*is not an absolute URL/,
    ],
    [
      { cacheTtl: Duration.days(31) },
      /GOMIRROR_CACHE_TTL="2678400": want a number of seconds from 0 to 2592000/,
    ],
  ] as [GoMirrorProps, RegExp][])("refuses %j", (props, message) => {
    expect(() => mirror(props)).toThrow(message);
  });

  it("refuses a certificate with CloudFront but no origin domain name", () => {
    const stack = testStack();
    expect(
      () =>
        new GoMirror(stack, "Mirror", {
          webAclArn: WEB_ACL_ARN,
          image: registryImage(),
          certificate: acm.Certificate.fromCertificateArn(stack, "Cert", CERTIFICATE_ARN),
        }),
    ).toThrow(/certificate with CloudFront needs loadBalancerDomainName/);
  });
});

describe("GoMirror capacity", () => {
  it("scales within the given bounds and targets", () => {
    const { template } = mirror({
      minCapacity: 3,
      maxCapacity: 10,
      desiredCount: 4,
      targetCpuUtilizationPercent: 50,
      requestsPerTarget: 500,
      cpu: 1024,
      memoryLimitMiB: 2048,
    });
    template.hasResourceProperties("AWS::ApplicationAutoScaling::ScalableTarget", {
      MinCapacity: 3,
      MaxCapacity: 10,
    });
    template.hasResourceProperties("AWS::ECS::Service", { DesiredCount: 4 });
    template.hasResourceProperties("AWS::ECS::TaskDefinition", { Cpu: "1024", Memory: "2048" });
    template.hasResourceProperties("AWS::ApplicationAutoScaling::ScalingPolicy", {
      TargetTrackingScalingPolicyConfiguration: Match.objectLike({ TargetValue: 50 }),
    });
    template.hasResourceProperties("AWS::ApplicationAutoScaling::ScalingPolicy", {
      TargetTrackingScalingPolicyConfiguration: Match.objectLike({ TargetValue: 500 }),
    });
  });

  it("raises the default maximum to a larger minimum", () => {
    const { template } = mirror({ minCapacity: 8 });
    template.hasResourceProperties("AWS::ApplicationAutoScaling::ScalableTarget", {
      MinCapacity: 8,
      MaxCapacity: 8,
    });
  });

  it.each([
    [{ minCapacity: 5, maxCapacity: 3 }, /minCapacity \(5\) is greater than maxCapacity \(3\)/],
    [{ minCapacity: 0 }, /minCapacity must be a whole number of tasks, at least 1; got 0/],
    [{ maxCapacity: 2.5 }, /maxCapacity must be a whole number of tasks, at least 1; got 2\.5/],
    [
      { minCapacity: 2, maxCapacity: 4, desiredCount: 5 },
      /desiredCount \(5\) must be between minCapacity \(2\) and maxCapacity \(4\)/,
    ],
  ] as [GoMirrorProps, RegExp][])("refuses %j", (props, message) => {
    expect(() => mirror(props)).toThrow(message);
  });
});
