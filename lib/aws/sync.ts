import { Duration } from "aws-cdk-lib";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as ecs from "aws-cdk-lib/aws-ecs";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import type * as logs from "aws-cdk-lib/aws-logs";
import type * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import { Construct } from "constructs";
import { TMP_DIR } from "../image-contract";
import type { MirrorStorage } from "./storage";

/** `gomirror sync` on a schedule: copies what another gomirror stored and this one lacks. */
export interface GoMirrorSyncOptions {
  /** The peer gomirror's URL (what its clients put in GOPROXY). */
  readonly from: string;
  /**
   * When to sync.
   * @default events.Schedule.rate(Duration.hours(1))
   */
  readonly schedule?: events.Schedule;
  /**
   * A Secrets Manager secret holding a client token of the peer (passed as GOMIRROR_TOKEN).
   * @default - none: the peer must admit anonymous clients
   */
  readonly token?: secretsmanager.ISecret;
}

export interface MirrorSyncProps extends GoMirrorSyncOptions {
  readonly cluster: ecs.ICluster;
  readonly image: ecs.ContainerImage;
  /** The proxy's environment: the same storage and checksum database. */
  readonly environment: Record<string, string>;
  readonly storage: MirrorStorage;
  readonly logGroup: logs.ILogGroup;
}

/**
 * An EventBridge rule that starts a Fargate task running `gomirror sync --from <peer>` on the
 * mirror's bucket, in the private subnets, with the proxy's settings. Tasks that overlap are
 * harmless: each file is stored create-only and where a sync stopped is kept in the bucket.
 */
export class MirrorSync extends Construct {
  public readonly taskDefinition: ecs.FargateTaskDefinition;
  public readonly rule: events.Rule;
  public readonly securityGroup: ec2.SecurityGroup;
  public readonly cluster: ecs.ICluster;

  constructor(scope: Construct, id: string, props: MirrorSyncProps) {
    super(scope, id);
    this.cluster = props.cluster;
    if (!/^https?:\/\/[^\s/]+/.test(props.from)) {
      throw new Error(`GoMirror: sync.from "${props.from}" is not an http(s) URL of a gomirror`);
    }
    this.taskDefinition = new ecs.FargateTaskDefinition(this, "TaskDef", {
      cpu: 512,
      memoryLimitMiB: 1024,
      volumes: [{ name: "tmp" }],
    });
    const { GOMIRROR_LISTEN: _listen, ...environment } = props.environment;
    const container = this.taskDefinition.addContainer("Sync", {
      image: props.image,
      essential: true,
      readonlyRootFilesystem: true,
      command: ["sync", "--from", props.from],
      environment,
      secrets: props.token ? { GOMIRROR_TOKEN: ecs.Secret.fromSecretsManager(props.token) } : undefined,
      logging: ecs.LogDrivers.awsLogs({ streamPrefix: "sync", logGroup: props.logGroup }),
    });
    container.addMountPoints({ sourceVolume: "tmp", containerPath: TMP_DIR, readOnly: false });
    props.storage.grantReadWrite(this.taskDefinition.taskRole);

    this.securityGroup = new ec2.SecurityGroup(this, "SecurityGroup", {
      vpc: props.cluster.vpc,
      description: "gomirror sync: outbound to the peer mirror, the checksum database and S3",
      allowAllOutbound: true,
    });
    this.rule = new events.Rule(this, "Schedule", {
      schedule: props.schedule ?? events.Schedule.rate(Duration.hours(1)),
      targets: [
        new targets.EcsTask({
          cluster: props.cluster,
          taskDefinition: this.taskDefinition,
          subnetSelection: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
          securityGroups: [this.securityGroup],
          launchType: ecs.LaunchType.FARGATE,
        }),
      ],
    });
  }
}
