import type { ConfigMapV1 } from "@cdktf/provider-kubernetes/lib/config-map-v1";
import type { DeploymentV1 } from "@cdktf/provider-kubernetes/lib/deployment-v1";
import { HorizontalPodAutoscalerV2 } from "@cdktf/provider-kubernetes/lib/horizontal-pod-autoscaler-v2";
import type { IngressV1 } from "@cdktf/provider-kubernetes/lib/ingress-v1";
import type { Manifest } from "@cdktf/provider-kubernetes/lib/manifest";
import { NamespaceV1 } from "@cdktf/provider-kubernetes/lib/namespace-v1";
import type { NetworkPolicyV1 } from "@cdktf/provider-kubernetes/lib/network-policy-v1";
import type { PersistentVolumeClaimV1 } from "@cdktf/provider-kubernetes/lib/persistent-volume-claim-v1";
import { PodDisruptionBudgetV1 } from "@cdktf/provider-kubernetes/lib/pod-disruption-budget-v1";
import { ServiceAccountV1 } from "@cdktf/provider-kubernetes/lib/service-account-v1";
import { ServiceV1 } from "@cdktf/provider-kubernetes/lib/service-v1";
import { TerraformOutput, TerraformStack } from "cdktf";
import { Construct } from "constructs";
import { baseEnvironment, createDeployment } from "./deployment";
import {
  accessPodParts,
  checkAccessOptions,
  POD_NETWORK_RANGES,
  separateMetricsListener,
  type AccessContext,
} from "./access";
import { gitCredentialsPodParts } from "./git-credentials";
import { METRICS_PORT, METRICS_PORT_NAME } from "./image-contract";
import { PORT_NAME } from "../image-contract";
import { createGrafanaDashboard } from "./grafana-dashboard";
import { checkIngressOptions, createIngress } from "./ingress";
import { type GoMirrorLabels, goMirrorLabels } from "./labels";
import { checkMonitoringOptions, createPrometheusRule, createServiceMonitor } from "./monitoring";
import { checkNetworkPolicyOptions, createNetworkPolicy } from "./network-policy";
import { mergePodParts } from "./pod-parts";
import type {
  AutoscalingOptions,
  GoMirrorKubernetesProps,
  PodDisruptionBudgetOptions,
  ResourceQuantities,
  ResourceRequirements,
} from "./props";
import { proxySettingsPodParts } from "./proxy-settings";
import { GoMirrorStorage } from "./storage";
import { createSyncCronJob } from "./sync";
import type { CronJobV1 } from "@cdktf/provider-kubernetes/lib/cron-job-v1";
import {
  checkDnsLabel,
  checkDnsSubdomain,
  checkInteger,
  checkLabels,
  checkPort,
  checkQuantity,
  fail,
  parseCidr,
} from "./validation";

export const DEFAULT_RESOURCES: ResourceRequirements = {
  requests: { cpu: "100m", memory: "256Mi" },
  limits: { memory: "1Gi" },
};

/**
 * gomirror on a Kubernetes cluster, managed with cdktf: namespace, ServiceAccount, a hardened
 * Deployment of the gomirror image, Service, PodDisruptionBudget, NetworkPolicy, and optionally a
 * HorizontalPodAutoscaler, an Ingress, a ServiceMonitor, a PrometheusRule and a Grafana dashboard.
 *
 * The construct adds no provider: declare a `KubernetesProvider` in the stack. Every composed
 * object is a public member, the escape hatch for settings without a prop (`addOverride`).
 */
