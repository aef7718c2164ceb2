import { Duration } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import type * as ecs from "aws-cdk-lib/aws-ecs";
import * as elbv2 from "aws-cdk-lib/aws-elasticloadbalancingv2";
import type { ProxyLogMetrics } from "./log-metrics";

/** What the metrics are read from: the parts of a `GoMirror`. */
export interface GoMirrorMetricsSources {
  readonly loadBalancer: elbv2.IApplicationLoadBalancer;
  readonly targetGroup: elbv2.IApplicationTargetGroup;
  readonly service: ecs.FargateService;
  readonly logMetrics: ProxyLogMetrics;
}

/**
 * The metric factory of a mirror (`GoMirror.metrics`): one `metricXxx()` per signal, with the
 * period and statistic the alarms and the dashboard use, each overridable through `props`.
 */
export class GoMirrorMetrics {
  constructor(private readonly sources: GoMirrorMetricsSources) {}

  /** Requests reaching the load balancer (Sum per period). */
  public metricRequestCount(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.sources.loadBalancer.metrics.requestCount({ period: Duration.minutes(1), ...props });
  }

  /** 5xx answers from the targets and from the load balancer itself. */
  public metric5xxCount(props?: cloudwatch.MetricOptions): cloudwatch.IMetric {
    const lb = this.sources.loadBalancer.metrics;
    return new cloudwatch.MathExpression({
      expression: "FILL(target5xx, 0) + FILL(elb5xx, 0)",
      usingMetrics: {
        target5xx: lb.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, props),
        elb5xx: lb.httpCodeElb(elbv2.HttpCodeElb.ELB_5XX_COUNT, props),
      },
      label: "5xx answers",
      period: props?.period ?? Duration.minutes(1),
    });
  }

  /** Share of requests answered 5xx by the targets or the load balancer, in percent. */
  public metric5xxRate(props?: cloudwatch.MathExpressionOptions): cloudwatch.IMetric {
    const period = props?.period ?? Duration.minutes(1);
    const lb = this.sources.loadBalancer.metrics;
    return new cloudwatch.MathExpression({
      expression: "IF(requests > 0, 100 * (FILL(target5xx, 0) + FILL(elb5xx, 0)) / requests, 0)",
      usingMetrics: {
        requests: lb.requestCount({ period }),
        target5xx: lb.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, { period }),
        elb5xx: lb.httpCodeElb(elbv2.HttpCodeElb.ELB_5XX_COUNT, { period }),
      },
      label: "5xx rate (%)",
      ...props,
      period,
    });
  }

  /** 95th percentile of the targets' response time, in seconds. */
  public metricLatencyP95(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.sources.targetGroup.metrics.targetResponseTime({
      statistic: "p95",
      period: Duration.minutes(1),
      ...props,
    });
  }

  /** 99th percentile of the targets' response time, in seconds. */
  public metricLatencyP99(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.sources.targetGroup.metrics.targetResponseTime({
      statistic: "p99",
      period: Duration.minutes(1),
      ...props,
    });
  }

  /** Targets failing the readiness check (Maximum). */
  public metricUnhealthyHosts(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.sources.targetGroup.metrics.unhealthyHostCount({
      statistic: "Maximum",
      period: Duration.minutes(1),
      ...props,
    });
  }

  /** Targets passing the readiness check (Minimum). */
  public metricHealthyHosts(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.sources.targetGroup.metrics.healthyHostCount({
      statistic: "Minimum",
      period: Duration.minutes(1),
      ...props,
    });
  }

  /** The service's CPU use in percent of its reservation. */
  public metricCpuUtilization(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.sources.service.metricCpuUtilization({ period: Duration.minutes(5), ...props });
  }

  /** The service's memory use in percent of its reservation. */
  public metricMemoryUtilization(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.sources.service.metricMemoryUtilization({ period: Duration.minutes(5), ...props });
  }

  /** Failed requests to upstream proxies and VCS hosts (from the proxy's logs). */
  public metricUpstreamErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.sources.logMetrics.metricUpstreamErrors(props);
  }

  /** Downloads whose hash disagreed with the checksum database (from the proxy's logs). */
  public metricChecksumMismatches(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.sources.logMetrics.metricChecksumMismatches(props);
  }

  /** Times an upstream was skipped after repeated failures (from the proxy's logs). */
  public metricUpstreamSkips(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.sources.logMetrics.metricUpstreamSkips(props);
  }

  /**
   * Zips evicted to keep a disk store under GOMIRROR_DISK_MAX (from the proxy's logs). With the
   * S3 bucket GoMirror uses, the bucket's lifecycle rules remove objects instead, unlogged.
   */
  public metricEvictions(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.sources.logMetrics.metricEvictions(props);
  }

  /** Downloads refused because the spool space was taken (from the proxy's logs). */
  public metricSpoolFull(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.sources.logMetrics.metricSpoolFull(props);
  }
}
