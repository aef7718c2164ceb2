import { Stack } from "aws-cdk-lib";
import type { IConstruct } from "constructs";

/**
 * The text cdk-nag puts between the brackets of a per-resource finding such as
 * `AwsSolutions-IAM5[Resource::<Bucket1234.Arn>/gomirror/*]`, for a value that may hold
 * tokens: references become `<LogicalId>` or `<LogicalId.Attribute>`, joins are joined.
 * Lets an acknowledgement name exactly one finding instead of the whole rule.
 */
export function nagFindingText(scope: IConstruct, value: string): string {
  const flatten = (node: unknown): string => {
    if (node === undefined) return "";
    if (typeof node === "string") return node.replace(/\$\{/g, "<").replace(/\}/g, ">");
    const fn = node as Record<string, unknown>;
    if (Array.isArray(fn["Fn::Join"])) {
      const [separator, parts] = fn["Fn::Join"] as [string, unknown[]];
      return parts.map(flatten).join(separator);
    }
    if (Array.isArray(fn["Fn::GetAtt"])) {
      const [resource, attribute] = fn["Fn::GetAtt"] as [unknown, unknown];
      return `<${flatten(resource)}.${flatten(attribute)}>`;
    }
    if (fn.Ref !== undefined) return `<${flatten(fn.Ref)}>`;
    return JSON.stringify(node);
  };
  return flatten(Stack.of(scope).resolve(value));
}
