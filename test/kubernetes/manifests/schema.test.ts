// The YAML the renderer writes, checked against the Kubernetes OpenAPI schemas and the
// Prometheus Operator's CRD schemas (validate-manifests.mjs), offline; and broken manifests, to
// show that the check fails when it should.
import { spawnSync } from "node:child_process";
import path from "node:path";
import type { KubernetesManifest } from "../../../lib/kubernetes/manifests/fields";
import { manifestsToYaml } from "../../../lib/kubernetes/manifests/yaml";
import type { Json } from "../synth";
import { addDashboardAndSync, CASES, renderBoth } from "./cases";
import { addEveryAttribute } from "./every-attribute";

interface Checked {
  readonly kind: string;
  readonly name: string;
  readonly problems: string[];
}

const VALIDATOR = path.join(__dirname, "validate-manifests.mjs");

function validate(streams: Record<string, string>): Record<string, Checked[]> {
  const run = spawnSync(process.execPath, [VALIDATOR], {
    input: JSON.stringify(streams),
    encoding: "utf8",
    timeout: 60_000,
  });
  if (run.status !== 0)
    throw new Error(`the validator failed (status ${run.status}): ${run.error ?? ""}${run.stderr}`);
  return JSON.parse(run.stdout);
}

const rendered: Record<string, KubernetesManifest[]> = {
  ...Object.fromEntries(Object.entries(CASES).map(([name, props]) => [name, renderBoth(props).manifests])),
  "with a dashboard ConfigMap and a sync CronJob": renderBoth({}, addDashboardAndSync).manifests,
  "an object of each type with every attribute the tables know": renderBoth({}, addEveryAttribute).manifests,
};

/** The defaults' manifests, with one object changed by `change`. */
function broken(kind: string, change: (m: Json) => void): string {
  const copy: Json[] = JSON.parse(JSON.stringify(rendered.defaults));
  change(copy.find((m) => m.kind === kind));
  return manifestsToYaml(copy);
}

const BROKEN: Record<string, string> = {
  "a container port as text": broken("Deployment", (d) => {
    d.spec.template.spec.containers[0].ports[0].containerPort = "8080";
  }),
  "a provider block name left in": broken("Deployment", (d) => {
    const c = d.spec.template.spec.containers[0];
    c.volumeMount = c.volumeMounts;
    delete c.volumeMounts;
  }),
  "a Deployment without a selector": broken("Deployment", (d) => {
    delete d.spec.selector;
  }),
  "a misspelt kind": broken("Service", (s) => {
    s.kind = "Servce";
  }),
  "a ServiceMonitor endpoint port as a number": manifestsToYaml(
    rendered["client tokens and TLS in the proxy, git netrc, a LoadBalancer Service"]!.map((m) =>
      m.kind === "ServiceMonitor"
        ? { ...m, spec: { ...(m.spec as Json), endpoints: [{ port: 9090, path: "/metrics" }] } }
        : m,
    ),
  ),
};

const results = validate({
  ...Object.fromEntries(
    Object.entries(rendered).map(([name, manifests]) => [name, manifestsToYaml(manifests)]),
  ),
  ...BROKEN,
});

describe.each(Object.keys(rendered))("%s", (name) => {
  test("every document passes its schema", () => {
    const checked = results[name]!;
    // Every object reached the validator, as the kind it is.
    expect(checked.map((c) => c.kind)).toEqual(rendered[name]!.map((m) => m.kind));
    expect(checked.filter((c) => c.problems.length > 0)).toEqual([]);
  });
});

describe("the check fails on a broken manifest", () => {
  const problemsOf = (name: string): string[] => results[name]!.flatMap((c) => c.problems);

  test.each([
    [
      "a container port as text",
      "data/spec/template/spec/containers/0/ports/0/containerPort must be integer",
    ],
    [
      "a provider block name left in",
      "/spec/template/spec/containers/0/volumeMount: not a field of Deployment",
    ],
    ["a Deployment without a selector", "data/spec must have required property selector"],
    ["a misspelt kind", "no schema for apiVersion v1, kind Servce"],
    ["a ServiceMonitor endpoint port as a number", "data/spec/endpoints/0/port must be string"],
  ])("%s", (name, problem) => {
    expect(problemsOf(name)).toEqual([problem]);
  });
});
