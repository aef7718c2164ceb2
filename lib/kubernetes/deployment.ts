import {
  DeploymentV1,
  type DeploymentV1SpecStrategy,
  type DeploymentV1SpecTemplateSpecContainerSecurityContext,
  type DeploymentV1SpecTemplateSpecSecurityContext,
} from "@cdktf/provider-kubernetes/lib/deployment-v1";
import type { Construct } from "constructs";
import {
  CONTAINER_PORT,
  LIVENESS_PATH,
  PORT_NAME,
  READINESS_PATH,
  RUN_AS_USER,
  TMP_DIR,
} from "../image-contract";
import { METRICS_PORT_NAME, SHUTDOWN_DELAY_SECONDS, TERMINATION_GRACE_SECONDS } from "./image-contract";
import type { EnvVar, PodParts } from "./pod-parts";
import type { ResourceRequirements, TopologySpreadOptions } from "./props";

/** Everything the Deployment is built from, already validated by the construct. */
export interface DeploymentContext {
  readonly name: string;
  readonly namespace: string;
  readonly labels: Record<string, string>;
  readonly selector: Record<string, string>;
  readonly image: string;
  readonly imagePullPolicy: string;
  readonly imagePullSecrets: string[];
  readonly serviceAccountName: string;
  /** Undefined when a HorizontalPodAutoscaler owns the count. */
  readonly replicas: number | undefined;
  /** False on a ReadWriteOnce volume: the old pod must let go of it before the new one starts. */
  readonly rollingUpdate: boolean;
  readonly resources: ResourceRequirements;
  readonly topologySpread: TopologySpreadOptions;
  readonly tmpSizeLimit: string;
  readonly podAnnotations: Record<string, string>;
  readonly nodeSelector: Record<string, string>;
  /** Storage, proxy settings, git credentials and access control, in that order. */
  readonly parts: PodParts;
  /** The proxy serves HTTPS itself, so probes speak HTTPS. */
  readonly https: boolean;
  /** The port of a separate `/metrics` listener, when there is one. */
  readonly metricsPort: number | undefined;
}

/** The restricted Pod Security Standard, and then some: nothing the proxy does needs privileges. */
export const POD_SECURITY_CONTEXT: DeploymentV1SpecTemplateSpecSecurityContext = {
  runAsNonRoot: true,
  runAsUser: String(RUN_AS_USER),
  runAsGroup: String(RUN_AS_USER),
  // Volumes (the cache claim, credential files) become group-owned by the proxy's group.
  fsGroup: String(RUN_AS_USER),
  fsGroupChangePolicy: "OnRootMismatch",
  seccompProfile: { type: "RuntimeDefault" },
};

export const CONTAINER_SECURITY_CONTEXT: DeploymentV1SpecTemplateSpecContainerSecurityContext = {
  runAsNonRoot: true,
  runAsUser: String(RUN_AS_USER),
  runAsGroup: String(RUN_AS_USER),
  readOnlyRootFilesystem: true,
  allowPrivilegeEscalation: false,
  privileged: false,
  capabilities: { drop: ["ALL"] },
  seccompProfile: { type: "RuntimeDefault" },
};

function strategy(rolling: boolean): DeploymentV1SpecStrategy {
  if (!rolling) return { type: "Recreate" };
  // Bring a new pod up and ready before an old one goes: capacity never drops during a rollout.
  return { type: "RollingUpdate", rollingUpdate: { maxSurge: "1", maxUnavailable: "0" } };
}

export function createDeployment(scope: Construct, ctx: DeploymentContext): DeploymentV1 {
  const tmpVolume = "tmp";
  return new DeploymentV1(scope, "Deployment", {
    metadata: { name: ctx.name, namespace: ctx.namespace, labels: ctx.labels },
    spec: {
      replicas: ctx.replicas === undefined ? undefined : String(ctx.replicas),
      selector: { matchLabels: ctx.selector },
      strategy: strategy(ctx.rollingUpdate),
      revisionHistoryLimit: 5,
      template: {
        metadata: {
          labels: ctx.labels,
          annotations: Object.keys(ctx.podAnnotations).length > 0 ? ctx.podAnnotations : undefined,
        },
        spec: {
          serviceAccountName: ctx.serviceAccountName,
          automountServiceAccountToken: false,
          // Service links would add a *_PORT variable per Service in the namespace to the proxy's env.
          enableServiceLinks: false,
          terminationGracePeriodSeconds: TERMINATION_GRACE_SECONDS,
          securityContext: POD_SECURITY_CONTEXT,
          nodeSelector: Object.keys(ctx.nodeSelector).length > 0 ? ctx.nodeSelector : undefined,
          imagePullSecrets:
            ctx.imagePullSecrets.length > 0 ? ctx.imagePullSecrets.map((name) => ({ name })) : undefined,
          topologySpreadConstraint: [
            {
              maxSkew: ctx.topologySpread.maxSkew ?? 1,
              topologyKey: ctx.topologySpread.topologyKey ?? "kubernetes.io/hostname",
              whenUnsatisfiable: ctx.topologySpread.whenUnsatisfiable ?? "ScheduleAnyway",
              labelSelector: [{ matchLabels: ctx.selector }],
            },
          ],
          container: [
            {
              name: "gomirror",
              image: ctx.image,
              imagePullPolicy: ctx.imagePullPolicy,
              port: [
                { name: PORT_NAME, containerPort: CONTAINER_PORT, protocol: "TCP" },
                ...(ctx.metricsPort === undefined
                  ? []
                  : [{ name: METRICS_PORT_NAME, containerPort: ctx.metricsPort, protocol: "TCP" }]),
              ],
              env: ctx.parts.env,
              resources: {
                requests: ctx.resources.requests as Record<string, string> | undefined,
                limits: ctx.resources.limits as Record<string, string> | undefined,
              },
              readinessProbe: {
                httpGet: { path: READINESS_PATH, port: PORT_NAME, scheme: ctx.https ? "HTTPS" : undefined },
                periodSeconds: 10,
                timeoutSeconds: 3,
                failureThreshold: 3,
              },
              livenessProbe: {
                httpGet: { path: LIVENESS_PATH, port: PORT_NAME, scheme: ctx.https ? "HTTPS" : undefined },
                initialDelaySeconds: 10,
                periodSeconds: 20,
                timeoutSeconds: 5,
                failureThreshold: 3,
              },
              securityContext: CONTAINER_SECURITY_CONTEXT,
              volumeMount: [{ name: tmpVolume, mountPath: TMP_DIR }, ...ctx.parts.volumeMounts],
            },
          ],
          volume: [{ name: tmpVolume, emptyDir: { sizeLimit: ctx.tmpSizeLimit } }, ...ctx.parts.volumes],
        },
      },
    },
  });
}

/** What the pod's environment starts with: the image's address and the drain delay on SIGTERM. */
export function baseEnvironment(): EnvVar[] {
  return [
    { name: "GOMIRROR_LISTEN", value: `0.0.0.0:${CONTAINER_PORT}` },
    { name: "GOMIRROR_SHUTDOWN_DELAY", value: String(SHUTDOWN_DELAY_SECONDS) },
  ];
}
