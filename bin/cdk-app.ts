#!/usr/bin/env node
/**
 * The CDK app `cdk.json` runs: a team mirror, for trying gomirror out of this repository
 * (`npx cdk synth`, `npx cdk deploy`). It is private by default: with no context, clients need a
 * token from the created token secret (see docs/aws.md, "Clients"). Context (`-c name=value`)
 * chooses otherwise:
 *
 * - `gomirror:allowedIpRanges`: comma-separated CIDRs allowed through CloudFront (a WAF WebACL in
 *   us-east-1, deployed by `cdk deploy --all` before the mirror). Needs the mirror's region:
 *   `gomirror:region`, or the CLI's default region.
 * - `gomirror:webAclArn`: an existing CLOUDFRONT-scope WebACL instead.
 * - `gomirror:tokens`: `false` to go without client tokens when an allowlist or WebACL is given.
 * - `gomirror:privatePatterns`: comma-separated GOPRIVATE patterns.
 *
 * Without an allowlist the mirror's stack is environment-agnostic, so synth needs no AWS
 * credentials or lookups.
 */
import { App, Stack } from "aws-cdk-lib";
import { GoMirror } from "../lib/aws";

const app = new App();
const text = (name: string): string | undefined => {
  const value: unknown = app.node.tryGetContext(name);
  return value === undefined || value === "" ? undefined : String(value);
};
const list = (name: string): string[] | undefined =>
  text(name)
    ?.split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");

const allowedIpRanges = list("gomirror:allowedIpRanges");
const webAclArn = text("gomirror:webAclArn");
const tokens = text("gomirror:tokens") !== "false";
if (!tokens && !allowedIpRanges && !webAclArn) {
  throw new Error(
    "gomirror:tokens=false leaves the mirror open: also set -c gomirror:allowedIpRanges=<CIDR,...> " +
      "or -c gomirror:webAclArn=<arn>",
  );
}

let region: string | undefined;
if (allowedIpRanges) {
  region = text("gomirror:region") ?? process.env.CDK_DEFAULT_REGION;
  if (region === undefined) {
    throw new Error(
      "gomirror:allowedIpRanges puts CloudFront's allowlist in us-east-1 and reads it from the mirror's " +
        "region: set -c gomirror:region=<region> (or configure a default region for the CDK CLI)",
    );
  }
}

const stack = new Stack(app, "GoMirror", {
  description: "gomirror: a private Go module proxy",
  ...(region ? { env: { region }, crossRegionReferences: true } : {}),
});
new GoMirror(stack, "Mirror", {
  auth: tokens ? {} : undefined,
  allowedIpRanges,
  webAclArn,
  privatePatterns: list("gomirror:privatePatterns"),
});
