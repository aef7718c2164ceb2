import { TerraformElement, TerraformOutput, TerraformResource, TerraformStack } from "cdktf";
import type { GoMirrorKubernetes } from "../go-mirror";
import { GoMirrorManifestError, type KubernetesManifest, type Where } from "./fields";
import { resolveReferences, type TerraformConfig } from "./references";
import { RESOURCE_MAPPINGS, TERRAFORM_META_ARGUMENTS } from "./resources";

/**
 * The order `kubectl apply -f` should meet kinds in (Helm's install order, trimmed): the
 * namespace before what lives in it, what pods mount or run as before the workloads, and
 * custom resources (ServiceMonitor, PrometheusRule) last, as their CRDs may still be arriving.
 */
const APPLY_ORDER = [
  "Namespace",
  "NetworkPolicy",
  "PodDisruptionBudget",
  "ServiceAccount",
  "Secret",
  "ConfigMap",
  "PersistentVolumeClaim",
  "Service",
  "Deployment",
  "HorizontalPodAutoscaler",
  "CronJob",
  "Ingress",
];

function applyRank(kind: string): number {
  const rank = APPLY_ORDER.indexOf(kind);
  return rank < 0 ? APPLY_ORDER.length : rank;
}

/**
 * The Kubernetes API objects of a `GoMirrorKubernetes`, in apply order: the same resources its
 * cdktf rendering holds (including `addOverride`s), written for `kubectl apply`. References
 * between them (the created namespace's name, the ServiceAccount's) become plain values.
 *
 * Throws `GoMirrorManifestError` for what a manifest cannot say: an attribute the tables do not
 * know, a value only Terraform can compute, a resource type without a mapping. Call it once
 * the stack holds everything it will (it reads the stack's configuration as it is then).
 */
export function goMirrorManifests(mirror: GoMirrorKubernetes): KubernetesManifest[] {
  const config = TerraformStack.of(mirror).toTerraform() as TerraformConfig;
  const manifests: KubernetesManifest[] = [];
  for (const element of mirror.node.findAll()) {
    if (TerraformResource.isTerraformResource(element)) {
      manifests.push(renderResource(element.terraformResourceType, element.friendlyUniqueId, config));
    } else if (TerraformElement.isTerraformElement(element) && !TerraformOutput.isTerraformOutput(element)) {
      // An output names a value for `terraform output`; anything else would be lost silently.
      throw new GoMirrorManifestError(`${element.node.path}: has no Kubernetes object to render it as`);
    }
  }
  // Array.prototype.sort is stable: objects of one kind keep the construct's order.
  return manifests.sort((a, b) => applyRank(a.kind) - applyRank(b.kind));
}

function renderResource(type: string, id: string, config: TerraformConfig): KubernetesManifest {
  const at: Where = { resource: `${type}.${id}`, path: "" };
  const mapping = RESOURCE_MAPPINGS[type];
  if (mapping === undefined) {
    throw new GoMirrorManifestError(
      `${at.resource}: the manifest renderer has no mapping for the Terraform type ${type}; ` +
        `add one to lib/kubernetes/manifests/resources.ts`,
    );
  }
  const attributes: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(config.resource?.[type]?.[id] ?? {})) {
    // "//" holds cdktf's own metadata (the construct path), not an attribute.
    if (name === "//" || TERRAFORM_META_ARGUMENTS.includes(name) || mapping.terraformOnly.includes(name))
      continue;
    attributes[name] = value;
  }
  const resolved = resolveReferences(attributes, config, at) as Record<string, unknown>;
  return mapping.toManifest(resolved, at);
}
