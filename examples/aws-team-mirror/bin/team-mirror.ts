#!/usr/bin/env node
import { App } from "aws-cdk-lib";
import { GoMirrorWafStack } from "gomirror/aws";
import { TeamMirrorStack } from "../lib/team-mirror-stack";

const app = new App();

// The mirror's region; CloudFront's allowlist always lives in us-east-1.
const region =
  (app.node.tryGetContext("region") as string | undefined) ?? process.env.CDK_DEFAULT_REGION ?? "eu-west-1";

// Replace with your office and VPN ranges.
const waf = new GoMirrorWafStack(app, "TeamMirrorWaf", {
  allowedIpRanges: ["203.0.113.0/24", "2001:db8:1234::/48"],
  crossRegionReferences: true,
});

new TeamMirrorStack(app, "TeamMirror", {
  env: { region },
  crossRegionReferences: true,
  webAclArn: waf.webAclArn,
  alarmEmail: app.node.tryGetContext("alarmEmail") as string | undefined,
});
