import { type Block, field, object, objects, text, textMap, texts } from "./fields";

/** `metadata` of a cluster-wide object (Namespace). */
export const CLUSTER_METADATA: Block = {
  name: field("name", text),
  generate_name: field("generateName", text),
  labels: field("labels", textMap),
  annotations: field("annotations", textMap),
};

/** `metadata` of a namespaced object, and of pod and job templates. */
export const METADATA: Block = {
  name: field("name", text),
  generate_name: field("generateName", text),
  namespace: field("namespace", text),
  labels: field("labels", textMap),
  annotations: field("annotations", textMap),
};

export const LABEL_SELECTOR: Block = {
  match_labels: field("matchLabels", textMap),
  match_expressions: field(
    "matchExpressions",
    objects({ key: field("key", text), operator: field("operator", text), values: field("values", texts) }),
  ),
};

export const metadata = field("metadata", object(METADATA));