export class GoMirrorKubernetes extends Construct {
  /** The namespace's name as plain text. */
  readonly namespaceName: string;
  /** The namespace, when the construct created it. */
  readonly namespace?: NamespaceV1;
  readonly labels: GoMirrorLabels;
  readonly serviceAccount: ServiceAccountV1;
  readonly deployment: DeploymentV1;
  readonly service: ServiceV1;
  /** The HorizontalPodAutoscaler, with `autoscaling`. */
  readonly hpa?: HorizontalPodAutoscalerV2;
  /** The PodDisruptionBudget, unless disabled. */
  readonly pdb?: PodDisruptionBudgetV1;
  readonly ingress?: IngressV1;
  readonly networkPolicy?: NetworkPolicyV1;
  /** The claim created for the disk backend. */
  readonly persistentVolumeClaim?: PersistentVolumeClaimV1;
  readonly serviceMonitor?: Manifest;
  readonly prometheusRule?: Manifest;
  /** The CronJob running `gomirror sync`, with `sync`. */
  readonly syncJob?: CronJobV1;
  /** The Grafana dashboard's ConfigMap, with `monitoring.grafanaDashboard`. */
  readonly grafanaDashboard?: ConfigMapV1;
  /** The proxy's address inside the cluster, e.g. `http://gomirror.gomirror.svc:80`. */
  readonly clusterUrl: string;
  /** What clients put in GOPROXY: the Ingress URL, or the in-cluster URL without an Ingress. */
  readonly goproxyUrl: string;
  /** `goproxyUrl` as a Terraform output, named `<construct id>_goproxy_url`. */
  readonly goproxyUrlOutput: TerraformOutput;

