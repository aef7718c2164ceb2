import { Token } from "aws-cdk-lib";
import type { GoMirrorProps } from "./props";

/**
 * The checks on `GoMirrorProps` that span several props, in one place; each error names the
 * props and says what to change. Single values are checked where they are used (CIDRs by the
 * allowlist, proxy settings by the proxy's own parser).
 */

/** Where clients reach the mirror: through CloudFront, an internet-facing or an internal load balancer. */
export interface Exposure {
  readonly cdn: boolean;
  readonly internal: boolean;
}

const WEB_ACL_ARN = /^arn:aws[a-z-]*:wafv2:us-east-1:\d{12}:global\/webacl\/[\w-]+\/[\w-]+$/;

/**
 * Checks how the mirror is exposed and who may use it. A mirror reachable from the internet
 * must say who may use it; props that only apply to another exposure are refused, not ignored.
 */
export function checkExposure(props: GoMirrorProps): Exposure {
  const internal = props.internal ?? false;
  if (internal && props.cdn === true) {
    throw new Error("GoMirror: internal puts no CloudFront in front of the load balancer; remove cdn: true");
  }
  const cdn = props.cdn ?? !internal;
  if (!cdn) {
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
  if (props.allowedIpRanges?.length === 0) {
    throw new Error(
      "GoMirror: allowedIpRanges is empty, which would block every client; list your team's CIDR ranges",
    );
  }
  if (props.allowedSecurityGroups && !internal) {
    throw new Error(
      "GoMirror: allowedSecurityGroups applies to an internal mirror (internal: true); an internet-facing " +
        "load balancer is guarded by allowedIpRanges, webAclArn or auth",
    );
  }
  if (cdn && props.webAclArn !== undefined && props.allowedIpRanges !== undefined) {
    throw new Error(
      "GoMirror: webAclArn and allowedIpRanges both set the distribution's WebACL; keep one " +
        "(add the ranges to your WebACL, or drop webAclArn and let allowedIpRanges create one)",
    );
  }
  if (
    props.webAclArn !== undefined &&
    !Token.isUnresolved(props.webAclArn) &&
    !WEB_ACL_ARN.test(props.webAclArn)
  ) {
    throw new Error(
      `GoMirror: webAclArn "${props.webAclArn}" is not the ARN of a CLOUDFRONT-scope WebACL, which looks like ` +
        "arn:aws:wafv2:us-east-1:111111111111:global/webacl/name/id",
    );
  }
  if (internal) {
    if (!props.allowedIpRanges && !props.allowedSecurityGroups?.length) {
      throw new Error(
        "GoMirror: an internal mirror is reachable only from allowedIpRanges and allowedSecurityGroups; " +
          "give at least one (for example the CIDR of your VPN or peered VPC)",
      );
    }
  } else if (!props.allowedIpRanges && !props.webAclArn && !props.auth && !props.publicAccess) {
    throw new Error(
      "GoMirror: this mirror would be open to anyone on the internet. Say who may use it: allowedIpRanges " +
        "(an IP allowlist), webAclArn (your WAF WebACL), auth (client tokens), internal: true (VPC only), " +
        "or publicAccess: true to accept an open mirror",
    );
  }
  const privateModules = (props.privatePatterns?.length ?? 0) > 0 || (props.noProxy?.length ?? 0) > 0;
  if (props.publicAccess && privateModules && !props.auth) {
    throw new Error(
      "GoMirror: publicAccess with privatePatterns or noProxy would serve your private modules to anyone; " +
        "add auth so that only token holders read them",
    );
  }
  if (props.auth && !cdn && !props.certificate) {
    throw new Error(
      "GoMirror: auth without CloudFront needs certificate: tokens must not travel in clear, and the go command " +
        "sends netrc credentials over HTTPS only",
    );
  }
  if (cdn && props.certificate && !props.loadBalancerDomainName) {
    throw new Error(
      "GoMirror: certificate with CloudFront needs loadBalancerDomainName, a DNS name for the load balancer " +
        "covered by the certificate (CloudFront checks the origin's certificate against it)",
    );
  }
  return { cdn, internal };
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
