import { Stack, Validations } from "aws-cdk-lib";
import * as cr from "aws-cdk-lib/custom-resources";
import { Construct } from "constructs";

/** The AWS-managed prefix list of CloudFront's addresses that connect to origins. */
export const CLOUDFRONT_ORIGIN_FACING_PREFIX_LIST = "com.amazonaws.global.cloudfront.origin-facing";

/**
 * Looks up the id of CloudFront's origin-facing prefix list at deploy time, in the stack's
 * region (the id differs per region).
 *
 * A context lookup (`ec2.PrefixList.fromLookup`) would need AWS credentials at synth time; a
 * deploy-time SDK call keeps `cdk synth` offline. Pass `originPrefixListId` to `GoMirror`
 * to skip this custom resource when you know the id.
 */
export class CloudFrontOriginPrefixList extends Construct {
  /** The prefix list id (`pl-...`), resolved at deploy time. */
  public readonly prefixListId: string;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    const call: cr.AwsSdkCall = {
      service: "EC2",
      action: "DescribeManagedPrefixLists",
      parameters: { Filters: [{ Name: "prefix-list-name", Values: [CLOUDFRONT_ORIGIN_FACING_PREFIX_LIST] }] },
      physicalResourceId: cr.PhysicalResourceId.of(CLOUDFRONT_ORIGIN_FACING_PREFIX_LIST),
      outputPaths: ["PrefixLists.0.PrefixListId"],
    };
    const lookup = new cr.AwsCustomResource(this, "Lookup", {
      onCreate: call,
      onUpdate: call,
      policy: cr.AwsCustomResourcePolicy.fromSdkCalls({ resources: cr.AwsCustomResourcePolicy.ANY_RESOURCE }),
      installLatestAwsSdk: false,
    });
    this.prefixListId = lookup.getResponseField("PrefixLists.0.PrefixListId");

    Validations.of(lookup).acknowledge({
      id: "AwsSolutions-IAM5[Resource::*]",
      reason:
        "ec2:DescribeManagedPrefixLists supports no resource-level permissions; the policy allows only that read-only call",
    });
    // The SDK-call function is a stack-wide singleton created by aws-cdk-lib.
    const provider = Stack.of(this).node.tryFindChild(
      `AWS${cr.AwsCustomResource.PROVIDER_FUNCTION_UUID.replace(/-/g, "")}`,
    );
    if (provider) {
      Validations.of(provider).acknowledge(
        {
          id: "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
          reason:
            "aws-cdk-lib's AwsCustomResource function needs only to write its own logs, which this AWS policy grants",
        },
        {
          id: "AwsSolutions-L1",
          reason:
            "the runtime of aws-cdk-lib's AwsCustomResource function is chosen and updated by aws-cdk-lib",
        },
      );
    }
  }
}
