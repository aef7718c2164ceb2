#!/usr/bin/env node
/**
 * The CDK app `cdk.json` runs: a team mirror with the defaults, for trying gomirror out of this
 * repository (`npx cdk synth`, `npx cdk deploy`). Settings come from context (`-c name=value`):
 *
 * - `gomirror:allowedIpRanges`: comma-separated CIDRs; adds the `GoMirrorWaf` stack (us-east-1)
 *   holding a CloudFront IP allowlist. Deploy it first, then pass its output:
 * - `gomirror:webAclArn`: the allowlist's ARN, attached to the distribution.
 * - `gomirror:privatePatterns`: comma-separated GOPRIVATE patterns.
 *
 * The mirror's stack is environment-agnostic, so synth needs no AWS credentials or lookups.
 */
import { App, Stack } from "aws-cdk-lib";
import { GoMirror, GoMirrorWafStack } from "../lib/aws";

const app = new App();
const list = (name: string): string[] | undefined => {
  const value: unknown = app.node.tryGetContext(name);
  if (value === undefined || value === "") return undefined;
  return String(value)
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");
};

const allowedIpRanges = list("gomirror:allowedIpRanges");
if (allowedIpRanges) {
  new GoMirrorWafStack(app, "GoMirrorWaf", { allowedIpRanges });
}

const stack = new Stack(app, "GoMirror", { description: "gomirror: a private Go module proxy" });
new GoMirror(stack, "Mirror", {
  webAclArn: app.node.tryGetContext("gomirror:webAclArn") as string | undefined,
  privatePatterns: list("gomirror:privatePatterns"),
});
