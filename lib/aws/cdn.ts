import { Duration } from "aws-cdk-lib";
import type * as acm from "aws-cdk-lib/aws-certificatemanager";
import * as cloudfront from "aws-cdk-lib/aws-cloudfront";
import { Construct } from "constructs";

/** How long immutable answers (`.mod`, `.zip`, canonical `.info`, sumdb tiles) may be cached. */
export const IMMUTABLE_TTL = Duration.days(365);

export interface MirrorCdnProps {
  /** The origin: the mirror's load balancer, carrying the secret origin header. */
  readonly origin: cloudfront.IOrigin;

  /**
   * How long list, `@latest`, version-query and sumdb `latest`/`lookup` answers are cached,
   * and the cache time for `.info` answers that carry no `Cache-Control`. Zero disables caching
   * of those paths.
   */
  readonly queryTtl: Duration;

  /**
   * Whether the proxy answers `.zip` requests with a redirect to a presigned S3 URL; the
   * redirect expires, so it is then cached like a query instead of for a year.
   */
  readonly zipRedirect: boolean;

  /**
   * The proxy checks client tokens. CloudFront then caches nothing and forwards every request
   * with its `Authorization` header, so no stored answer is served to a client the proxy has
   * not let in (and a revoked token stops working at once).
   *
   * @default false
   */
  readonly clientTokens?: boolean;

  /**
   * A CLOUDFRONT-scope WAF WebACL ARN (from us-east-1, e.g. `GoMirrorWafStack.webAclArn`).
   *
   * @default - no WebACL
   */
  readonly webAclArn?: string;

  /**
   * Alternative domain names for the distribution. Needs `certificate`.
   *
   * @default - the distribution's own cloudfront.net name
   */
  readonly domainNames?: string[];

  /**
   * A certificate in us-east-1 covering `domainNames`.
   *
   * @default - CloudFront's default certificate
   */
  readonly certificate?: acm.ICertificate;

  /**
   * The edge locations served from.
   *
   * @default PriceClass.PRICE_CLASS_100
   */
  readonly priceClass?: cloudfront.PriceClass;
}

/**
 * CloudFront in front of the mirror, with cache behaviours chosen by path.
 *
 * CloudFront path patterns cannot tell a canonical version (`v1.2.3.info`) from a query
 * (`master.info`), so `*.info` uses a policy that follows the origin's `Cache-Control`: the
 * proxy sends `public, max-age=31536000, immutable` for canonical versions and a short
 * max-age for queries. `.mod` and `.zip` requests always name canonical versions, and sumdb
 * tiles never change once published, so those are cached for a year unless the origin says
 * otherwise (errors, for instance).
 */
export class MirrorCdn extends Construct {
  public readonly distribution: cloudfront.Distribution;
  /** Year-long caching for immutable answers; honours a shorter origin `Cache-Control` (not with `clientTokens`). */
  public readonly immutablePolicy?: cloudfront.ICachePolicy;
  /** Follows the origin's `Cache-Control` up to a year; `queryTtl` when it sends none (not with `clientTokens`). */
  public readonly infoPolicy?: cloudfront.ICachePolicy;
  /** At most `queryTtl` (not with `clientTokens`). */
  public readonly queryPolicy?: cloudfront.ICachePolicy;

  constructor(scope: Construct, id: string, props: MirrorCdnProps) {
    super(scope, id);
    if (props.domainNames?.length && !props.certificate) {
      throw new Error(
        `GoMirror: domainNames (${props.domainNames.join(", ")}) need cdnCertificate, an ACM certificate in us-east-1 covering them`,
      );
    }
    const behaviour = (
      cachePolicy: cloudfront.ICachePolicy,
      compress = true,
    ): cloudfront.BehaviorOptions => ({
      origin: props.origin,
      cachePolicy,
      // With caching off, this managed policy is the way CloudFront forwards Authorization.
      originRequestPolicy: props.clientTokens
        ? cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER
        : undefined,
      compress,
      allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
      cachedMethods: cloudfront.CachedMethods.CACHE_GET_HEAD,
      viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
    });
    let behaviours: Pick<cloudfront.DistributionProps, "defaultBehavior" | "additionalBehaviors">;
    if (props.clientTokens) {
      behaviours = { defaultBehavior: behaviour(cloudfront.CachePolicy.CACHING_DISABLED, false) };
    } else {
      const queryTtl = props.queryTtl;
      const immutablePolicy = new cloudfront.CachePolicy(this, "Immutable", {
        comment: "gomirror: .mod, .zip, sumdb tiles",
        minTtl: Duration.seconds(0),
        defaultTtl: IMMUTABLE_TTL,
        maxTtl: IMMUTABLE_TTL,
        enableAcceptEncodingGzip: true,
        enableAcceptEncodingBrotli: true,
      });
      const infoPolicy = new cloudfront.CachePolicy(this, "Info", {
        comment: "gomirror: .info (origin Cache-Control decides)",
        minTtl: Duration.seconds(0),
        defaultTtl: queryTtl,
        maxTtl: IMMUTABLE_TTL,
        enableAcceptEncodingGzip: true,
        enableAcceptEncodingBrotli: true,
      });
      const queryPolicy =
        queryTtl.toSeconds() > 0
          ? new cloudfront.CachePolicy(this, "Query", {
              comment: "gomirror: list, @latest, queries, sumdb latest and lookup",
              minTtl: Duration.seconds(0),
              defaultTtl: queryTtl,
              maxTtl: queryTtl,
              enableAcceptEncodingGzip: true,
              enableAcceptEncodingBrotli: true,
            })
          : cloudfront.CachePolicy.CACHING_DISABLED;
      this.immutablePolicy = immutablePolicy;
      this.infoPolicy = infoPolicy;
      this.queryPolicy = queryPolicy;
      behaviours = {
        defaultBehavior: behaviour(queryPolicy),
        // First match wins; these never overlap, the order only groups them.
        additionalBehaviors: {
          "/sumdb/*/tile/*": behaviour(immutablePolicy, false),
          "/sumdb/*/latest": behaviour(queryPolicy),
          "/sumdb/*/lookup/*": behaviour(queryPolicy),
          "*.mod": behaviour(immutablePolicy),
          "*.zip": behaviour(props.zipRedirect ? queryPolicy : immutablePolicy, false),
          "*.info": behaviour(infoPolicy),
          "*/@v/list": behaviour(queryPolicy),
          "*/@latest": behaviour(queryPolicy),
        },
      };
    }

    this.distribution = new cloudfront.Distribution(this, "Distribution", {
      comment: "gomirror: private Go module proxy",
      ...behaviours,
      priceClass: props.priceClass ?? cloudfront.PriceClass.PRICE_CLASS_100,
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      enableIpv6: true,
      webAclId: props.webAclArn,
      domainNames: props.domainNames,
      certificate: props.certificate,
      // Settable only with a custom certificate; the default one is fixed at TLSv1.
      minimumProtocolVersion: props.certificate ? cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021 : undefined,
    });
  }
}
