import { CronJobV1 } from "@cdktf/provider-kubernetes/lib/cron-job-v1";
import type { Construct } from "constructs";
import { TMP_DIR } from "../image-contract";
import { CONTAINER_SECURITY_CONTEXT, POD_SECURITY_CONTEXT } from "./deployment";
import { APP_NAME } from "./labels";
import { type PodParts, secretKeyEnv } from "./pod-parts";
import type { ResourceRequirements } from "./props";
import { checkDnsSubdomain, checkSecretKey, fail } from "./validation";

/** `gomirror sync` on a schedule: copies what another gomirror stored and this one lacks. */
export interface SyncScheduleOptions {
  /** The peer gomirror's URL (what its clients put in GOPROXY), e.g. `https://gomirror.site-a.example`. */
  readonly from: string;
  /**
   * When to sync, in cron syntax.
   * @default "17 * * * *" (hourly)
   */
  readonly schedule?: string;
  /**
   * An existing Secret holding a client token of the peer (passed as GOMIRROR_TOKEN).
   * @default none: the peer must admit anonymous clients
   */
  readonly tokenSecret?: { readonly name: string; /** @default "token" */ readonly key?: string };
}

export interface SyncJobContext {
  readonly name: string;
  readonly namespace: string;
  /** The user's extra labels (the proxy's selector labels are not put on sync pods). */
  readonly extraLabels: Record<string, string>;
  readonly image: string;
  readonly imagePullPolicy: string;
  readonly imagePullSecrets: string[];
  readonly serviceAccountName: string;
  readonly sharedStorage: boolean;
  readonly storageDescription: string;
  readonly resources: ResourceRequirements;
  readonly tmpSizeLimit: string;
  /** The proxy's storage, settings and credentials: the job reads and writes the same storage. */
  readonly parts: PodParts;
}

export const DEFAULT_SYNC_SCHEDULE = "17 * * * *";

export function createSyncCronJob(
  scope: Construct,
  options: SyncScheduleOptions,
  ctx: SyncJobContext,
): CronJobV1 {
  if (!/^https?:\/\/[^\s/]+/.test(options.from)) {
    fail(
      `sync.from "${options.from}" is not an http(s) URL of a gomirror, like https://gomirror.site-a.example`,
    );
  }
  const schedule = options.schedule ?? DEFAULT_SYNC_SCHEDULE;
  if (
    schedule.trim().split(/\s+/).length !== 5 &&
    !/^@(hourly|daily|weekly|monthly|yearly)$/.test(schedule)
  ) {
    fail(`sync.schedule "${schedule}" is not a cron schedule of five fields, like "17 * * * *"`);
  }
  if (!ctx.sharedStorage) {
    fail(
      `sync runs in pods of its own beside the proxy's, but storage is ${ctx.storageDescription}, which one pod ` +
        `mounts at a time; use GoMirrorStorage.s3(...) or accessMode "ReadWriteMany" to sync`,
    );
  }
  const token = options.tokenSecret;
  if (token) {
    checkDnsSubdomain(token.name, "sync.tokenSecret.name");
    if (token.key !== undefined) checkSecretKey(token.key, "sync.tokenSecret.key");
  }
  // Not the proxy's selector labels: its Service must never send requests to a sync pod.
  const labels = {
    ...ctx.extraLabels,
    "app.kubernetes.io/name": `${APP_NAME}-sync`,
    "app.kubernetes.io/instance": ctx.name,
    "app.kubernetes.io/component": "sync",
    "app.kubernetes.io/managed-by": "cdktf",
  };
  // Settings meant for the server (its address, its drain delay) mean nothing to the job.
  const env = ctx.parts.env.filter((e) => !["GOMIRROR_LISTEN", "GOMIRROR_SHUTDOWN_DELAY"].includes(e.name));
  if (token) env.push(secretKeyEnv("GOMIRROR_TOKEN", token.name, token.key ?? "token"));
  return new CronJobV1(scope, "SyncJob", {
    metadata: { name: `${ctx.name}-sync`, namespace: ctx.namespace, labels },
    spec: {
      schedule,
      // A sync that is still running is left to finish; the next one goes on from where it stops.
      concurrencyPolicy: "Forbid",
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 3,
      jobTemplate: {
        metadata: { labels },
        spec: {
          backoffLimit: 2,
          template: {
            metadata: { labels },
            spec: {
              restartPolicy: "Never",
              serviceAccountName: ctx.serviceAccountName,
              automountServiceAccountToken: false,
              enableServiceLinks: false,
              securityContext: POD_SECURITY_CONTEXT,
              imagePullSecrets:
                ctx.imagePullSecrets.length > 0 ? ctx.imagePullSecrets.map((name) => ({ name })) : undefined,
              container: [
                {
                  name: "sync",
                  image: ctx.image,
                  imagePullPolicy: ctx.imagePullPolicy,
                  args: ["sync", "--from", options.from],
                  env,
                  resources: {
                    requests: ctx.resources.requests as Record<string, string> | undefined,
                    limits: ctx.resources.limits as Record<string, string> | undefined,
                  },
                  securityContext: CONTAINER_SECURITY_CONTEXT,
                  volumeMount: [{ name: "tmp", mountPath: TMP_DIR }, ...ctx.parts.volumeMounts],
                },
              ],
              volume: [{ name: "tmp", emptyDir: { sizeLimit: ctx.tmpSizeLimit } }, ...ctx.parts.volumes],
            },
          },
        },
      },
    },
  });
}
