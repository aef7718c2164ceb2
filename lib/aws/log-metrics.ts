import { Duration } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as logs from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";

/** The `event` values in the proxy's JSON log lines that become CloudWatch metrics. */
export const LOG_EVENTS = {
  upstreamError: "upstream_error",
  checksumMismatch: "checksum_mismatch",
} as const;

export interface ProxyLogMetricsProps {
  /** The log group the proxy's container writes its JSON lines to. */
  readonly logGroup: logs.ILogGroup;
  /** The CloudWatch namespace for the metrics the filters publish. */
  readonly namespace: string;
}

/**
 * Metric filters that count the proxy's structured log events: failures talking to an
 * upstream proxy or VCS host, and checksum mismatches against the checksum database.
 */
export class ProxyLogMetrics extends Construct {
  /** Counts `{"event":"upstream_error"}` lines. */
  public readonly upstreamErrors: logs.MetricFilter;
  /** Counts `{"event":"checksum_mismatch"}` lines. */
  public readonly checksumMismatches: logs.MetricFilter;

  constructor(scope: Construct, id: string, props: ProxyLogMetricsProps) {
    super(scope, id);
    const count = (filterId: string, event: string, metricName: string): logs.MetricFilter =>
      props.logGroup.addMetricFilter(filterId, {
        filterPattern: logs.FilterPattern.stringValue("$.event", "=", event),
        metricNamespace: props.namespace,
        metricName,
        metricValue: "1",
        defaultValue: 0,
        unit: cloudwatch.Unit.COUNT,
      });
    this.upstreamErrors = count("UpstreamErrors", LOG_EVENTS.upstreamError, "UpstreamErrors");
    this.checksumMismatches = count("ChecksumMismatches", LOG_EVENTS.checksumMismatch, "ChecksumMismatches");
  }

  /** Upstream failures per period (Sum). */
  public metricUpstreamErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.upstreamErrors.metric({ statistic: "Sum", period: Duration.minutes(5), ...props });
  }

  /** Checksum mismatches per period (Sum). */
  public metricChecksumMismatches(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.checksumMismatches.metric({ statistic: "Sum", period: Duration.minutes(5), ...props });
  }
}
