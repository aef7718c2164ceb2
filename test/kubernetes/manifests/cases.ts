// Construct configurations the manifest tests render both ways, and the objects other parts of
// the construct are about to add (a Grafana dashboard ConfigMap, a sync CronJob), made here.
import { ConfigMapV1 } from "@cdktf/provider-kubernetes/lib/config-map-v1";
import { CronJobV1 } from "@cdktf/provider-kubernetes/lib/cron-job-v1";
import { TerraformStack, Testing } from "cdktf";
import { GoMirrorKubernetes, type GoMirrorKubernetesProps, GoMirrorStorage } from "../../../lib/kubernetes";
import type { KubernetesManifest } from "../../../lib/kubernetes/manifests/fields";
import { goMirrorManifests } from "../../../lib/kubernetes/manifests/render";
import { IMAGE, type Json, testApp } from "../synth";

export interface Rendered {
  readonly mirror: GoMirrorKubernetes;
  /** cdktf's rendering: the Terraform JSON. */
  readonly tf: Json;
  /** The other rendering: Kubernetes API objects. */
  readonly manifests: KubernetesManifest[];
}

/** One construct, rendered both ways; `extend` adds resources inside it first. */
export function renderBoth(
  props: Partial<GoMirrorKubernetesProps>,
  extend?: (mirror: GoMirrorKubernetes) => void,
): Rendered {
  const stack = new TerraformStack(testApp(), "stack");
  const mirror = new GoMirrorKubernetes(stack, "Mirror", { image: IMAGE, ...props });
  extend?.(mirror);
  return { mirror, tf: JSON.parse(Testing.synth(stack)), manifests: goMirrorManifests(mirror) };
}

export const CASES: Record<string, Partial<GoMirrorKubernetesProps>> = {
  defaults: {},
  "S3 with autoscaling, TLS ingress with an allowlist, monitoring, network policy options": {
    storage: GoMirrorStorage.s3({
      bucket: "go-modules",
      prefix: "mirror",
      endpoint: "http://minio.minio.svc:9000",
      credentialsSecret: { secretName: "gomirror-s3", accessKeyIdKey: "user" },
    }),
    autoscaling: { minReplicas: 3, maxReplicas: 8, targetCpuUtilization: 60 },
    ingress: {
      host: "goproxy.example.internal",
      className: "nginx-internal",
      tlsSecretName: "goproxy-tls",
      allowedSourceRanges: ["10.0.0.0/8", "192.168.10.0/24"],
      annotations: { "cert-manager.io/cluster-issuer": "internal" },
    },
    monitoring: { labels: { release: "kube-prometheus-stack" }, scrapeInterval: "15s" },
    networkPolicy: {
      objectStorageEgress: { namespaces: ["minio"], ports: [9000] },
      gitEgress: { cidrs: ["10.20.0.0/16"], except: ["10.20.5.0/24"], ports: [443, 22] },
      allowFromNamespaces: ["ci"],
      allowFromCidrs: ["10.30.0.0/16"],
      dnsCidrs: ["169.254.20.10/32"],
      ingressControllerPodLabels: { "app.kubernetes.io/name": "ingress-nginx" },
    },
    labels: { team: "platform" },
  },
  "client tokens and TLS in the proxy, git netrc, a LoadBalancer Service": {
    auth: { secretName: "gomirror-tokens" },
    tls: { secretName: "gomirror-tls" },
    monitoring: {},
    gitCredentials: { secretName: "git", netrcKey: "netrc" },
    service: { type: "LoadBalancer", port: 443, loadBalancerSourceRanges: ["10.0.0.0/8"] },
    podAnnotations: { "example.com/scrape": "false" },
    nodeSelector: { "kubernetes.io/arch": "amd64" },
    imagePullSecrets: ["registry"],
    proxy: { upstreams: ["https://proxy.golang.org", "direct"], privatePatterns: ["git.example.com/*"] },
  },
  "an existing ReadWriteMany claim in an existing namespace, git token, a percentage budget": {
    storage: GoMirrorStorage.persistentVolumeClaim({
      existingClaimName: "go-cache",
      accessMode: "ReadWriteMany",
    }),
    namespace: "tools",
    createNamespace: false,
    replicas: 3,
    podDisruptionBudget: { minAvailable: "50%" },
    gitCredentials: { secretName: "git", tokenKey: "token", tokenHosts: ["github.com", "git.example.com"] },
    topologySpread: { topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "DoNotSchedule" },
    networkPolicy: { allowFromCluster: false, allowFromNamespaces: ["ci"] },
  },
  "S3, a nightly sync from a peer mirror with its token, a Grafana dashboard": {
    storage: GoMirrorStorage.s3({ bucket: "go-modules" }),
    sync: { from: "https://goproxy.hq.example.com", tokenSecret: { name: "peer-token" } },
    monitoring: { grafanaDashboard: { folder: "Go" } },
  },
  "a new claim of a storage class, no budget, no policy": {
    storage: GoMirrorStorage.persistentVolumeClaim({ size: "50Gi", storageClassName: "fast" }),
    podDisruptionBudget: { enabled: false },
    networkPolicy: { enabled: false },
  },
};

/**
 * A Grafana dashboard ConfigMap and a CronJob, as monitoring.ts and sync.ts will add them:
 * inside the construct, in its namespace, referring to its objects.
 */
export function addDashboardAndSync(mirror: GoMirrorKubernetes): void {
  const namespace = mirror.namespace?.metadata.name ?? mirror.namespaceName;
  const dashboard = new ConfigMapV1(mirror, "Dashboard", {
    metadata: { name: "gomirror-dashboard", namespace, labels: { grafana_dashboard: "1" } },
    data: { "gomirror.json": '{"title":"gomirror","panels":[]}', enabled: "yes" },
    immutable: false,
  });
  new CronJobV1(mirror, "Sync", {
    metadata: { name: "gomirror-sync", namespace, labels: mirror.labels.all },
    spec: {
      schedule: "17 3 * * *",
      timezone: "Etc/UTC",
      concurrencyPolicy: "Forbid",
      startingDeadlineSeconds: 600,
      successfulJobsHistoryLimit: 1,
      failedJobsHistoryLimit: 3,
      suspend: false,
      jobTemplate: {
        metadata: { labels: mirror.labels.all },
        spec: {
          backoffLimit: 2,
          ttlSecondsAfterFinished: "3600",
          template: {
            metadata: { labels: mirror.labels.selector },
            spec: {
              restartPolicy: "OnFailure",
              serviceAccountName: mirror.serviceAccount.metadata.name,
              automountServiceAccountToken: false,
              securityContext: { runAsNonRoot: true, runAsUser: "65532", fsGroup: "65532" },
              toleration: [
                { key: "batch", operator: "Exists", effect: "NoSchedule", tolerationSeconds: "60" },
              ],
              container: [
                {
                  name: "sync",
                  image: "registry.example.com/gomirror:1.0.0",
                  args: ["sync", "--url", mirror.clusterUrl],
                  env: [
                    { name: "GOMIRROR_LOG_LEVEL", value: "info" },
                    { name: "TOKEN", valueFrom: { secretKeyRef: { name: "sync-token", key: "token" } } },
                  ],
                  resources: { requests: { cpu: "50m", memory: "64Mi" } },
                  volumeMount: [{ name: "dashboard", mountPath: "/etc/dashboard", readOnly: true }],
                },
              ],
              volume: [
                { name: "dashboard", configMap: { name: dashboard.metadata.name, defaultMode: "0644" } },
              ],
            },
          },
        },
      },
    },
  });
}
