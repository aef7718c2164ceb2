// The renderer's rules: what it refuses (unknown attributes, values only Terraform knows, types
// and elements without a mapping), what it leaves out, how it converts, and the YAML it writes.
import { DataKubernetesNamespaceV1 } from "@cdktf/provider-kubernetes/lib/data-kubernetes-namespace-v1";
import { SecretV1 } from "@cdktf/provider-kubernetes/lib/secret-v1";
import { Fn, TerraformStack, TerraformVariable } from "cdktf";
import { parseAllDocuments } from "yaml";
import { GoMirrorKubernetes, GoMirrorStorage } from "../../../lib/kubernetes";
import { GoMirrorManifestError, type KubernetesManifest } from "../../../lib/kubernetes/manifests/fields";
import { goMirrorManifests } from "../../../lib/kubernetes/manifests/render";
import { manifestsToYaml } from "../../../lib/kubernetes/manifests/yaml";
import { IMAGE, type Json, testApp } from "../synth";
import { addDashboardAndSync } from "./cases";

const DEPLOYMENT = "kubernetes_deployment_v1.Mirror_Deployment_8D5C4074";

function mirrorIn(
  props: Partial<ConstructorParameters<typeof GoMirrorKubernetes>[2]> = {},
): GoMirrorKubernetes {
  return new GoMirrorKubernetes(new TerraformStack(testApp(), "stack"), "Mirror", { image: IMAGE, ...props });
}

function kindOf(manifests: KubernetesManifest[], kind: string): Json {
  const found = manifests.filter((m) => m.kind === kind);
  expect(found).toHaveLength(1);
  return found[0];
}

/** The GoMirrorManifestError's message; fails when `f` throws anything else, or nothing. */
function refusal(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(GoMirrorManifestError);
    return (err as Error).message;
  }
  throw new Error("expected a GoMirrorManifestError, nothing was thrown");
}

describe("attributes the tables do not know", () => {
  test("an override the tables know is rendered like any attribute", () => {
    const mirror = mirrorIn();
    mirror.deployment.addOverride("spec.template.spec.priority_class_name", "infra");
    expect(kindOf(goMirrorManifests(mirror), "Deployment").spec.template.spec.priorityClassName).toBe(
      "infra",
    );
  });

  test("an unknown one is refused, naming the resource and the attribute path", () => {
    const mirror = mirrorIn();
    mirror.deployment.addOverride("spec.template.spec.priority_clas_name", "infra");
    expect(refusal(() => goMirrorManifests(mirror))).toMatch(
      new RegExp(
        `^${DEPLOYMENT}: spec\\.template\\.spec\\.priority_clas_name: the manifest renderer does not know`,
      ),
    );
  });

  test("inside a repeated block, the path says which item", () => {
    const mirror = mirrorIn();
    mirror.deployment.addOverride("spec.template.spec.container.0.stdin", true);
    expect(refusal(() => goMirrorManifests(mirror))).toContain(
      `${DEPLOYMENT}: spec.template.spec.container[0].stdin: the manifest renderer does not know`,
    );
  });

  test("count and for_each are refused: Terraform alone knows how many objects they make", () => {
    const mirror = mirrorIn();
    mirror.service.addOverride("count", 2);
    expect(refusal(() => goMirrorManifests(mirror))).toMatch(/kubernetes_service_v1\.\S+: count: /);
  });

  test("a Terraform type without a mapping is refused by name", () => {
    const mirror = mirrorIn();
    new SecretV1(mirror, "Extra", { metadata: { name: "extra" } });
    expect(refusal(() => goMirrorManifests(mirror))).toMatch(
      /kubernetes_secret_v1\.Mirror_Extra_\w+: the manifest renderer has no mapping for the Terraform type kubernetes_secret_v1/,
    );
  });

  test("a data source inside the construct is refused, not dropped", () => {
    const mirror = mirrorIn();
    new DataKubernetesNamespaceV1(mirror, "Lookup", { metadata: { name: "default" } });
    expect(refusal(() => goMirrorManifests(mirror))).toBe(
      "stack/Mirror/Lookup: has no Kubernetes object to render it as",
    );
  });

  test("an object without a name is refused: kubectl apply finds objects by name", () => {
    const mirror = mirrorIn();
    mirror.serviceAccount.addOverride("metadata.name", null);
    expect(refusal(() => goMirrorManifests(mirror))).toBe(
      "kubernetes_service_account_v1.Mirror_ServiceAccount_CCEA53E8: metadata.name: kubectl apply needs a name",
    );
  });

  test("kubernetes_manifest: the manifest needs its type and name, and other attributes are refused", () => {
    const unnamed = mirrorIn({ monitoring: {} });
    unnamed.prometheusRule!.addOverride("manifest.kind", null);
    expect(refusal(() => goMirrorManifests(unnamed))).toBe(
      "kubernetes_manifest.Mirror_PrometheusRule_2240C225: manifest: needs apiVersion, kind and metadata.name",
    );
    const extra = mirrorIn({ monitoring: {} });
    extra.prometheusRule!.addOverride("object", { kind: "PrometheusRule" });
    expect(refusal(() => goMirrorManifests(extra))).toMatch(
      /^kubernetes_manifest\.Mirror_PrometheusRule_2240C225: object: the manifest renderer does not know this attribute/,
    );
  });

  test("a block the API holds once, given twice, is refused", () => {
    const mirror = mirrorIn();
    const selector = { match_labels: { a: "b" } };
    mirror.deployment.addOverride("spec.template.spec.topology_spread_constraint", [
      {
        max_skew: 1,
        topology_key: "zone",
        when_unsatisfiable: "ScheduleAnyway",
        label_selector: [selector, selector],
      },
    ]);
    expect(refusal(() => goMirrorManifests(mirror))).toMatch(
      /spec\.template\.spec\.topology_spread_constraint\[\d\]\.label_selector: has 2 blocks, but the Kubernetes API holds one object here$/,
    );
  });
});

