import { Duration, Stack, type CfnElement } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as sns from "aws-cdk-lib/aws-sns";
import { GoMirror, type GoMirrorProps } from "../../lib/aws";
import { registryImage, testStack } from "./support";

function mirror(props: GoMirrorProps = {}): { stack: Stack; mirror: GoMirror; template: Template } {
  const stack = testStack();
  const m = new GoMirror(stack, "Mirror", { image: registryImage(), auth: {}, ...props });
  return { stack, mirror: m, template: Template.fromStack(stack) };
}

function ref(stack: Stack, construct: { node: { defaultChild?: unknown } }): { Ref: string } {
  return { Ref: stack.getLogicalId(construct.node.defaultChild as CfnElement) };
}

describe("GoMirror alarms", () => {
  // given the defaults
  const { stack, mirror: m, template } = mirror();
  const topic = ref(stack, m.alarmTopic as sns.Topic);

  it("creates nine alarms, each notifying the topic on ALARM and OK", () => {
    const alarms = Object.values(template.findResources("AWS::CloudWatch::Alarm"));
    expect(alarms).toHaveLength(9);
    for (const alarm of alarms) {
      expect(alarm.Properties.AlarmActions).toEqual([topic]);
      expect(alarm.Properties.OKActions).toEqual([topic]);
      expect(alarm.Properties.TreatMissingData).toBe("notBreaching");
    }
  });

  it("creates a TLS-only topic when none is given", () => {
    template.resourceCountIs("AWS::SNS::Topic", 1);
    template.hasResourceProperties("AWS::SNS::TopicPolicy", {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
        ]),
      },
    });
  });

  it("alarms on a 5xx rate above 5% from target and load balancer 5xx over requests", () => {
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      AlarmDescription: Match.stringLikeRegexp("5xx"),
      Threshold: 5,
      ComparisonOperator: "GreaterThanThreshold",
      EvaluationPeriods: 5,
      DatapointsToAlarm: 3,
      Metrics: Match.arrayWith([
        Match.objectLike({
          Expression: "IF(requests > 0, 100 * (FILL(target5xx, 0) + FILL(elb5xx, 0)) / requests, 0)",
        }),
        Match.objectLike({
          Id: "requests",
          MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: "RequestCount" }) }),
        }),
        Match.objectLike({
          Id: "target5xx",
          MetricStat: Match.objectLike({
            Metric: Match.objectLike({
              MetricName: "HTTPCode_Target_5XX_Count",
              Namespace: "AWS/ApplicationELB",
            }),
            Stat: "Sum",
          }),
        }),
        Match.objectLike({
          Id: "elb5xx",
          MetricStat: Match.objectLike({
            Metric: Match.objectLike({ MetricName: "HTTPCode_ELB_5XX_Count" }),
          }),
        }),
      ]),
    });
  });

  it("alarms on p95 target response time above 2 s", () => {
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      MetricName: "TargetResponseTime",
      ExtendedStatistic: "p95",
      Threshold: 2,
      ComparisonOperator: "GreaterThanThreshold",
      Period: 60,
    });
  });

  it("alarms on one or more unhealthy targets", () => {
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      MetricName: "UnHealthyHostCount",
      Statistic: "Maximum",
      Threshold: 1,
      ComparisonOperator: "GreaterThanOrEqualToThreshold",
    });
  });

  it("alarms on CPU and memory above 85%", () => {
    for (const metric of ["CPUUtilization", "MemoryUtilization"]) {
      template.hasResourceProperties("AWS::CloudWatch::Alarm", {
        Namespace: "AWS/ECS",
        MetricName: metric,
        Threshold: 85,
        Period: 300,
        ComparisonOperator: "GreaterThanThreshold",
      });
    }
  });

  it("counts upstream errors and checksum mismatches from the JSON logs", () => {
    const logGroup = ref(stack, m.logGroup);
    const namespace = m.metrics.metricUpstreamErrors().namespace;
    expect(namespace).toMatch(/^GoMirror\/\S+$/);
    template.hasResourceProperties("AWS::Logs::MetricFilter", {
      LogGroupName: logGroup,
      FilterPattern: '{ $.event = "upstream_error" }',
      MetricTransformations: [
        {
          MetricNamespace: namespace,
          MetricName: "UpstreamErrors",
          MetricValue: "1",
          DefaultValue: 0,
          Unit: "Count",
        },
      ],
    });
    template.hasResourceProperties("AWS::Logs::MetricFilter", {
      LogGroupName: logGroup,
      FilterPattern: '{ $.event = "checksum_mismatch" }',
      MetricTransformations: [
        Match.objectLike({ MetricNamespace: namespace, MetricName: "ChecksumMismatches" }),
      ],
    });
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      Namespace: namespace,
      MetricName: "UpstreamErrors",
      Statistic: "Sum",
      Threshold: 10,
      Period: 300,
      ComparisonOperator: "GreaterThanOrEqualToThreshold",
    });
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      Namespace: namespace,
      MetricName: "ChecksumMismatches",
      Threshold: 1,
      EvaluationPeriods: 1,
      DatapointsToAlarm: 1,
      ComparisonOperator: "GreaterThanOrEqualToThreshold",
    });
  });

  it("builds a dashboard showing every alarm and metric", () => {
    const dashboards = Object.values(template.findResources("AWS::CloudWatch::Dashboard"));
    expect(dashboards).toHaveLength(1);
    const body = JSON.stringify(dashboards[0].Properties.DashboardBody);
    for (const text of [
      "RequestCount",
      "TargetResponseTime",
      "UnHealthyHostCount",
      "HealthyHostCount",
      "CPUUtilization",
      "MemoryUtilization",
      "UpstreamErrors",
      "ChecksumMismatches",
      "alarm",
    ]) {
      expect(body).toContain(text);
    }
  });
});