  constructor(scope: Construct, id: string, props: GoMirrorKubernetesProps) {
    super(scope, id);
    const name = props.name ?? "gomirror";
    checkDnsLabel(name, "name");
    if (!/^[a-z]/.test(name)) fail(`name "${name}" must start with a letter: it also names the Service`);
    this.namespaceName = props.namespace ?? "gomirror";
    checkDnsLabel(this.namespaceName, "namespace");
    // Checked before use: from plain JavaScript a missing image would otherwise surface as a TypeError.
    if (typeof props.image !== "string") {
      fail(
        `image is required: the gomirror image with a pinned tag or digest, like registry.example.com/gomirror:1.4.0`,
      );
    }
    if (props.image.trim() === "" || /\s/.test(props.image)) {
      fail(
        `image "${props.image}" is not an image reference; write it like registry.example.com/gomirror:1.4.0`,
      );
    }
    (props.imagePullSecrets ?? []).forEach((s, i) => checkDnsSubdomain(s, `imagePullSecrets[${i}]`));
    if (props.labels !== undefined) checkLabels(props.labels, "labels");
    if (props.nodeSelector !== undefined) checkLabels(props.nodeSelector, "nodeSelector");
    const tmpSizeLimit = props.tmpSizeLimit ?? "2Gi";
    checkQuantity(tmpSizeLimit, "tmpSizeLimit");

    const storage = props.storage ?? GoMirrorStorage.persistentVolumeClaim();
    const replicas = resolveReplicas(props, storage);
    const resources = resolveResources(props.resources, props.autoscaling);
    checkPodDisruptionBudget(props.podDisruptionBudget, replicas ?? props.autoscaling?.minReplicas ?? 2);
    const servicePort = props.service?.port ?? 80;
    checkPort(servicePort, "service.port");
    const serviceType = props.service?.type ?? "ClusterIP";
    if (props.service?.loadBalancerSourceRanges !== undefined && serviceType !== "LoadBalancer") {
      fail(
        `service.loadBalancerSourceRanges only applies to a LoadBalancer Service, but service.type is ${serviceType}`,
      );
    }
    (props.service?.loadBalancerSourceRanges ?? []).forEach((c, i) =>
      parseCidr(c, `service.loadBalancerSourceRanges[${i}]`),
    );
    if (props.ingress !== undefined) checkIngressOptions(props.ingress);
    if (props.monitoring !== undefined) checkMonitoringOptions(props.monitoring);
    const spread = props.topologySpread ?? {};
    if (spread.maxSkew !== undefined) checkInteger(spread.maxSkew, "topologySpread.maxSkew", 1);

    this.labels = goMirrorLabels(name, props.labels);
    const labels = this.labels.all;
    const selector = this.labels.selector;

    let namespace = this.namespaceName;
    if (props.createNamespace ?? true) {
      this.namespace = new NamespaceV1(this, "Namespace", {
        metadata: {
          name: this.namespaceName,
          labels: {
            ...labels,
            // The pod meets the restricted profile; enforcing it keeps later additions honest too.
            "pod-security.kubernetes.io/enforce": "restricted",
            "pod-security.kubernetes.io/warn": "restricted",
          },
        },
      });
      // A reference, not the string: everything below waits for the namespace.
      namespace = this.namespace.metadata.name;
    }

    const binding = storage.bind(this, { namespace, name, labels });
    this.persistentVolumeClaim = binding.persistentVolumeClaim;
    const networkPolicy = props.networkPolicy ?? {};
    checkNetworkPolicyOptions(networkPolicy, {
      storageEndpoint: binding.endpoint,
      ingressEnabled: props.ingress !== undefined,
    });
    const access: AccessContext = {
      auth: props.auth,
      tls: props.tls,
      trustedProxies: props.ingress ? (props.ingress.controllerCidrs ?? POD_NETWORK_RANGES) : undefined,
    };
    checkAccessOptions(access);
    const metricsPort = separateMetricsListener(access) ? METRICS_PORT : undefined;
    const base = { env: baseEnvironment(), volumes: [], volumeMounts: [] };
    const credentials = gitCredentialsPodParts(props.gitCredentials);
    const accessParts = accessPodParts(access);
    const settings = proxySettingsPodParts(
      props.proxy ?? {},
      mergePodParts(base, binding, credentials, accessParts).env,
    );
    const parts = mergePodParts(base, binding, settings, credentials, accessParts);

    this.serviceAccount = new ServiceAccountV1(this, "ServiceAccount", {
      metadata: { name, namespace, labels },
      // The proxy never talks to the Kubernetes API.
      automountServiceAccountToken: false,
    });

    this.deployment = createDeployment(this, {
      name,
      namespace,
      labels,
      selector,
      image: props.image,
      imagePullPolicy: props.imagePullPolicy ?? "IfNotPresent",
      imagePullSecrets: props.imagePullSecrets ?? [],
      serviceAccountName: this.serviceAccount.metadata.name,
      replicas,
      rollingUpdate: storage.sharedBetweenPods,
      resources,
      topologySpread: spread,
      tmpSizeLimit,
      podAnnotations: props.podAnnotations ?? {},
      nodeSelector: props.nodeSelector ?? {},
      parts,
      https: props.tls !== undefined,
      metricsPort,
    });

    if (props.sync !== undefined) {
      this.syncJob = createSyncCronJob(this, props.sync, {
        name,
        namespace,
        extraLabels: props.labels ?? {},
        image: props.image,
        imagePullPolicy: props.imagePullPolicy ?? "IfNotPresent",
        imagePullSecrets: props.imagePullSecrets ?? [],
        serviceAccountName: this.serviceAccount.metadata.name,
        sharedStorage: storage.sharedBetweenPods,
        storageDescription: storage.description,
        resources,
        tmpSizeLimit,
        parts,
      });
    }

    this.service = new ServiceV1(this, "Service", {
      metadata: { name, namespace, labels, annotations: props.service?.annotations },
      spec: {
        type: serviceType,
        selector,
        port: [
          { name: PORT_NAME, port: servicePort, targetPort: PORT_NAME, protocol: "TCP" },
          ...(metricsPort === undefined
            ? []
            : [
                {
                  name: METRICS_PORT_NAME,
                  port: metricsPort,
                  targetPort: METRICS_PORT_NAME,
                  protocol: "TCP",
                },
              ]),
        ],
        loadBalancerSourceRanges: props.service?.loadBalancerSourceRanges,
      },
    });

    if (props.autoscaling !== undefined) {
      const a = props.autoscaling;
      this.hpa = new HorizontalPodAutoscalerV2(this, "Hpa", {
        metadata: { name, namespace, labels },
        spec: {
          minReplicas: a.minReplicas ?? 2,
          maxReplicas: a.maxReplicas,
          scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: this.deployment.metadata.name },
          metric: [
            utilizationMetric("cpu", a.targetCpuUtilization ?? 70),
            utilizationMetric("memory", a.targetMemoryUtilization ?? 80),
          ],
        },
      });
    }

