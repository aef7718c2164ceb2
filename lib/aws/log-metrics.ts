import { Duration } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as logs from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";

/** The `event` values in the proxy's JSON log lines that become CloudWatch metrics. */
export const LOG_EVENTS = {
  upstreamError: "upstream_error",
  checksumMismatch: "checksum_mismatch",
  /** A change of an upstream's circuit breaker; `state: "open"` is a skip. */
  upstreamState: "upstream_state",
  /** One round of disk evictions; `zips` says how many. */
  storageEvicted: "storage_evicted",
  /** A download refused because the spool space (GOMIRROR_SPOOL_MAX) is taken. */
  spoolFull: "spool_full",
} as const;

export interface ProxyLogMetricsProps {
  /** The log group the proxy's container writes its JSON lines to. */
  readonly logGroup: logs.ILogGroup;
  /** The CloudWatch namespace for the metrics the filters publish. */
  readonly namespace: string;
}

/**
 * Metric filters that count the proxy's structured log events: failures talking to an
 * upstream proxy or VCS host, checksum mismatches against the checksum database, upstreams
 * skipped after repeated failures, zips evicted from a disk store, and downloads refused
 * because the spool was full.
 */
export class ProxyLogMetrics extends Construct {
  /** Counts `{"event":"upstream_error"}` lines. */
  public readonly upstreamErrors: logs.MetricFilter;
  /** Counts `{"event":"checksum_mismatch"}` lines. */
  public readonly checksumMismatches: logs.MetricFilter;
  /** Counts `{"event":"upstream_state","state":"open"}` lines: an upstream taken out of use. */
  public readonly upstreamSkips: logs.MetricFilter;
  /** Adds up `zips` of `{"event":"storage_evicted"}` lines. */
  public readonly evictions: logs.MetricFilter;
  /** Counts `{"event":"spool_full"}` lines. */
  public readonly spoolFull: logs.MetricFilter;

  constructor(scope: Construct, id: string, props: ProxyLogMetricsProps) {
    super(scope, id);
    const count = (
      filterId: string,
      pattern: logs.IFilterPattern,
      metricName: string,
      metricValue = "1",
    ): logs.MetricFilter =>
      props.logGroup.addMetricFilter(filterId, {
        filterPattern: pattern,
        metricNamespace: props.namespace,
        metricName,
        metricValue,
        defaultValue: 0,
        unit: cloudwatch.Unit.COUNT,
      });
    const event = (name: string): logs.JsonPattern => logs.FilterPattern.stringValue("$.event", "=", name);
    this.upstreamErrors = count("UpstreamErrors", event(LOG_EVENTS.upstreamError), "UpstreamErrors");
    this.checksumMismatches = count(
      "ChecksumMismatches",
      event(LOG_EVENTS.checksumMismatch),
      "ChecksumMismatches",
    );
    this.upstreamSkips = count(
      "UpstreamSkips",
      logs.FilterPattern.all(
        event(LOG_EVENTS.upstreamState),
        logs.FilterPattern.stringValue("$.state", "=", "open"),
      ),
      "UpstreamSkips",
    );
    this.evictions = count("Evictions", event(LOG_EVENTS.storageEvicted), "EvictedZips", "$.zips");
    this.spoolFull = count("SpoolFull", event(LOG_EVENTS.spoolFull), "SpoolFull");
  }

  /** Upstream failures per period (Sum). */
  public metricUpstreamErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.upstreamErrors.metric({ statistic: "Sum", period: Duration.minutes(5), ...props });
  }

  /** Checksum mismatches per period (Sum). */
  public metricChecksumMismatches(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.checksumMismatches.metric({ statistic: "Sum", period: Duration.minutes(5), ...props });
  }

  /** Times an upstream was skipped after repeated failures, per period (Sum). */
  public metricUpstreamSkips(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.upstreamSkips.metric({ statistic: "Sum", period: Duration.minutes(5), ...props });
  }

  /** Zips evicted from a disk store per period (Sum). */
  public metricEvictions(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.evictions.metric({ statistic: "Sum", period: Duration.minutes(5), ...props });
  }

  /** Downloads refused because the spool was full, per period (Sum). */
  public metricSpoolFull(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.spoolFull.metric({ statistic: "Sum", period: Duration.minutes(5), ...props });
  }
}
