import type {
  DeploymentV1SpecTemplateSpecContainerEnv,
  DeploymentV1SpecTemplateSpecContainerVolumeMount,
  DeploymentV1SpecTemplateSpecVolume,
} from "@cdktf/provider-kubernetes/lib/deployment-v1";
import { fail } from "./validation";

export type EnvVar = DeploymentV1SpecTemplateSpecContainerEnv;
export type Volume = DeploymentV1SpecTemplateSpecVolume;
export type VolumeMount = DeploymentV1SpecTemplateSpecContainerVolumeMount;

/**
 * What one concern (storage, git credentials, proxy settings) adds to the gomirror pod. The
 * Deployment is assembled by concatenating these, in order: env entries may refer to earlier
 * ones with Kubernetes' `$(NAME)` expansion.
 */
export interface PodParts {
  readonly env: EnvVar[];
  readonly volumes: Volume[];
  readonly volumeMounts: VolumeMount[];
}

export const NO_POD_PARTS: PodParts = { env: [], volumes: [], volumeMounts: [] };

export function mergePodParts(...parts: PodParts[]): PodParts {
  const merged: PodParts = {
    env: parts.flatMap((p) => p.env),
    volumes: parts.flatMap((p) => p.volumes),
    volumeMounts: parts.flatMap((p) => p.volumeMounts),
  };
  const seen = new Set<string>();
  for (const e of merged.env) {
    if (seen.has(e.name)) {
      fail(
        `environment variable ${e.name} is set twice; remove it from proxy.extraEnv, the construct sets it`,
      );
    }
    seen.add(e.name);
  }
  return merged;
}

export function secretKeyEnv(name: string, secretName: string, key: string): EnvVar {
  return { name, valueFrom: { secretKeyRef: { name: secretName, key } } };
}
