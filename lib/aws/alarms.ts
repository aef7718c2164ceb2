import { Duration } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as actions from "aws-cdk-lib/aws-cloudwatch-actions";
import * as sns from "aws-cdk-lib/aws-sns";
import { Construct } from "constructs";
import { READINESS_PATH } from "../image-contract";
import type { GoMirrorMetrics } from "./metrics";

/** When the mirror's alarms fire. Every alarm sends to the alarm topic on ALARM and OK. */
export interface GoMirrorAlarmThresholds {
  /**
   * 5xx answers as a percentage of requests, over 1-minute periods, 3 of 5 breaching.
   *
   * @default 5
   */
  readonly http5xxRatePercent?: number;

  /**
   * p95 target response time (time to the response's first byte) over 1-minute periods,
   * 3 of 5 breaching. `.zip` answers stream, so this measures the wait, not the download.
   *
   * @default Duration.seconds(2)
   */
  readonly latencyP95?: Duration;

  /**
   * Unhealthy targets (Maximum over 1 minute), 2 of 3 breaching. At or above fires.
   *
   * @default 1
   */
  readonly unhealthyHosts?: number;

  /**
   * Service CPU utilisation percent over 5-minute periods, 2 of 3 breaching.
   *
   * @default 85
   */
  readonly cpuUtilizationPercent?: number;

  /**
   * Service memory utilisation percent over 5-minute periods, 2 of 3 breaching.
   *
   * @default 85
   */
  readonly memoryUtilizationPercent?: number;

  /**
   * Upstream failures per 5 minutes, 2 of 3 breaching. At or above fires.
   *
   * @default 10
   */
  readonly upstreamErrorsPer5Minutes?: number;

  /**
   * Times an upstream was skipped after repeated failures (GOMIRROR_UPSTREAM_MAX_FAILS) per
   * 5 minutes; one period suffices. At or above fires.
   *
   * @default 1
   */
  readonly upstreamSkipsPer5Minutes?: number;

  /**
   * Downloads refused because the spool space (GOMIRROR_SPOOL_MAX) was taken, per 5 minutes,
   * 2 of 3 breaching. At or above fires.
   *
   * @default 1
   */
  readonly spoolFullPer5Minutes?: number;

  /**
   * Checksum mismatches per 5 minutes; one period suffices, as a mismatch means an upstream
   * served content that differs from what the checksum database recorded. At or above fires.
   *
   * @default 1
   */
  readonly checksumMismatchesPer5Minutes?: number;
}

export interface GoMirrorAlarmsProps {
  /** Where the metrics come from. */
  readonly metrics: GoMirrorMetrics;
  /** The topic that receives ALARM and OK notifications. */
  readonly topic: sns.ITopic;
  /**
   * Alarm thresholds.
   *
   * @default - each threshold's own default
   */
  readonly thresholds?: GoMirrorAlarmThresholds;
}