    const pdb = props.podDisruptionBudget ?? {};
    if (pdb.enabled ?? true) {
      const given = pdb.minAvailable !== undefined ? { minAvailable: String(pdb.minAvailable) } : undefined;
      this.pdb = new PodDisruptionBudgetV1(this, "Pdb", {
        metadata: { name, namespace, labels },
        spec: {
          ...(given ?? { maxUnavailable: String(pdb.maxUnavailable ?? 1) }),
          selector: { matchLabels: selector },
        },
      });
    }

    if (props.ingress !== undefined) {
      this.ingress = createIngress(this, props.ingress, {
        name,
        namespace,
        labels,
        serviceName: this.service.metadata.name,
        servicePort,
      });
    }

    const monitoring = props.monitoring;
    const monitoringContext = {
      name,
      namespace,
      namespaceName: this.namespaceName,
      labels,
      selector,
      serviceName: name,
    };
    const scraped = monitoring !== undefined && (monitoring.serviceMonitor ?? true);
    if (monitoring !== undefined && scraped) {
      // A custom resource names the Service only through labels, so the order is stated here.
      this.serviceMonitor = createServiceMonitor(
        this,
        monitoring,
        { ...monitoringContext, portName: metricsPort === undefined ? PORT_NAME : METRICS_PORT_NAME },
        [this.service],
      );
    }
    if (monitoring !== undefined && (monitoring.prometheusRule ?? true)) {
      this.prometheusRule = createPrometheusRule(this, monitoring, monitoringContext);
    }
    if (monitoring?.grafanaDashboard !== undefined) {
      this.grafanaDashboard = createGrafanaDashboard(this, monitoring.grafanaDashboard, monitoringContext);
    }

    if (networkPolicy.enabled ?? true) {
      this.networkPolicy = createNetworkPolicy(this, networkPolicy, {
        name,
        namespace,
        labels,
        selector,
        ingressEnabled: props.ingress !== undefined,
        prometheusNamespace: scraped ? (monitoring?.prometheusNamespace ?? "monitoring") : undefined,
        metricsPort,
        storageEndpoint: binding.endpoint,
      });
    }

    const scheme = props.tls !== undefined ? "https" : "http";
    this.clusterUrl = `${scheme}://${name}.${this.namespaceName}.svc:${servicePort}`;
    this.goproxyUrl =
      props.ingress === undefined
        ? this.clusterUrl
        : `${props.ingress.tlsSecretName !== undefined ? "https" : "http"}://${props.ingress.host}`;
    this.goproxyUrlOutput = new TerraformOutput(this, "GoproxyUrl", {
      value: this.goproxyUrl,
      description: "What Go users put in GOPROXY",
    });
    // A name `terraform output` users can guess: the construct's path in its stack, then
    // goproxy_url, e.g. "Mirror_goproxy_url".
    this.goproxyUrlOutput.overrideLogicalId(`${stackRelativeName(this)}_goproxy_url`);
  }
}

/** The construct's path inside its stack, with `_` between parts ("Mirror", "Team_Mirror"). */
function stackRelativeName(scope: Construct): string {
  const stackPath = TerraformStack.of(scope).node.path;
  return scope.node.path
    .slice(stackPath.length + 1)
    .split("/")
    .map((part) => part.replace(/[^A-Za-z0-9_]/g, ""))
    .join("_");
}

function utilizationMetric(resource: "cpu" | "memory", percent: number) {
  return {
    type: "Resource",
    resource: { name: resource, target: { type: "Utilization", averageUtilization: percent } },
  };
}

/** The fixed replica count, or undefined when an autoscaler owns it; refuses what cannot run. */
function resolveReplicas(props: GoMirrorKubernetesProps, storage: GoMirrorStorage): number | undefined {
  const shared = storage.sharedBetweenPods;
  const a = props.autoscaling;
  if (a !== undefined) {
    if (props.replicas !== undefined) {
      fail(
        `replicas (${props.replicas}) and autoscaling are both set; the autoscaler owns the count, use autoscaling.minReplicas`,
      );
    }
    if (!shared) {
      fail(
        `autoscaling needs storage that several pods can use at once, but storage is ${storage.description}, ` +
          `which one node mounts at a time; use GoMirrorStorage.s3(...) or accessMode "ReadWriteMany", or remove autoscaling`,
      );
    }
    checkAutoscaling(a);
    return undefined;
  }
  const replicas = props.replicas ?? (shared ? 2 : 1);
  checkInteger(replicas, "replicas", 1);
  if (!shared && replicas > 1) {
    fail(
      `replicas is ${replicas}, but storage is ${storage.description}, which only one pod can mount; ` +
        `set replicas to 1, or use GoMirrorStorage.s3(...) or accessMode "ReadWriteMany" for several replicas`,
    );
  }
  return replicas;
}

