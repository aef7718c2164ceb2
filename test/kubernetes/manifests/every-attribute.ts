// An object of each type, together setting every attribute the renderer's tables know, including
// those the construct does not use yet (reachable through addOverride, or by code to come). The
// schema test validates their manifests strictly, so a wrong API name or type in any table entry
// fails there.
import { ConfigMapV1 } from "@cdktf/provider-kubernetes/lib/config-map-v1";
import {
  CronJobV1,
  type CronJobV1SpecJobTemplateSpecTemplateSpecContainer,
} from "@cdktf/provider-kubernetes/lib/cron-job-v1";
import {
  DeploymentV1,
  type DeploymentV1SpecTemplateSpecContainer,
  type DeploymentV1SpecTemplateSpecVolume,
} from "@cdktf/provider-kubernetes/lib/deployment-v1";
import { HorizontalPodAutoscalerV2 } from "@cdktf/provider-kubernetes/lib/horizontal-pod-autoscaler-v2";
import { IngressV1 } from "@cdktf/provider-kubernetes/lib/ingress-v1";
import { NamespaceV1 } from "@cdktf/provider-kubernetes/lib/namespace-v1";
import { NetworkPolicyV1 } from "@cdktf/provider-kubernetes/lib/network-policy-v1";
import { PersistentVolumeClaimV1 } from "@cdktf/provider-kubernetes/lib/persistent-volume-claim-v1";
import { PodDisruptionBudgetV1 } from "@cdktf/provider-kubernetes/lib/pod-disruption-budget-v1";
import { ServiceAccountV1 } from "@cdktf/provider-kubernetes/lib/service-account-v1";
import { ServiceV1 } from "@cdktf/provider-kubernetes/lib/service-v1";
import type { GoMirrorKubernetes } from "../../../lib/kubernetes";

const NAME = "everything";
const LABELS = { app: NAME };
const SELECTOR = {
  matchLabels: LABELS,
  matchExpressions: [{ key: "tier", operator: "In", values: ["proxy"] }],
};
const IMAGE = "registry.example.com/everything:1.0.0";

const MAIN_CONTAINER: DeploymentV1SpecTemplateSpecContainer = {
  name: "main",
  image: IMAGE,
  imagePullPolicy: "Always",
  command: ["/bin/main"],
  args: ["--serve"],
  workingDir: "/work",
  port: [{ name: "http", containerPort: 8080, protocol: "TCP", hostPort: 18080, hostIp: "127.0.0.1" }],
  env: [
    { name: "PLAIN", value: "on" },
    { name: "FROM_SECRET", valueFrom: { secretKeyRef: { name: "s", key: "k", optional: true } } },
    { name: "FROM_CONFIG", valueFrom: { configMapKeyRef: { name: "c", key: "k", optional: false } } },
    { name: "POD_NAME", valueFrom: { fieldRef: { apiVersion: "v1", fieldPath: "metadata.name" } } },
    {
      name: "MEMORY",
      valueFrom: { resourceFieldRef: { containerName: "main", resource: "limits.memory", divisor: "1Mi" } },
    },
  ],
  envFrom: [
    { prefix: "CFG_", configMapRef: { name: "c", optional: true } },
    { secretRef: { name: "s", optional: false } },
  ],
  resources: { requests: { cpu: "10m" }, limits: { memory: "64Mi" } },
  readinessProbe: {
    httpGet: {
      path: "/ready",
      port: "8080",
      host: "127.0.0.1",
      scheme: "HTTP",
      httpHeader: [{ name: "X-Probe", value: "1" }],
    },
    initialDelaySeconds: 1,
    periodSeconds: 2,
    timeoutSeconds: 3,
    failureThreshold: 4,
    successThreshold: 1,
  },
  livenessProbe: { tcpSocket: [{ port: "http" }] },
  startupProbe: { grpc: [{ port: 9000, service: "health" }] },
  securityContext: {
    runAsNonRoot: true,
    runAsUser: "1000",
    runAsGroup: "1000",
    readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false,
    privileged: false,
    capabilities: { add: ["NET_BIND_SERVICE"], drop: ["ALL"] },
    seccompProfile: { type: "Localhost", localhostProfile: "profiles/main.json" },
  },
  volumeMount: [
    { name: "scratch", mountPath: "/scratch", subPath: "a", mountPropagation: "None" },
    { name: "claim", mountPath: "/data", subPathExpr: "$(POD_NAME)", readOnly: true },
  ],
  terminationMessagePath: "/dev/termination-log",
  terminationMessagePolicy: "FallbackToLogsOnError",
};