/** The mirror's CloudWatch alarms, all notifying one SNS topic. */
export class GoMirrorAlarms extends Construct {
  public readonly http5xxRate: cloudwatch.Alarm;
  public readonly latencyP95: cloudwatch.Alarm;
  public readonly unhealthyHosts: cloudwatch.Alarm;
  public readonly cpuUtilization: cloudwatch.Alarm;
  public readonly memoryUtilization: cloudwatch.Alarm;
  public readonly upstreamErrors: cloudwatch.Alarm;
  public readonly upstreamSkips: cloudwatch.Alarm;
  public readonly spoolFull: cloudwatch.Alarm;
  public readonly checksumMismatches: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: GoMirrorAlarmsProps) {
    super(scope, id);
    const t = props.thresholds ?? {};
    const m = props.metrics;
    const minute = Duration.minutes(1);
    const fiveMinutes = Duration.minutes(5);
    const action = new actions.SnsAction(props.topic);
    const alarm = (
      alarmId: string,
      metric: cloudwatch.IMetric,
      threshold: number,
      description: string,
      shape: { evaluationPeriods: number; datapointsToAlarm: number; atOrAbove?: boolean },
    ): cloudwatch.Alarm => {
      const created = new cloudwatch.Alarm(this, alarmId, {
        metric,
        threshold,
        evaluationPeriods: shape.evaluationPeriods,
        datapointsToAlarm: shape.datapointsToAlarm,
        comparisonOperator: shape.atOrAbove
          ? cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
          : cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
      created.addAlarmAction(action);
      created.addOkAction(action);
      return created;
    };

    const rate = t.http5xxRatePercent ?? 5;
    this.http5xxRate = alarm(
      "Http5xxRate",
      m.metric5xxRate({ period: minute }),
      rate,
      `gomirror: more than ${rate}% of requests answered 5xx`,
      { evaluationPeriods: 5, datapointsToAlarm: 3 },
    );
    const p95 = t.latencyP95 ?? Duration.seconds(2);
    this.latencyP95 = alarm(
      "LatencyP95",
      m.metricLatencyP95({ period: minute }),
      p95.toSeconds({ integral: false }),
      `gomirror: p95 response time above ${p95.toHumanString()}`,
      { evaluationPeriods: 5, datapointsToAlarm: 3 },
    );
    const unhealthy = t.unhealthyHosts ?? 1;
    this.unhealthyHosts = alarm(
      "UnhealthyHosts",
      m.metricUnhealthyHosts({ period: minute }),
      unhealthy,
      `gomirror: ${unhealthy} or more tasks failing the readiness check (${READINESS_PATH})`,
      { evaluationPeriods: 3, datapointsToAlarm: 2, atOrAbove: true },
    );
    const cpu = t.cpuUtilizationPercent ?? 85;
    this.cpuUtilization = alarm(
      "CpuUtilization",
      m.metricCpuUtilization({ period: fiveMinutes }),
      cpu,
      `gomirror: CPU above ${cpu}%`,
      { evaluationPeriods: 3, datapointsToAlarm: 2 },
    );
    const memory = t.memoryUtilizationPercent ?? 85;
    this.memoryUtilization = alarm(
      "MemoryUtilization",
      m.metricMemoryUtilization({ period: fiveMinutes }),
      memory,
      `gomirror: memory above ${memory}%`,
      { evaluationPeriods: 3, datapointsToAlarm: 2 },
    );
    const upstream = t.upstreamErrorsPer5Minutes ?? 10;
    this.upstreamErrors = alarm(
      "UpstreamErrors",
      m.metricUpstreamErrors({ period: fiveMinutes }),
      upstream,
      `gomirror: ${upstream} or more upstream failures in 5 minutes`,
      { evaluationPeriods: 3, datapointsToAlarm: 2, atOrAbove: true },
    );
    const skips = t.upstreamSkipsPer5Minutes ?? 1;
    this.upstreamSkips = alarm(
      "UpstreamSkips",
      m.metricUpstreamSkips({ period: fiveMinutes }),
      skips,
      `gomirror: an upstream was skipped after repeated failures ${skips} or more times in 5 minutes`,
      { evaluationPeriods: 1, datapointsToAlarm: 1, atOrAbove: true },
    );
    const spool = t.spoolFullPer5Minutes ?? 1;
    this.spoolFull = alarm(
      "SpoolFull",
      m.metricSpoolFull({ period: fiveMinutes }),
      spool,
      `gomirror: ${spool} or more downloads in 5 minutes refused because the spool space (GOMIRROR_SPOOL_MAX) was taken`,
      { evaluationPeriods: 3, datapointsToAlarm: 2, atOrAbove: true },
    );
    const mismatches = t.checksumMismatchesPer5Minutes ?? 1;
    this.checksumMismatches = alarm(
      "ChecksumMismatches",
      m.metricChecksumMismatches({ period: fiveMinutes }),
      mismatches,
      `gomirror: ${mismatches} or more checksum mismatches against the checksum database`,
      { evaluationPeriods: 1, datapointsToAlarm: 1, atOrAbove: true },
    );
  }

  /** Every alarm, for dashboards and composite alarms. */
  public all(): cloudwatch.Alarm[] {
    return [
      this.http5xxRate,
      this.latencyP95,
      this.unhealthyHosts,
      this.cpuUtilization,
      this.memoryUtilization,
      this.upstreamErrors,
      this.upstreamSkips,
      this.spoolFull,
      this.checksumMismatches,
    ];
  }
}