describe("Terraform-only attributes stay out", () => {
  test("waiting, timeouts and depends_on are in the Terraform JSON and nowhere in the manifests", () => {
    const mirror = mirrorIn({ monitoring: {} });
    mirror.deployment.addOverride("wait_for_rollout", false);
    mirror.deployment.addOverride("timeouts", { create: "5m" });
    mirror.service.addOverride("lifecycle", { prevent_destroy: true });
    const tf = JSON.stringify(TerraformStack.of(mirror).toTerraform());
    const yaml = manifestsToYaml(goMirrorManifests(mirror));
    for (const name of [
      "wait_for_rollout",
      "wait_until_bound",
      "timeouts",
      "depends_on",
      "prevent_destroy",
    ]) {
      expect([name, tf.includes(name)]).toEqual([name, true]);
      expect([name, yaml.includes(name)]).toEqual([name, false]);
    }
  });
});

describe("references", () => {
  test("the created namespace's name, in every namespaced object", () => {
    const manifests = goMirrorManifests(mirrorIn({ namespace: "mirrors", monitoring: {} }));
    expect(manifests.filter((m) => m.kind !== "Namespace").map((m) => m.metadata.namespace)).toEqual(
      Array(manifests.length - 1).fill("mirrors"),
    );
  });

  test("a reference inside text is replaced in place", () => {
    const mirror = mirrorIn();
    mirror.deployment.addOverride(
      "metadata.annotations.service-ref",
      `svc/${mirror.service.metadata.name}:80`,
    );
    expect(kindOf(goMirrorManifests(mirror), "Deployment").metadata.annotations).toEqual({
      "service-ref": "svc/gomirror:80",
    });
  });

  test("an attribute the cluster assigns (the namespace's uid) is refused", () => {
    const mirror = mirrorIn();
    mirror.deployment.addOverride("metadata.annotations.uid", mirror.namespace!.metadata.uid);
    expect(refusal(() => goMirrorManifests(mirror))).toMatch(
      new RegExp(
        `^${DEPLOYMENT}: metadata\\.annotations\\.uid: "\\$\\{kubernetes_namespace_v1\\.Mirror_Namespace_04E3C5D8\\.metadata\\[0\\]\\.uid\\}" ` +
          `cannot be written as a plain value: the configuration does not set it`,
      ),
    );
  });

  test("a Terraform variable and a function call are refused", () => {
    const mirror = mirrorIn();
    const replicas = new TerraformVariable(TerraformStack.of(mirror), "replicas", { type: "number" });
    mirror.deployment.addOverride("spec.replicas", replicas.numberValue);
    expect(refusal(() => goMirrorManifests(mirror))).toMatch(
      /spec\.replicas: "\$\{var\.replicas\}" cannot be written as a plain value: it is an input variable, known only when Terraform runs/,
    );
    const other = mirrorIn();
    other.deployment.addOverride("metadata.annotations.up", Fn.upper(other.service.metadata.name));
    expect(refusal(() => goMirrorManifests(other))).toMatch(
      /metadata\.annotations\.up: "\$\{upper\(.*\)\}" cannot be written as a plain value: it is a Terraform expression/,
    );
  });

  test.each([
    ["a template directive", "%{ if true }x%{ endif }", "holds a Terraform template directive"],
    [
      "an unterminated interpolation",
      "${kubernetes_service_v1.Mirror_Service_B8C9ADC7",
      "has an unterminated",
    ],
    [
      "a resource outside the stack",
      "${kubernetes_secret_v1.absent.metadata[0].name}",
      "is not a resource of this stack",
    ],
    [
      "a block put into text",
      "x-${kubernetes_service_v1.Mirror_Service_B8C9ADC7.metadata}",
      "puts a block or list into text",
    ],
    [
      "a reference to itself",
      "${kubernetes_deployment_v1.Mirror_Deployment_8D5C4074.metadata[0].annotations.loop}",
      "references chain more than 16 deep",
    ],
  ])("%s is refused", (_what, value, problem) => {
    const mirror = mirrorIn();
    mirror.deployment.addOverride("metadata.annotations.loop", value);
    expect(refusal(() => goMirrorManifests(mirror))).toContain(`${DEPLOYMENT}: metadata.annotations.loop: `);
    expect(refusal(() => goMirrorManifests(mirror))).toContain(problem);
  });

  test("Terraform's escapes for a literal ${ and %{ are unescaped", () => {
    const mirror = mirrorIn();
    mirror.deployment.addOverride("metadata.annotations.note", "$${HOME} and %%{x}");
    expect(kindOf(goMirrorManifests(mirror), "Deployment").metadata.annotations.note).toBe(
      "${HOME} and %{x}",
    );
  });
});

