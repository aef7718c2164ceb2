#!/usr/bin/env node
import { App } from "aws-cdk-lib";
import { TeamMirrorStack } from "../lib/team-mirror-stack";

const app = new App();

// The mirror's region; CloudFront's allowlist always lives in us-east-1, in a stack the mirror
// creates for it and `cdk deploy --all` deploys first.
const region =
  (app.node.tryGetContext("region") as string | undefined) ?? process.env.CDK_DEFAULT_REGION ?? "eu-west-1";

new TeamMirrorStack(app, "TeamMirror", {
  env: { region },
  crossRegionReferences: true,
  // Replace with your office and VPN ranges.
  allowedIpRanges: ["203.0.113.0/24", "2001:db8:1234::/48"],
  alarmEmail: app.node.tryGetContext("alarmEmail") as string | undefined,
});
