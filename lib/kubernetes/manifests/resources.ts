import { CLUSTER_METADATA, LABEL_SELECTOR, metadata } from "./common";
import {
  type Block,
  failAt,
  field,
  flag,
  integer,
  intOrString,
  type KubernetesManifest,
  mapBlock,
  object,
  objects,
  text,
  textMap,
  texts,
  type Where,
} from "./fields";
import { POD_TEMPLATE } from "./pod";

/** How one Terraform resource type becomes a Kubernetes API object. */
export interface ResourceMapping {
  /**
   * Attributes that only steer Terraform (waiting for a rollout or a load balancer, timeouts):
   * left out of the manifest, before references in them would need resolving.
   */
  readonly terraformOnly: readonly string[];
  /** The object, from the remaining attributes with references already resolved. */
  readonly toManifest: (attributes: Record<string, unknown>, at: Where) => KubernetesManifest;
}

/** Terraform's own meta-arguments, on every resource. */
export const TERRAFORM_META_ARGUMENTS = ["depends_on", "lifecycle", "provider"];

function typed(
  apiVersion: string,
  kind: string,
  block: Block,
  terraformOnly: string[] = [],
): ResourceMapping {
  return {
    terraformOnly,
    toManifest: (attributes, at) => {
      const fields = mapBlock(block, attributes, at);
      const name = (fields.metadata as { name?: unknown } | undefined)?.name;
      // kubectl apply finds an object by its name; a generated name would create a new one each time.
      if (typeof name !== "string") failAt({ ...at, path: "metadata.name" }, `kubectl apply needs a name`);
      return { apiVersion, kind, ...fields } as unknown as KubernetesManifest;
    },
  };
}

const PORT_REF: Block = { name: field("name", text), number: field("number", integer) };

const BACKEND: Block = {
  service: field("service", object({ name: field("name", text), port: field("port", object(PORT_REF)) })),
  resource: field(
    "resource",
    object({ api_group: field("apiGroup", text), kind: field("kind", text), name: field("name", text) }),
  ),
};

const NETWORK_POLICY_PEER: Block = {
  ip_block: field("ipBlock", object({ cidr: field("cidr", text), except: field("except", texts) })),
  namespace_selector: field("namespaceSelector", object(LABEL_SELECTOR)),
  pod_selector: field("podSelector", object(LABEL_SELECTOR)),
};

const NETWORK_POLICY_PORT: Block = {
  // Text in the provider, IntOrString in the API: "8080" is port 8080, "http" a named port.
  port: field("port", intOrString),
  end_port: field("endPort", integer),
  protocol: field("protocol", text),
};

const METRIC_TARGET: Block = {
  type: field("type", text),
  average_utilization: field("averageUtilization", integer),
  average_value: field("averageValue", text),
  value: field("value", text),
};

const SCALING_RULES: Block = {
  stabilization_window_seconds: field("stabilizationWindowSeconds", integer),
  select_policy: field("selectPolicy", text),
  policy: field(
    "policies",
    objects({
      type: field("type", text),
      value: field("value", integer),
      period_seconds: field("periodSeconds", integer),
    }),
  ),
};

const JOB_SPEC: Block = {
  active_deadline_seconds: field("activeDeadlineSeconds", integer),
  backoff_limit: field("backoffLimit", integer),
  completions: field("completions", integer),
  completion_mode: field("completionMode", text),
  parallelism: field("parallelism", integer),
  // Text in the provider, a number in the API.
  ttl_seconds_after_finished: field("ttlSecondsAfterFinished", integer),
  manual_selector: field("manualSelector", flag),
  selector: field("selector", object(LABEL_SELECTOR)),
  template: field("template", object(POD_TEMPLATE)),
};

