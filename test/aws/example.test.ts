import { Match, Template } from "aws-cdk-lib/assertions";
import { normaliseTemplate, testApp } from "./support";

// The example imports the construct as a user does, `from "gomirror/aws"`. Inside this repository
// that name is the package's own entry point, lib/aws/index.ts (the example's tsconfig.json maps it
// the same way for type checking; app.test.ts runs the example through the real cdk CLI).
jest.mock("gomirror/aws", () => jest.requireActual("../../lib/aws"), { virtual: true });

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { TeamMirrorStack } = require("../../examples/aws-team-mirror/lib/team-mirror-stack") as {
  TeamMirrorStack: typeof import("../../examples/aws-team-mirror/lib/team-mirror-stack").TeamMirrorStack;
};

describe("examples/aws-team-mirror", () => {
  // given the example's wiring (bin/team-mirror.ts): the mirror in eu-west-1, its allowlist in us-east-1
  const app = testApp();
  const stack = new TeamMirrorStack(app, "TeamMirror", {
    env: { region: "eu-west-1" },
    crossRegionReferences: true,
    allowedIpRanges: ["203.0.113.0/24", "2001:db8:1234::/48"],
    alarmEmail: "go-team@example.com",
  });
  const waf = stack.mirror.wafStack!;
  const template = Template.fromStack(stack);

  it("fetches the team's private modules from git and the rest from proxy.golang.org", () => {
    template.hasResourceProperties("AWS::ECS::TaskDefinition", {
      ContainerDefinitions: [
        Match.objectLike({
          Environment: Match.arrayWith([
            { Name: "GOMIRROR_CACHE_TTL", Value: "120" },
            { Name: "GOPROXY", Value: "https://proxy.golang.org,direct" },
            { Name: "GOPRIVATE", Value: "github.com/acme-corp/*" },
          ]),
          Secrets: [Match.objectLike({ Name: "GOMIRROR_NETRC" })],
        }),
      ],
    });
  });

  it("attaches the us-east-1 allowlist to CloudFront through a cross-region reference", () => {
    template.hasResourceProperties("AWS::CloudFront::Distribution", {
      DistributionConfig: Match.objectLike({
        WebACLId: {
          "Fn::GetAtt": [Match.stringLikeRegexp("ExportsReader"), Match.stringLikeRegexp("WebAcl")],
        },
      }),
    });
    Template.fromStack(waf).hasResourceProperties("AWS::WAFv2::WebACL", { Scope: "CLOUDFRONT" });
  });

  it("sends alarms to the team's topic with an e-mail subscription", () => {
    template.resourceCountIs("AWS::SNS::Topic", 1);
    template.hasResourceProperties("AWS::SNS::Subscription", {
      Protocol: "email",
      Endpoint: "go-team@example.com",
    });
  });

  it("matches the snapshot", () => {
    expect(normaliseTemplate(template.toJSON())).toMatchSnapshot("TeamMirror");
    expect(normaliseTemplate(Template.fromStack(waf).toJSON())).toMatchSnapshot("TeamMirrorWaf");
  });
});
