import { Duration } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import * as events from "aws-cdk-lib/aws-events";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import { AwsSolutionsChecks } from "cdk-nag";
import { GoMirror } from "../../lib/aws";
import { registryImage, testStack } from "./support";

describe("GoMirror sync", () => {
  // given a mirror with client tokens that syncs from a peer every six hours with the peer's token
  const build = () => {
    const stack = testStack();
    const token = secretsmanager.Secret.fromSecretCompleteArn(
      stack,
      "PeerToken",
      "arn:aws:secretsmanager:eu-west-1:111111111111:secret:site-a-token-AbCdEf",
    );
    const mirror = new GoMirror(stack, "Mirror", {
      image: registryImage(),
      auth: {},
      sync: {
        from: "https://gomirror.site-a.example",
        schedule: events.Schedule.rate(Duration.hours(6)),
        token,
      },
    });
    return { stack, mirror, template: Template.fromStack(stack) };
  };

  it("schedules a Fargate task running gomirror sync with the proxy's storage and the peer's token", () => {
    const { template } = build();
    template.hasResourceProperties("AWS::Events::Rule", {
      ScheduleExpression: "rate(6 hours)",
      Targets: [
        Match.objectLike({
          EcsParameters: Match.objectLike({
            LaunchType: "FARGATE",
            NetworkConfiguration: { AwsVpcConfiguration: Match.objectLike({ AssignPublicIp: "DISABLED" }) },
          }),
        }),
      ],
    });
    template.hasResourceProperties("AWS::ECS::TaskDefinition", {
      ContainerDefinitions: [
        Match.objectLike({
          Name: "Sync",
          Command: ["sync", "--from", "https://gomirror.site-a.example"],
          ReadonlyRootFilesystem: true,
          Environment: Match.arrayWith([Match.objectLike({ Name: "GOMIRROR_STORAGE" })]),
          Secrets: [Match.objectLike({ Name: "GOMIRROR_TOKEN" })],
        }),
      ],
    });
    // The sync task is no server: no listen address in its environment.
    const defs = Object.values(template.findResources("AWS::ECS::TaskDefinition"));
    const sync = defs.flatMap((d) => d.Properties.ContainerDefinitions).find((c) => c.Name === "Sync");
    expect(sync.Environment.map((e: { Name: string }) => e.Name)).not.toContain("GOMIRROR_LISTEN");
  });

  it("adds nothing without the prop", () => {
    const stack = testStack();
    new GoMirror(stack, "Mirror", { image: registryImage(), auth: {} });
    Template.fromStack(stack).resourceCountIs("AWS::Events::Rule", 0);
  });

  it("is cdk-nag clean", () => {
    const { stack } = build();
    const report = new AwsSolutionsChecks().validateScope(stack);
    const found = report.violations.flatMap((v) =>
      v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath ?? r.resourceLogicalId}`),
    );
    expect(found).toEqual([]);
  });

  it("refuses a peer that is not a URL", () => {
    const stack = testStack();
    expect(
      () => new GoMirror(stack, "Mirror", { image: registryImage(), auth: {}, sync: { from: "site-a" } }),
    ).toThrow(/sync.from "site-a" is not an http\(s\) URL/);
  });
});
