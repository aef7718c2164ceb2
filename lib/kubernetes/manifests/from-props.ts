import { TerraformStack } from "cdktf";
import { RootConstruct } from "constructs";
import { GoMirrorKubernetes } from "../go-mirror";
import type { GoMirrorKubernetesProps } from "../props";
import type { KubernetesManifest } from "./fields";
import { goMirrorManifests } from "./render";

/**
 * The manifests of a `GoMirrorKubernetes` built from `props` alone, as the command line does.
 * The stack hangs from a bare root rather than a cdktf App: an App creates its output directory
 * (cdktf.out) in the working directory as soon as it exists, and nothing is written here.
 */
export function manifestsFromProps(props: GoMirrorKubernetesProps): KubernetesManifest[] {
  const stack = new TerraformStack(new RootConstruct(), "gomirror");
  return goMirrorManifests(new GoMirrorKubernetes(stack, "Mirror", props));
}
