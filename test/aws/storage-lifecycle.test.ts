import { Duration } from "aws-cdk-lib";
import { Annotations, Match, Template } from "aws-cdk-lib/assertions";
import * as s3 from "aws-cdk-lib/aws-s3";
import { GoMirror, type GoMirrorProps } from "../../lib/aws";
import { WEB_ACL_ARN } from "./fixtures";
import { registryImage, testStack } from "./support";

function synth(props: GoMirrorProps = {}) {
  const stack = testStack();
  new GoMirror(stack, "Mirror", { image: registryImage(), webAclArn: WEB_ACL_ARN, ...props });
  return { stack, template: Template.fromStack(stack) };
}

function lifecycleRules(template: Template): { Id: string }[] {
  const buckets = Object.values(template.findResources("AWS::S3::Bucket"));
  expect(buckets).toHaveLength(1);
  return buckets[0].Properties.LifecycleConfiguration.Rules as { Id: string }[];
}

function environment(template: Template): Record<string, unknown> {
  const defs = Object.values(template.findResources("AWS::ECS::TaskDefinition"));
  const env = defs[0].Properties.ContainerDefinitions[0].Environment as { Name: string; Value: unknown }[];
  return Object.fromEntries(env.map((e) => [e.Name, e.Value]));
}

describe("GoMirror storage lifecycle", () => {
  it("moves zips (objects of 128 KiB and more) under the prefix to Intelligent-Tiering by default; nothing expires", () => {
    const { template } = synth();
    expect(lifecycleRules(template)).toEqual([
      expect.objectContaining({ Id: "AbortIncompleteUploads" }),
      {
        Id: "IntelligentTiering",
        Status: "Enabled",
        Prefix: "gomirror/",
        ObjectSizeGreaterThan: 131071,
        Transitions: [{ StorageClass: "INTELLIGENT_TIERING", TransitionInDays: 0 }],
      },
    ]);
    expect(environment(template)).not.toHaveProperty("GOMIRROR_S3_LAST_REQUESTED");
  });

  it("can leave every object in S3 Standard", () => {
    const { template } = synth({ intelligentTiering: false });
    expect(lifecycleRules(template).map((r) => r.Id)).toEqual(["AbortIncompleteUploads"]);
  });

  it("expires objects not requested for N days, and has the proxy renew what it serves", () => {
    const { template } = synth({ expireUnrequestedAfter: Duration.days(90), storagePrefix: "team/cache" });
    expect(lifecycleRules(template)).toEqual([
      expect.objectContaining({ Id: "AbortIncompleteUploads" }),
      expect.objectContaining({ Id: "IntelligentTiering", Prefix: "team/cache/" }),
      { Id: "ExpireUnrequested", Status: "Enabled", Prefix: "team/cache/", ExpirationInDays: 90 },
    ]);
    expect(environment(template).GOMIRROR_S3_LAST_REQUESTED).toBe("true");
  });

  it("applies the rules to the whole bucket when the prefix is empty", () => {
    const { template } = synth({ expireUnrequestedAfter: Duration.days(30), storagePrefix: "" });
    for (const rule of lifecycleRules(template)) expect(rule).not.toHaveProperty("Prefix");
  });

  it("keeps the user's lifecycle rules after its own", () => {
    const { template } = synth({
      expireUnrequestedAfter: Duration.days(30),
      bucketProps: { lifecycleRules: [{ id: "Mine", expiration: Duration.days(400) }] },
    });
    expect(lifecycleRules(template).map((r) => r.Id)).toEqual([
      "AbortIncompleteUploads",
      "IntelligentTiering",
      "ExpireUnrequested",
      "Mine",
    ]);
  });

  it.each([
    [Duration.days(1), /expireUnrequestedAfter is 1 day; give whole days, at least 2/],
    [Duration.hours(60), /expireUnrequestedAfter is 2 days 12 hours; give whole days/],
  ])("refuses an expiry of %s", (expiry, message) => {
    expect(() => synth({ expireUnrequestedAfter: expiry })).toThrow(message);
  });

  it("refuses lifecycle rules for an existing bucket, saying what to do instead", () => {
    const stack = testStack();
    const existingBucket = s3.Bucket.fromBucketName(stack, "Shared", "acme-shared-cache");
    expect(
      () =>
        new GoMirror(stack, "Mirror", {
          image: registryImage(),
          webAclArn: WEB_ACL_ARN,
          existingBucket,
          expireUnrequestedAfter: Duration.days(30),
        }),
    ).toThrow(
      /add them to your bucket yourself, and for expiry set environment: \{ GOMIRROR_S3_LAST_REQUESTED: "true" \}/,
    );
  });

  it("lets users of an existing bucket turn the renewal on themselves", () => {
    const stack = testStack();
    new GoMirror(stack, "Mirror", {
      image: registryImage(),
      webAclArn: WEB_ACL_ARN,
      existingBucket: s3.Bucket.fromBucketName(stack, "Shared", "acme-shared-cache"),
      environment: { GOMIRROR_S3_LAST_REQUESTED: "true" },
    });
    expect(environment(Template.fromStack(stack)).GOMIRROR_S3_LAST_REQUESTED).toBe("true");
  });

  it("refuses the renewal in environment when expireUnrequestedAfter already sets it", () => {
    expect(() =>
      synth({
        expireUnrequestedAfter: Duration.days(30),
        environment: { GOMIRROR_S3_LAST_REQUESTED: "true" },
      }),
    ).toThrow(/environment.GOMIRROR_S3_LAST_REQUESTED is set by GoMirror itself/);
  });

  it("warns that a versioned bucket keeps every renewal as a noncurrent version", () => {
    const { stack } = synth({ expireUnrequestedAfter: Duration.days(30), bucketProps: { versioned: true } });
    Annotations.fromStack(stack).hasWarning("*", Match.stringLikeRegexp("noncurrentVersionExpiration"));
  });
});
