import type { ClientTokensOptions, ProxyTlsOptions } from "./access";
import type { GitCredentialsOptions } from "./git-credentials";
import type { IngressOptions } from "./ingress";
import type { MonitoringOptions } from "./monitoring";
import type { NetworkPolicyOptions } from "./network-policy";
import type { ProxySettings } from "./proxy-settings";
import type { GoMirrorStorage } from "./storage";
import type { SyncScheduleOptions } from "./sync";

/** CPU and memory amounts in Kubernetes quantities (`250m`, `512Mi`). */
export interface ResourceQuantities {
  /** @default none */
  readonly cpu?: string;
  /** @default none */
  readonly memory?: string;
}

export interface ResourceRequirements {
  /** @default { cpu: "100m", memory: "256Mi" } */
  readonly requests?: ResourceQuantities;
  /** @default { memory: "1Gi" } (no CPU limit: throttling a proxy mid-download helps nobody) */
  readonly limits?: ResourceQuantities;
}

/** A HorizontalPodAutoscaler (autoscaling/v2) on CPU and memory utilisation. */
export interface AutoscalingOptions {
  /** @default 2 */
  readonly minReplicas?: number;
  readonly maxReplicas: number;
  /**
   * Average CPU use as a percentage of the CPU request.
   * @default 70
   */
  readonly targetCpuUtilization?: number;
  /**
   * Average memory use as a percentage of the memory request.
   * @default 80
   */
  readonly targetMemoryUtilization?: number;
}

/** Give at most one of `minAvailable` and `maxUnavailable` (a count or a percentage like "50%"). */
export interface PodDisruptionBudgetOptions {
  /** Set false to create no PodDisruptionBudget. @default true */
  readonly enabled?: boolean;
  /** @default none */
  readonly minAvailable?: number | string;
  /** @default 1 */
  readonly maxUnavailable?: number | string;
}

/** How pods spread over nodes (a topologySpreadConstraint). */
export interface TopologySpreadOptions {
  /** @default "kubernetes.io/hostname" (spread across nodes) */
  readonly topologyKey?: string;
  /** @default 1 */
  readonly maxSkew?: number;
  /**
   * `ScheduleAnyway` still runs pods on a single-node cluster; `DoNotSchedule` makes spreading a hard rule.
   * @default "ScheduleAnyway"
   */
  readonly whenUnsatisfiable?: "ScheduleAnyway" | "DoNotSchedule";
}

export interface ServiceOptions {
  /** @default "ClusterIP" */
  readonly type?: "ClusterIP" | "NodePort" | "LoadBalancer";
  /** @default 80 */
  readonly port?: number;
  /** @default none */
  readonly annotations?: Record<string, string>;
  /**
   * Client ranges a LoadBalancer Service accepts (where the cloud or MetalLB supports it).
   * @default none
   */
  readonly loadBalancerSourceRanges?: string[];
}

export interface GoMirrorKubernetesProps {
  /** The gomirror image with a pinned tag or digest, e.g. `registry.example.com/gomirror:1.4.0`. */
  readonly image: string;
  /** @default "IfNotPresent" */
  readonly imagePullPolicy?: "Always" | "IfNotPresent" | "Never";
  /**
   * Existing Secrets (type kubernetes.io/dockerconfigjson) for a private registry.
   * @default none
   */
  readonly imagePullSecrets?: string[];
  /**
   * Name of every object and the `app.kubernetes.io/instance` label; two mirrors in one
   * namespace need different names.
   * @default "gomirror"
   */
  readonly name?: string;
  /** @default "gomirror" */
  readonly namespace?: string;
  /**
   * Create the namespace (labelled for the `restricted` Pod Security Standard), or use an existing one.
   * @default true
   */
  readonly createNamespace?: boolean;
  /**
   * Extra labels on every object (never used in selectors).
   * @default none
   */
  readonly labels?: Record<string, string>;
  /**
   * Annotations on the pods.
   * @default none
   */
  readonly podAnnotations?: Record<string, string>;
  /**
   * Node labels the pods must run on.
   * @default none
   */
  readonly nodeSelector?: Record<string, string>;
  /**
   * A fixed number of pods; not together with `autoscaling`.
   * @default 1 on a ReadWriteOnce volume, otherwise 2
   */
  readonly replicas?: number;
  /** @default see ResourceRequirements */
  readonly resources?: ResourceRequirements;
  /**
   * Scale between a minimum and a maximum on CPU and memory. Needs storage that pods share
   * (S3 or a ReadWriteMany volume).
   * @default a fixed replica count, no HorizontalPodAutoscaler
   */
  readonly autoscaling?: AutoscalingOptions;
  /** @default maxUnavailable 1 */
  readonly podDisruptionBudget?: PodDisruptionBudgetOptions;
  /** @default spread across nodes, best effort */
  readonly topologySpread?: TopologySpreadOptions;
  /**
   * Size limit of the emptyDir mounted at /tmp, where zips are assembled.
   * @default "2Gi"
   */
  readonly tmpSizeLimit?: string;
  /** @default a ClusterIP Service on port 80 */
  readonly service?: ServiceOptions;
  /** @default no Ingress */
  readonly ingress?: IngressOptions;
  /** @default a NetworkPolicy allowing DNS, HTTPS to the internet and the ingress controller */
  readonly networkPolicy?: NetworkPolicyOptions;
  /** @default GoMirrorStorage.persistentVolumeClaim(): 10Gi, ReadWriteOnce */
  readonly storage?: GoMirrorStorage;
  /** @default the proxy's defaults (proxy.golang.org, sum.golang.org) */
  readonly proxy?: ProxySettings;
  /** @default no git credentials (public modules only) */
  readonly gitCredentials?: GitCredentialsOptions;
  /**
   * Client tokens from an existing Secret: every request but the health probes needs one
   * (scoped tokens for private paths; see docs/clients.md). `/metrics` then moves to a listener
   * of its own on port 9090 for Prometheus.
   * @default no tokens: every client the NetworkPolicy and ingress admit may use the mirror
   */
  readonly auth?: ClientTokensOptions;
  /**
   * HTTPS served by the proxy itself from an existing `kubernetes.io/tls` Secret, for clients
   * that reach the Service without a TLS-terminating ingress (the go command sends tokens over
   * HTTPS only). Probes then use HTTPS, and `/metrics` moves to port 9090.
   * @default plain HTTP on the Service (an ingress may terminate TLS)
   */
  readonly tls?: ProxyTlsOptions;
  /** @default no ServiceMonitor or PrometheusRule */
  readonly monitoring?: MonitoringOptions;
  /**
   * Copy what another gomirror stored, on a schedule (a CronJob running `gomirror sync`). Needs
   * storage the proxy's pods and the job share (S3 or ReadWriteMany).
   * @default no sync
   */
  readonly sync?: SyncScheduleOptions;
}
