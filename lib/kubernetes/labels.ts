/**
 * The labels every gomirror object carries. The selector set is the stable subset that Deployment,
 * Service, PodDisruptionBudget, NetworkPolicy and ServiceMonitor all match on: change it and
 * Kubernetes refuses to update the Deployment's selector, so it never includes versions or extras.
 */
export interface GoMirrorLabels {
  /** Matched by selectors: `app.kubernetes.io/name` and `app.kubernetes.io/instance`. */
  readonly selector: Record<string, string>;
  /** Put on every object: the selector labels, component, managed-by and the user's extras. */
  readonly all: Record<string, string>;
}

export const APP_NAME = "gomirror";

export function goMirrorLabels(instance: string, extra: Record<string, string> = {}): GoMirrorLabels {
  const selector = {
    "app.kubernetes.io/name": APP_NAME,
    "app.kubernetes.io/instance": instance,
  };
  return {
    selector,
    all: {
      ...extra,
      ...selector,
      "app.kubernetes.io/component": "go-module-proxy",
      "app.kubernetes.io/managed-by": "cdktf",
    },
  };
}

/** A namespace selector by name: the label Kubernetes itself sets on every namespace (1.21+). */
export function namespaceNameSelector(namespace: string): { matchLabels: Record<string, string> } {
  return { matchLabels: { "kubernetes.io/metadata.name": namespace } };
}
