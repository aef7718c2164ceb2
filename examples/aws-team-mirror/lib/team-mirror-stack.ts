import { Duration, Stack, type StackProps } from "aws-cdk-lib";
import * as sns from "aws-cdk-lib/aws-sns";
import * as subscriptions from "aws-cdk-lib/aws-sns-subscriptions";
import type { Construct } from "constructs";
import { GoMirror } from "gomirror/aws";

export interface TeamMirrorStackProps extends StackProps {
  /** The office and VPN ranges allowed through CloudFront. */
  readonly allowedIpRanges: string[];
  /** Where alarm notifications go. */
  readonly alarmEmail?: string;
}

/**
 * The team's mirror: public modules cached from proxy.golang.org, private ones from GitHub.
 * Two locks on the door: only the team's networks reach CloudFront, and every request needs a
 * client token from the token secret (a laptop's netrc, or a CI secret).
 */
export class TeamMirrorStack extends Stack {
  public readonly mirror: GoMirror;

  constructor(scope: Construct, id: string, props: TeamMirrorStackProps) {
    super(scope, id, props);

    const alarmTopic = new sns.Topic(this, "Alarms", { enforceSSL: true });
    if (props.alarmEmail) alarmTopic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));

    this.mirror = new GoMirror(this, "Mirror", {
      upstreams: ["https://proxy.golang.org", "direct"],
      // Fetched from git with the netrc in the created GitCredentials secret.
      privatePatterns: ["github.com/acme-corp/*"],
      cacheTtl: Duration.minutes(2),
      allowedIpRanges: props.allowedIpRanges,
      auth: {},
      alarmTopic,
      minCapacity: 2,
      maxCapacity: 4,
    });
  }
}