function checkAutoscaling(a: AutoscalingOptions): void {
  const min = a.minReplicas ?? 2;
  checkInteger(min, "autoscaling.minReplicas", 1);
  checkInteger(a.maxReplicas, "autoscaling.maxReplicas", 1);
  if (min > a.maxReplicas) {
    fail(
      `autoscaling.minReplicas (${min}) is greater than autoscaling.maxReplicas (${a.maxReplicas}); raise the maximum`,
    );
  }
  if (a.targetCpuUtilization !== undefined) {
    checkInteger(a.targetCpuUtilization, "autoscaling.targetCpuUtilization", 1, 1000);
  }
  if (a.targetMemoryUtilization !== undefined) {
    checkInteger(a.targetMemoryUtilization, "autoscaling.targetMemoryUtilization", 1, 1000);
  }
}

function quantities(q: ResourceQuantities | undefined, what: string): ResourceQuantities | undefined {
  if (q === undefined) return undefined;
  const out: Record<string, string> = {};
  if (q.cpu !== undefined) {
    checkQuantity(q.cpu, `${what}.cpu`);
    out.cpu = q.cpu;
  }
  if (q.memory !== undefined) {
    checkQuantity(q.memory, `${what}.memory`);
    out.memory = q.memory;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

function resolveResources(
  given: ResourceRequirements | undefined,
  a: AutoscalingOptions | undefined,
): ResourceRequirements {
  const r = given ?? DEFAULT_RESOURCES;
  const requests = quantities(r.requests, "resources.requests");
  const limits = quantities(r.limits, "resources.limits");
  if (a !== undefined && (requests?.cpu === undefined || requests.memory === undefined)) {
    fail(
      `autoscaling targets CPU and memory as a share of the requests, but resources.requests ` +
        `does not set both cpu and memory; add them, e.g. { cpu: "100m", memory: "256Mi" }`,
    );
  }
  return { requests, limits };
}

function checkBudgetValue(value: number | string, what: string): void {
  if (typeof value === "number") checkInteger(value, what, 0);
  else if (!/^(\d|[1-9]\d|100)%$/.test(value))
    fail(`${what} "${value}" is not a count or a percentage like "50%"`);
}

/** A budget that can never be met blocks node drains forever; refuse it at synth. */
function checkPodDisruptionBudget(o: PodDisruptionBudgetOptions | undefined, fewestPods: number): void {
  if (o === undefined || o.enabled === false) return;
  if (o.minAvailable !== undefined && o.maxUnavailable !== undefined) {
    fail(`podDisruptionBudget sets both minAvailable and maxUnavailable; Kubernetes accepts one, keep one`);
  }
  if (o.minAvailable !== undefined) {
    checkBudgetValue(o.minAvailable, "podDisruptionBudget.minAvailable");
    if ((typeof o.minAvailable === "number" && o.minAvailable >= fewestPods) || o.minAvailable === "100%") {
      fail(
        `podDisruptionBudget.minAvailable ${o.minAvailable} leaves no pod that may be evicted with ${fewestPods} ` +
          `replica(s), so node drains would hang; lower it, or use maxUnavailable`,
      );
    }
  }
  if (o.maxUnavailable !== undefined) {
    checkBudgetValue(o.maxUnavailable, "podDisruptionBudget.maxUnavailable");
    if (o.maxUnavailable === 0 || o.maxUnavailable === "0%") {
      fail(
        `podDisruptionBudget.maxUnavailable 0 forbids every eviction, so node drains would hang; use 1 or more`,
      );
    }
  }
}
