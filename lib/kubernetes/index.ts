// The cdktf Kubernetes construct's public surface. Internal helpers (validation, labels, the
// image's port and paths) stay unexported so the package root can re-export this file whole.
export { GoMirrorKubernetes } from "./go-mirror";
export type {
  AutoscalingOptions,
  GoMirrorKubernetesProps,
  PodDisruptionBudgetOptions,
  ResourceQuantities,
  ResourceRequirements,
  ServiceOptions,
  TopologySpreadOptions,
} from "./props";
export { GoMirrorStorage } from "./storage";
export type {
  PersistentVolumeAccessMode,
  PersistentVolumeClaimStorageOptions,
  S3CredentialsSecret,
  S3CompatibleStorageOptions,
} from "./storage";
export type { LogLevel, ProxySettings } from "./proxy-settings";
export type { GitCredentialsOptions } from "./git-credentials";
export type { EgressTarget, NetworkPolicyOptions } from "./network-policy";
export type { IngressOptions } from "./ingress";
export { goMirrorAlertRules } from "./monitoring";
export type { AlertRule, MonitoringOptions, PrometheusAlertThresholds } from "./monitoring";
export { goMirrorDashboard } from "./grafana-dashboard";
export type { GrafanaDashboardOptions } from "./grafana-dashboard";
export { GoMirrorKubernetesPropsError } from "./validation";
export type { SyncScheduleOptions } from "./sync";
export { goMirrorManifests } from "./manifests/render";
export { manifestsToYaml } from "./manifests/yaml";
export { GoMirrorManifestError } from "./manifests/fields";
export type { KubernetesManifest } from "./manifests/fields";