/** Every resource type the renderer writes, by its Terraform type. */
export const RESOURCE_MAPPINGS: Readonly<Record<string, ResourceMapping>> = {
  kubernetes_namespace_v1: typed(
    "v1",
    "Namespace",
    { metadata: field("metadata", object(CLUSTER_METADATA)) },
    ["wait_for_default_service_account", "timeouts"],
  ),
  kubernetes_service_account_v1: typed(
    "v1",
    "ServiceAccount",
    {
      metadata,
      automount_service_account_token: field("automountServiceAccountToken", flag),
      // Singular block names in the provider, lists in the API.
      image_pull_secret: field("imagePullSecrets", objects({ name: field("name", text) })),
      secret: field("secrets", objects({ name: field("name", text) })),
    },
    ["timeouts"],
  ),
  kubernetes_config_map_v1: typed("v1", "ConfigMap", {
    metadata,
    immutable: field("immutable", flag),
    data: field("data", textMap),
    binary_data: field("binaryData", textMap),
  }),
  kubernetes_persistent_volume_claim_v1: typed(
    "v1",
    "PersistentVolumeClaim",
    {
      metadata,
      spec: field(
        "spec",
        object({
          access_modes: field("accessModes", texts),
          storage_class_name: field("storageClassName", text),
          volume_name: field("volumeName", text),
          volume_mode: field("volumeMode", text),
          resources: field(
            "resources",
            object({ requests: field("requests", textMap), limits: field("limits", textMap) }),
          ),
          selector: field("selector", object(LABEL_SELECTOR)),
        }),
      ),
    },
    ["wait_until_bound", "timeouts"],
  ),
  kubernetes_service_v1: typed(
    "v1",
    "Service",
    {
      metadata,
      spec: field(
        "spec",
        object({
          type: field("type", text),
          selector: field("selector", textMap),
          port: field(
            "ports",
            objects({
              name: field("name", text),
              protocol: field("protocol", text),
              app_protocol: field("appProtocol", text),
              port: field("port", integer),
              target_port: field("targetPort", intOrString),
              node_port: field("nodePort", integer),
            }),
          ),
          cluster_ip: field("clusterIP", text),
          load_balancer_class: field("loadBalancerClass", text),
          load_balancer_source_ranges: field("loadBalancerSourceRanges", texts),
          external_traffic_policy: field("externalTrafficPolicy", text),
          internal_traffic_policy: field("internalTrafficPolicy", text),
          session_affinity: field("sessionAffinity", text),
          publish_not_ready_addresses: field("publishNotReadyAddresses", flag),
          ip_families: field("ipFamilies", texts),
          ip_family_policy: field("ipFamilyPolicy", text),
        }),
      ),
    },
    ["wait_for_load_balancer", "timeouts"],
  ),
  kubernetes_deployment_v1: typed(
    "apps/v1",
    "Deployment",
    {
      metadata,
      spec: field(
        "spec",
        object({
          // Text in the provider, a number in the API.
          replicas: field("replicas", integer),
          selector: field("selector", object(LABEL_SELECTOR)),
          strategy: field(
            "strategy",
            object({
              type: field("type", text),
              rolling_update: field(
                "rollingUpdate",
                object({
                  max_surge: field("maxSurge", intOrString),
                  max_unavailable: field("maxUnavailable", intOrString),
                }),
              ),
            }),
          ),
          min_ready_seconds: field("minReadySeconds", integer),
          progress_deadline_seconds: field("progressDeadlineSeconds", integer),
          revision_history_limit: field("revisionHistoryLimit", integer),
          paused: field("paused", flag),
          template: field("template", object(POD_TEMPLATE)),
        }),
      ),
    },
    ["wait_for_rollout", "timeouts"],
  ),
  kubernetes_cron_job_v1: typed(
    "batch/v1",
    "CronJob",
    {
      metadata,
      spec: field(
        "spec",
        object({
          schedule: field("schedule", text),
          timezone: field("timeZone", text),
          concurrency_policy: field("concurrencyPolicy", text),
          starting_deadline_seconds: field("startingDeadlineSeconds", integer),
          successful_jobs_history_limit: field("successfulJobsHistoryLimit", integer),
          failed_jobs_history_limit: field("failedJobsHistoryLimit", integer),
          suspend: field("suspend", flag),
          job_template: field("jobTemplate", object({ metadata, spec: field("spec", object(JOB_SPEC)) })),
        }),
      ),
    },
    ["timeouts"],
  ),
  kubernetes_horizontal_pod_autoscaler_v2: typed("autoscaling/v2", "HorizontalPodAutoscaler", {
    metadata,
    spec: field(
      "spec",
      object({
        scale_target_ref: field(
          "scaleTargetRef",
          object({
            api_version: field("apiVersion", text),
            kind: field("kind", text),
            name: field("name", text),
          }),
        ),
        min_replicas: field("minReplicas", integer),
        max_replicas: field("maxReplicas", integer),
        metric: field(
          "metrics",
          objects({
            type: field("type", text),
            resource: field(
              "resource",
              object({ name: field("name", text), target: field("target", object(METRIC_TARGET)) }),
            ),
            container_resource: field(
              "containerResource",
              object({
                name: field("name", text),
                container: field("container", text),
                target: field("target", object(METRIC_TARGET)),
              }),
            ),
          }),
        ),
        behavior: field(
          "behavior",
          object({
            scale_up: field("scaleUp", object(SCALING_RULES)),
            scale_down: field("scaleDown", object(SCALING_RULES)),
          }),
        ),
      }),
    ),
  }),
  kubernetes_pod_disruption_budget_v1: typed("policy/v1", "PodDisruptionBudget", {
    metadata,
    spec: field(
      "spec",
      object({
        selector: field("selector", object(LABEL_SELECTOR)),
        // Text in the provider, IntOrString in the API: "1" is one pod, "50%" a share.
        min_available: field("minAvailable", intOrString),
        max_unavailable: field("maxUnavailable", intOrString),
      }),
    ),
  }),
  kubernetes_network_policy_v1: typed("networking.k8s.io/v1", "NetworkPolicy", {
    metadata,
    spec: field(
      "spec",
      object({
        pod_selector: field("podSelector", object(LABEL_SELECTOR)),
        policy_types: field("policyTypes", texts),
        ingress: field(
          "ingress",
          objects({
            from: field("from", objects(NETWORK_POLICY_PEER)),
            ports: field("ports", objects(NETWORK_POLICY_PORT)),
          }),
        ),
        egress: field(
          "egress",
          objects({
            to: field("to", objects(NETWORK_POLICY_PEER)),
            ports: field("ports", objects(NETWORK_POLICY_PORT)),
          }),
        ),
      }),
    ),
  }),
  kubernetes_ingress_v1: typed(
    "networking.k8s.io/v1",
    "Ingress",
    {
      metadata,
      spec: field(
        "spec",
        object({
          ingress_class_name: field("ingressClassName", text),
          default_backend: field("defaultBackend", object(BACKEND)),
          rule: field(
            "rules",
            objects({
              host: field("host", text),
              http: field(
                "http",
                object({
                  path: field(
                    "paths",
                    objects({
                      path: field("path", text),
                      path_type: field("pathType", text),
                      backend: field("backend", object(BACKEND)),
                    }),
                  ),
                }),
              ),
            }),
          ),
          tls: field(
            "tls",
            objects({ hosts: field("hosts", texts), secret_name: field("secretName", text) }),
          ),
        }),
      ),
    },
    ["wait_for_load_balancer", "timeouts"],
  ),
  kubernetes_manifest: {
    terraformOnly: ["computed_fields", "field_manager", "wait", "wait_for", "timeouts"],
    toManifest: (attributes, at) => {
      const { manifest, ...others } = attributes;
      for (const name of Object.keys(others)) {
        failAt({ ...at, path: name }, `the manifest renderer does not know this attribute; leave it out`);
      }
      const m = manifest as Partial<KubernetesManifest> | undefined;
      if (
        typeof m?.apiVersion !== "string" ||
        typeof m.kind !== "string" ||
        typeof m.metadata?.name !== "string"
      ) {
        failAt({ ...at, path: "manifest" }, `needs apiVersion, kind and metadata.name`);
      }
      // Already the API's own shape: kubernetes_manifest passes it to the cluster as written.
      return m as KubernetesManifest;
    },
  },
};