describe("GoMirror alarm options", () => {
  it("uses the given thresholds", () => {
    const { template } = mirror({
      alarmThresholds: {
        http5xxRatePercent: 1,
        latencyP95: Duration.millis(1500),
        unhealthyHosts: 2,
        cpuUtilizationPercent: 70,
        memoryUtilizationPercent: 75,
        upstreamErrorsPer5Minutes: 50,
        checksumMismatchesPer5Minutes: 3,
        upstreamSkipsPer5Minutes: 4,
        spoolFullPer5Minutes: 5,
      },
    });
    const thresholds = Object.values(template.findResources("AWS::CloudWatch::Alarm")).map((a) => [
      a.Properties.MetricName ?? "5xx-rate",
      a.Properties.Threshold,
    ]);
    expect(Object.fromEntries(thresholds)).toEqual({
      "5xx-rate": 1,
      TargetResponseTime: 1.5,
      UnHealthyHostCount: 2,
      CPUUtilization: 70,
      MemoryUtilization: 75,
      UpstreamErrors: 50,
      ChecksumMismatches: 3,
      UpstreamSkips: 4,
      SpoolFull: 5,
    });
  });

  it("notifies a given topic and creates none", () => {
    const stack = testStack();
    new GoMirror(stack, "Mirror", {
      image: registryImage(),
      auth: {},
      alarmTopic: sns.Topic.fromTopicArn(stack, "Ops", "arn:aws:sns:eu-west-1:111111111111:ops"),
      metricNamespace: "Acme/GoMirror",
      dashboardName: "gomirror",
    });
    const template = Template.fromStack(stack);
    template.resourceCountIs("AWS::SNS::Topic", 0);
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      AlarmActions: ["arn:aws:sns:eu-west-1:111111111111:ops"],
    });
    template.hasResourceProperties("AWS::Logs::MetricFilter", {
      MetricTransformations: [Match.objectLike({ MetricNamespace: "Acme/GoMirror" })],
    });
    template.hasResourceProperties("AWS::CloudWatch::Dashboard", { DashboardName: "gomirror" });
  });
});

describe("GoMirror metric helpers", () => {
  const { mirror: m } = mirror();

  it.each([
    ["metricRequestCount", "AWS/ApplicationELB", "RequestCount", "Sum"],
    ["metricLatencyP99", "AWS/ApplicationELB", "TargetResponseTime", "p99"],
    ["metricUnhealthyHosts", "AWS/ApplicationELB", "UnHealthyHostCount", "Maximum"],
    ["metricHealthyHosts", "AWS/ApplicationELB", "HealthyHostCount", "Minimum"],
    ["metricCpuUtilization", "AWS/ECS", "CPUUtilization", "Average"],
    ["metricMemoryUtilization", "AWS/ECS", "MemoryUtilization", "Average"],
    ["metricUpstreamErrors", undefined, "UpstreamErrors", "Sum"],
    ["metricChecksumMismatches", undefined, "ChecksumMismatches", "Sum"],
  ] as const)("%s is %s %s (%s)", (method, namespace, metricName, statistic) => {
    const metric = m.metrics[method]() as cloudwatch.Metric;
    expect(metric).toBeInstanceOf(cloudwatch.Metric);
    expect(metric.metricName).toBe(metricName);
    expect(metric.statistic).toBe(statistic);
    if (namespace) expect(metric.namespace).toBe(namespace);
  });

  it("metric5xxRate and metric5xxCount are math expressions honouring the period", () => {
    const rate = m.metrics.metric5xxRate({ period: Duration.minutes(5) }) as cloudwatch.MathExpression;
    expect(rate).toBeInstanceOf(cloudwatch.MathExpression);
    expect(rate.period.toMinutes()).toBe(5);
    expect(Object.keys(rate.usingMetrics).sort()).toEqual(["elb5xx", "requests", "target5xx"]);
    const count = m.metrics.metric5xxCount() as cloudwatch.MathExpression;
    expect(count.expression).toBe("FILL(target5xx, 0) + FILL(elb5xx, 0)");
  });
});
