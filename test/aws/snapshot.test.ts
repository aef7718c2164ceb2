import { Template } from "aws-cdk-lib/assertions";
import { CONFIGURATIONS } from "./fixtures";
import { normaliseTemplate } from "./support";

// Whole-template snapshots: a review aid for unexpected changes. What each part must be is
// pinned by the precise assertions in the other files.
describe.each(CONFIGURATIONS)("template snapshot: $name", ({ build }) => {
  it("matches", () => {
    for (const stack of build()) {
      expect(normaliseTemplate(Template.fromStack(stack).toJSON())).toMatchSnapshot(stack.stackName);
    }
  });
});

describe("normaliseTemplate", () => {
  it("replaces asset hashes and nothing else", () => {
    const hash = "f952a0616d82ef5e6932064be48b0c4d6c416a06f1da63a3d540b4884da253b5";
    expect(
      normaliseTemplate({
        Image: { "Fn::Sub": `\${AWS::AccountId}.dkr.ecr.\${AWS::Region}.\${AWS::URLSuffix}/repo:${hash}` },
        S3Key: `${hash}.zip`,
        Short: hash.slice(0, 63),
      }),
    ).toEqual({
      Image: { "Fn::Sub": "${AWS::AccountId}.dkr.ecr.${AWS::Region}.${AWS::URLSuffix}/repo:<asset-hash>" },
      S3Key: "<asset-hash>.zip",
      Short: hash.slice(0, 63),
    });
  });
});
