import { Token } from "aws-cdk-lib";
import type { GoMirrorProps } from "./props";

/**
 * The checks on `GoMirrorProps` that span several props, in one place; each error names the
 * props and says what to change. Single values are checked where they are used (CIDRs by the
 * allowlist, proxy settings by the proxy's own parser).
 */

/** Checks the props that only make sense with or without CloudFront. */
export function checkEdgeProps(props: GoMirrorProps, useCdn: boolean): void {
  if (useCdn && props.allowedIpRanges) {
    throw new Error(
      "GoMirror: allowedIpRanges is for a mirror without CloudFront (cdn: false); with CloudFront, " +
        "deploy GoMirrorWafStack in us-east-1 with those ranges and pass its webAclArn",
    );
  }
  if (!useCdn) {
    for (const name of [
      "webAclArn",
      "originPrefixListId",
      "domainNames",
      "cdnCertificate",
      "priceClass",
    ] as const) {
      if (props[name] !== undefined) {
        throw new Error(
          `GoMirror: ${name} configures CloudFront, but cdn is false; remove it or drop cdn: false`,
        );
      }
    }
  }
  if (useCdn && props.certificate && !props.loadBalancerDomainName) {
    throw new Error(
      "GoMirror: certificate with CloudFront needs loadBalancerDomainName, a DNS name for the load balancer " +
        "covered by the certificate (CloudFront checks the origin's certificate against it)",
    );
  }
}

export interface Capacity {
  readonly min: number;
  readonly max: number;
  readonly desired?: number;
}

/** Validates min / max / desired task counts. */
export function checkCapacity(props: GoMirrorProps): Capacity {
  const min = props.minCapacity ?? 2;
  const max = props.maxCapacity ?? Math.max(6, min);
  for (const [name, value] of [
    ["minCapacity", min],
    ["maxCapacity", max],
  ] as const) {
    if (!Token.isUnresolved(value) && (!Number.isInteger(value) || value < 1)) {
      throw new Error(`GoMirror: ${name} must be a whole number of tasks, at least 1; got ${value}`);
    }
  }
  if (min > max) {
    throw new Error(
      `GoMirror: minCapacity (${min}) is greater than maxCapacity (${max}); raise maxCapacity or lower minCapacity`,
    );
  }
  const desired = props.desiredCount;
  if (desired !== undefined && (desired < min || desired > max)) {
    throw new Error(
      `GoMirror: desiredCount (${desired}) must be between minCapacity (${min}) and maxCapacity (${max})`,
    );
  }
  return { min, max, desired };
}
