import { Validations, type Stack } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import type { IConstruct } from "constructs";
import { GoMirror } from "../../lib/aws";
import { CONFIGURATIONS } from "./fixtures";
import { registryImage, testStack } from "./support";

/** Unacknowledged AwsSolutions findings, as "rule at construct path" lines. */
function findings(stack: Stack): string[] {
  const report = new AwsSolutionsChecks().validateScope(stack);
  return report.violations.flatMap((v) =>
    v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath ?? r.resourceLogicalId}`),
  );
}

/** Every acknowledgement recorded in the tree: rule id and reason. */
function acknowledgements(root: IConstruct): { id: string; reason: string; path: string }[] {
  return root.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) =>
        Object.entries(m.data as Record<string, string>).map(([id, reason]) => ({
          id,
          reason,
          path: c.node.path,
        })),
      ),
  );
}

describe.each(CONFIGURATIONS)("cdk-nag AwsSolutions on $name", ({ build }) => {
  const stacks = build();

  it("reports no unacknowledged findings", () => {
    expect(stacks.flatMap(findings)).toEqual([]);
  });

  it("gives every acknowledgement a specific reason", () => {
    // (aws-cdk-lib records a few acknowledgements of its own for the CloudFormation validator)
    const ours = stacks.flatMap(acknowledgements).filter((ack) => ack.id.includes("AwsSolutions-"));
    for (const ack of ours) {
      expect(ack.id).toMatch(/^(.*::)?AwsSolutions-[A-Z]+\d+(\[.+\])?$/);
      // A reason says why this resource may deviate, not that it may.
      expect(ack.reason.length).toBeGreaterThan(60);
      expect(ack.reason).not.toMatch(/^(n\/a|todo|ok|not needed|suppressed)/i);
    }
  });
});

describe("cdk-nag acknowledgements stay conditional", () => {
  it("a public mirror without CDN stays flagged as open to the world", () => {
    // given a public ALB, asked for with publicAccess, then the open ingress is not acknowledged
    const stack = testStack();
    new GoMirror(stack, "Mirror", { image: registryImage(), cdn: false, publicAccess: true });
    expect(findings(stack)).toEqual([expect.stringMatching(/^AwsSolutions-EC23 at .*LBSecurityGroup/)]);
  });

  it("CloudFront without a WebACL is acknowledged for client tokens, never for a public mirror", () => {
    // given CloudFront with neither a WebACL nor tokens, then CFR2 (a warning) is not acknowledged
    const cfr2 = (props: { auth?: object; publicAccess?: boolean }): string[] => {
      const stack = testStack();
      new GoMirror(stack, "Mirror", { image: registryImage(), ...props });
      return acknowledgements(stack)
        .filter((ack) => ack.id.endsWith("AwsSolutions-CFR2"))
        .map((ack) => ack.reason);
    };
    expect(cfr2({ publicAccess: true })).toEqual([]);
    expect(cfr2({ auth: {} })).toEqual([
      expect.stringMatching(/^clients are let in by the tokens the proxy checks/),
    ]);
  });

  it("the task role's wildcard is acknowledged only for its own object prefix", () => {
    // given an extra wildcard statement on the task role, then it is reported
    const stack = testStack();
    const mirror = new GoMirror(stack, "Mirror", { image: registryImage(), auth: {} });
    mirror.bucket.grantRead(mirror.taskDefinition.taskRole);
    expect(findings(stack).join("\n")).toMatch(/AwsSolutions-IAM5\[Action::s3:GetBucket\*\] at .*TaskRole/);
  });
});
