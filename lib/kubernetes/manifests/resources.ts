import { CLUSTER_METADATA, LABEL_SELECTOR, metadata } from "./common";
import {
  type Block,
  failAt,
  field,
  flag,
  type KubernetesManifest,
  mapBlock,
  object,
  objects,
  text,
  textMap,
  texts,
  type Where,
} from "./fields";
import { INGRESS_SPEC, NETWORK_POLICY_SPEC, SERVICE_SPEC } from "./networking";
import { CRON_JOB_SPEC, DEPLOYMENT_SPEC, HPA_SPEC, PDB_SPEC } from "./workloads";

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
      spec: field("spec", object(SERVICE_SPEC)),
    },
    ["wait_for_load_balancer", "timeouts"],
  ),
  kubernetes_deployment_v1: typed(
    "apps/v1",
    "Deployment",
    {
      metadata,
      spec: field("spec", object(DEPLOYMENT_SPEC)),
    },
    ["wait_for_rollout", "timeouts"],
  ),
  kubernetes_cron_job_v1: typed(
    "batch/v1",
    "CronJob",
    {
      metadata,
      spec: field("spec", object(CRON_JOB_SPEC)),
    },
    ["timeouts"],
  ),
  kubernetes_horizontal_pod_autoscaler_v2: typed("autoscaling/v2", "HorizontalPodAutoscaler", {
    metadata,
    spec: field("spec", object(HPA_SPEC)),
  }),
  kubernetes_pod_disruption_budget_v1: typed("policy/v1", "PodDisruptionBudget", {
    metadata,
    spec: field("spec", object(PDB_SPEC)),
  }),
  kubernetes_network_policy_v1: typed("networking.k8s.io/v1", "NetworkPolicy", {
    metadata,
    spec: field("spec", object(NETWORK_POLICY_SPEC)),
  }),
  kubernetes_ingress_v1: typed(
    "networking.k8s.io/v1",
    "Ingress",
    {
      metadata,
      spec: field("spec", object(INGRESS_SPEC)),
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