describe("types the provider writes differently from the API", () => {
  test("counts and ids as text become numbers; IntOrString keeps names and shares as text", () => {
    const manifests = goMirrorManifests(
      mirrorIn({
        storage: GoMirrorStorage.s3({ bucket: "go-modules" }),
        replicas: 3,
        podDisruptionBudget: { minAvailable: "50%" },
      }),
    );
    const d = kindOf(manifests, "Deployment").spec;
    expect([d.replicas, d.template.spec.securityContext.runAsUser]).toEqual([3, 65532]);
    expect(d.strategy.rollingUpdate).toEqual({ maxSurge: 1, maxUnavailable: 0 });
    expect(d.template.spec.containers[0].readinessProbe.httpGet.port).toBe("http");
    expect(kindOf(manifests, "PodDisruptionBudget").spec.minAvailable).toBe("50%");
    expect(kindOf(manifests, "NetworkPolicy").spec.egress[0].ports).toEqual([
      { port: 53, protocol: "UDP" },
      { port: 53, protocol: "TCP" },
    ]);
  });

  test("file modes in octal text become the API's numbers; anything else is refused", () => {
    const mirror = mirrorIn({ auth: { secretName: "tokens" } });
    const volume = kindOf(goMirrorManifests(mirror), "Deployment").spec.template.spec.volumes.find(
      (v: Json) => v.name === "auth-tokens",
    );
    expect(volume.secret.items).toEqual([{ key: "tokens", path: "tokens", mode: 0o440 }]);
    mirror.deployment.addOverride("spec.template.spec.volume.0.empty_dir.medium", 1);
    expect(refusal(() => goMirrorManifests(mirror))).toContain(
      "spec.template.spec.volume[0].empty_dir.medium: expected text, found number 1",
    );
  });
});

describe("order and YAML", () => {
  const manifests = goMirrorManifests(
    (() => {
      const mirror = mirrorIn({
        storage: GoMirrorStorage.s3({ bucket: "go-modules" }),
        autoscaling: { maxReplicas: 4 },
        monitoring: {},
        ingress: { host: "go.example.com" },
      });
      addDashboardAndSync(mirror);
      return mirror;
    })(),
  );

  test("apply order: the namespace first, workloads after what they use, custom resources last", () => {
    expect(manifests.map((m) => m.kind)).toEqual([
      "Namespace",
      "NetworkPolicy",
      "PodDisruptionBudget",
      "ServiceAccount",
      "ConfigMap",
      "Service",
      "Deployment",
      "HorizontalPodAutoscaler",
      "CronJob",
      "Ingress",
      "ServiceMonitor",
      "PrometheusRule",
    ]);
  });

  test("one YAML document per object, read back as the same objects by a YAML 1.1 parser", () => {
    const yaml = manifestsToYaml(manifests);
    const docs = parseAllDocuments(yaml, { version: "1.1" });
    expect(Array.isArray(docs) && docs.every((d) => d.errors.length === 0)).toBe(true);
    expect((docs as { toJS(): unknown }[]).map((d) => d.toJS())).toEqual(
      JSON.parse(JSON.stringify(manifests)),
    );
    expect(yaml.split(/^---$/m)).toHaveLength(manifests.length);
  });

  test("text that YAML 1.1 would read as a boolean or number stays quoted", () => {
    const yaml = manifestsToYaml(manifests);
    expect(yaml).toContain(`enabled: "yes"`);
    expect(yaml).toContain(`value: "5"`);
    expect(yaml).toContain(`value: "false"`);
  });
});