const VOLUMES: DeploymentV1SpecTemplateSpecVolume[] = [
  { name: "scratch", emptyDir: { medium: "Memory", sizeLimit: "64Mi" } },
  { name: "claim", persistentVolumeClaim: { claimName: NAME, readOnly: true } },
  {
    name: "secret",
    secret: {
      secretName: "s",
      defaultMode: "0400",
      optional: true,
      items: [{ key: "k", path: "k", mode: "0440" }],
    },
  },
  {
    name: "config",
    configMap: {
      name: "c",
      defaultMode: "0644",
      optional: false,
      items: [{ key: "k", path: "k", mode: "0444" }],
    },
  },
];

const JOB_CONTAINER: CronJobV1SpecJobTemplateSpecTemplateSpecContainer = {
  name: "job",
  image: IMAGE,
  livenessProbe: { exec: { command: ["true"] } },
};

export function addEveryAttribute(mirror: GoMirrorKubernetes): void {
  const namespace = mirror.namespaceName;
  const metadata = {
    name: NAME,
    generateName: "every-",
    namespace,
    labels: LABELS,
    annotations: { note: "every attribute" },
  };
  new NamespaceV1(mirror, "EveryNamespace", {
    metadata: { name: NAME, generateName: "every-", labels: LABELS, annotations: { note: "x" } },
  });
  new ServiceAccountV1(mirror, "EveryServiceAccount", {
    metadata,
    automountServiceAccountToken: true,
    imagePullSecret: [{ name: "registry" }],
    secret: [{ name: "token" }],
  });
  new ConfigMapV1(mirror, "EveryConfigMap", {
    metadata,
    immutable: true,
    data: { "config.yaml": "a: 1" },
    binaryData: { "blob.bin": "AAEC" },
  });
  new PersistentVolumeClaimV1(mirror, "EveryClaim", {
    metadata,
    spec: {
      accessModes: ["ReadWriteOnce"],
      storageClassName: "fast",
      volumeName: "pv-1",
      volumeMode: "Filesystem",
      resources: { requests: { storage: "1Gi" }, limits: { storage: "2Gi" } },
      selector: SELECTOR,
    },
    waitUntilBound: false,
  });
  new ServiceV1(mirror, "EveryService", {
    metadata,
    spec: {
      type: "LoadBalancer",
      selector: LABELS,
      port: [
        { name: "http", protocol: "TCP", appProtocol: "http", port: 80, targetPort: "8080", nodePort: 30080 },
      ],
      clusterIp: "10.96.0.10",
      loadBalancerClass: "example.com/lb",
      loadBalancerSourceRanges: ["10.0.0.0/8"],
      externalTrafficPolicy: "Local",
      internalTrafficPolicy: "Cluster",
      sessionAffinity: "ClientIP",
      publishNotReadyAddresses: true,
      ipFamilies: ["IPv4"],
      ipFamilyPolicy: "SingleStack",
    },
  });
  new DeploymentV1(mirror, "EveryDeployment", {
    metadata,
    spec: {
      replicas: "2",
      selector: SELECTOR,
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: "25%", maxUnavailable: "1" } },
      minReadySeconds: 5,
      progressDeadlineSeconds: 600,
      revisionHistoryLimit: 3,
      paused: false,
      template: {
        metadata: { labels: { ...LABELS, tier: "proxy" }, annotations: { note: "pod" } },
        spec: {
          serviceAccountName: NAME,
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          restartPolicy: "Always",
          terminationGracePeriodSeconds: 30,
          priorityClassName: "infra",
          runtimeClassName: "gvisor",
          dnsPolicy: "ClusterFirst",
          securityContext: {
            runAsNonRoot: true,
            runAsUser: "1000",
            runAsGroup: "1000",
            fsGroup: "1000",
            fsGroupChangePolicy: "Always",
            supplementalGroups: [2000],
            seccompProfile: { type: "RuntimeDefault" },
            sysctl: [{ name: "net.ipv4.ip_unprivileged_port_start", value: "0" }],
          },
          nodeSelector: { "kubernetes.io/os": "linux" },
          imagePullSecrets: [{ name: "registry" }],
          toleration: [
            { key: "k", operator: "Equal", value: "v", effect: "NoExecute", tolerationSeconds: "30" },
          ],
          topologySpreadConstraint: [
            {
              maxSkew: 1,
              topologyKey: "topology.kubernetes.io/zone",
              whenUnsatisfiable: "DoNotSchedule",
              labelSelector: [SELECTOR],
              minDomains: 2,
              matchLabelKeys: ["pod-template-hash"],
              nodeAffinityPolicy: "Honor",
              nodeTaintsPolicy: "Ignore",
            },
          ],
          initContainer: [{ name: "init", image: IMAGE, command: ["true"] }],
          container: [MAIN_CONTAINER],
          volume: VOLUMES,
        },
      },
    },
    waitForRollout: false,
  });
  new CronJobV1(mirror, "EveryCronJob", {
    metadata,
    spec: {
      schedule: "0 * * * *",
      timezone: "Europe/Berlin",
      concurrencyPolicy: "Replace",
      startingDeadlineSeconds: 60,
      successfulJobsHistoryLimit: 2,
      failedJobsHistoryLimit: 2,
      suspend: true,
      jobTemplate: {
        metadata: { labels: LABELS },
        spec: {
          activeDeadlineSeconds: 600,
          backoffLimit: 1,
          completions: 2,
          completionMode: "Indexed",
          parallelism: 2,
          ttlSecondsAfterFinished: "60",
          manualSelector: true,
          selector: SELECTOR,
          template: {
            metadata: { labels: LABELS },
            spec: { restartPolicy: "Never", activeDeadlineSeconds: 300, container: [JOB_CONTAINER] },
          },
        },
      },
    },
  });
  new HorizontalPodAutoscalerV2(mirror, "EveryHpa", {
    metadata,
    spec: {
      scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: NAME },
      minReplicas: 1,
      maxReplicas: 3,
      metric: [
        {
          type: "ContainerResource",
          containerResource: {
            name: "cpu",
            container: "main",
            target: { type: "AverageValue", averageValue: "100m" },
          },
        },
        { type: "Resource", resource: { name: "memory", target: { type: "Value", value: "1Gi" } } },
        {
          type: "Resource",
          resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 75 } },
        },
      ],
      behavior: {
        scaleUp: [
          {
            stabilizationWindowSeconds: 0,
            selectPolicy: "Max",
            policy: [{ type: "Pods", value: 2, periodSeconds: 60 }],
          },
        ],
        scaleDown: [{ selectPolicy: "Min", policy: [{ type: "Percent", value: 50, periodSeconds: 120 }] }],
      },
    },
  });
  new PodDisruptionBudgetV1(mirror, "EveryPdb", {
    metadata,
    spec: { selector: SELECTOR, minAvailable: "1" },
  });
  new NetworkPolicyV1(mirror, "EveryNetworkPolicy", {
    metadata,
    spec: {
      podSelector: SELECTOR,
      policyTypes: ["Ingress", "Egress"],
      ingress: [
        {
          from: [{ ipBlock: { cidr: "10.0.0.0/8", except: ["10.1.0.0/16"] } }, { podSelector: SELECTOR }],
          ports: [{ port: "http", protocol: "TCP" }],
        },
      ],
      egress: [
        {
          to: [{ namespaceSelector: SELECTOR }],
          ports: [{ port: "30000", endPort: 32767, protocol: "TCP" }],
        },
      ],
    },
  });
  new IngressV1(mirror, "EveryIngress", {
    metadata,
    spec: {
      ingressClassName: "nginx",
      defaultBackend: { resource: { apiGroup: "example.com", kind: "Bucket", name: "static" } },
      rule: [
        {
          host: "every.example.com",
          http: {
            path: [
              { path: "/", pathType: "Prefix", backend: { service: { name: NAME, port: { name: "http" } } } },
              { path: "/api", pathType: "Exact", backend: { service: { name: NAME, port: { number: 80 } } } },
            ],
          },
        },
      ],
      tls: [{ hosts: ["every.example.com"], secretName: "every-tls" }],
    },
    waitForLoadBalancer: false,
  });
}
