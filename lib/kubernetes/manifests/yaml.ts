import { stringify } from "yaml";
import type { KubernetesManifest } from "./fields";

/**
 * The manifests as one YAML stream for `kubectl apply -f`, documents separated by `---`.
 *
 * Written as YAML 1.1, the version kubectl's parser speaks: strings that 1.1 would read as
 * something else (`on`, `yes`, `0440`) are quoted. Lines are never folded, so a PromQL
 * expression reads as one line.
 */
export function manifestsToYaml(manifests: readonly KubernetesManifest[]): string {
  return manifests.map((m) => stringify(m, { version: "1.1", lineWidth: 0 })).join("---\n");
}
