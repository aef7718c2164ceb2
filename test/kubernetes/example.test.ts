// examples/onprem-kubernetes is a cdktf app importing the construct as a user would
// (`from "gomirror"`). Here it runs with the command from its own cdktf.json, which resolves
// "gomirror" through the example's tsconfig paths, and must synthesize without any network.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { type Json, manifestOfKind, only, resources } from "./synth";

const EXAMPLE = path.resolve(__dirname, "../../examples/onprem-kubernetes");
const STACK = "gomirror-onprem";

interface CdktfJson {
  readonly app: string;
  readonly language: string;
  readonly terraformProviders: unknown[];
  readonly terraformModules: unknown[];
}

const cdktfJson = JSON.parse(readFileSync(path.join(EXAMPLE, "cdktf.json"), "utf8")) as CdktfJson;

describe("examples/onprem-kubernetes is set up as a user's cdktf app", () => {
  test("needs no provider generation: the prebuilt bindings come from npm", () => {
    expect(cdktfJson.language).toBe("typescript");
    expect(cdktfJson.terraformProviders).toEqual([]);
    expect(cdktfJson.terraformModules).toEqual([]);
  });

  test("imports the construct by package name, never by a path into lib/", () => {
    const main = readFileSync(path.join(EXAMPLE, "main.ts"), "utf8");
    expect(main).toMatch(/from "gomirror\/kubernetes";/);
    expect(main).not.toMatch(/from "\.\.?\//);
    const pkg = JSON.parse(readFileSync(path.join(EXAMPLE, "package.json"), "utf8"));
    expect(pkg.dependencies.gomirror).toBe("file:../..");
  });
});

describe("examples/onprem-kubernetes synthesizes offline", () => {
  let outdir: string;
  let tf: Json;

  beforeAll(() => {
    outdir = mkdtempSync(path.join(tmpdir(), "gomirror-onprem-"));
    // `cdktf synth` runs the "app" command. npx is left out: asked for a binary it cannot find
    // it would go to the registry, and this test must stay offline.
    const args = /^npx ts-node (.+)$/.exec(cdktfJson.app)?.[1]?.split(/\s+/);
    if (args === undefined) throw new Error(`cdktf.json app "${cdktfJson.app}" is not "npx ts-node ..."`);
    const env: NodeJS.ProcessEnv = { ...process.env, CDKTF_OUTDIR: outdir };
    delete env.KUBECONFIG;
    delete env.KUBE_CONTEXT;
    const run = spawnSync(process.execPath, [require.resolve("ts-node/dist/bin"), ...args], {
      cwd: EXAMPLE,
      env,
      encoding: "utf8",
      timeout: 45_000,
    });
    const stderr = `${run.error ?? ""}${run.stderr}`;
    if (run.status !== 0) {
      throw new Error(
        `the example app failed (status ${run.status}); "gomirror" resolves to lib/index.ts, ` +
          `which must export GoMirrorKubernetes and GoMirrorStorage:\n${stderr}`,
      );
    }
    const manifest = JSON.parse(readFileSync(path.join(outdir, "manifest.json"), "utf8"));
    tf = JSON.parse(readFileSync(path.join(outdir, manifest.stacks[STACK].synthesizedStackPath), "utf8"));
  }, 60_000);

  afterAll(() => {
    if (outdir) rmSync(outdir, { recursive: true, force: true });
  });

  test("pins the Terraform provider version the prebuilt bindings were generated from", () => {
    const bindings = JSON.parse(
      readFileSync(require.resolve("@cdktf/provider-kubernetes/package.json"), "utf8"),
    ) as { cdktf: { provider: { name: string; version: string } } };
    expect(bindings.cdktf.provider.name).toBe("registry.terraform.io/hashicorp/kubernetes");
    // "kubernetes" is Terraform's short form of hashicorp/kubernetes.
    expect(tf.terraform.required_providers.kubernetes).toEqual({
      source: "kubernetes",
      version: bindings.cdktf.provider.version,
    });
    expect(tf.provider.kubernetes).toEqual([{ config_path: "~/.kube/config" }]);
  });

  test("the mirror as configured: S3 on MinIO, autoscaling, TLS Ingress, policy, monitoring", () => {
    const container = only(tf, "kubernetes_deployment_v1").spec.template.spec.container[0];
    expect(container.env).toContainEqual({ name: "GOMIRROR_STORAGE", value: "s3://go-modules/gomirror" });
    expect(only(tf, "kubernetes_horizontal_pod_autoscaler_v2").spec).toEqual(
      expect.objectContaining({ min_replicas: 2, max_replicas: 6 }),
    );
    expect(only(tf, "kubernetes_ingress_v1").spec.tls).toEqual([
      { hosts: ["goproxy.example.internal"], secret_name: "goproxy-tls" },
    ]);
    expect(Object.keys(resources(tf, "kubernetes_network_policy_v1"))).toHaveLength(1);
    expect(manifestOfKind(tf, "ServiceMonitor")).toBeDefined();
    expect(manifestOfKind(tf, "PrometheusRule")).toBeDefined();
    expect(tf.output.Mirror_goproxy_url.value).toBe("https://goproxy.example.internal");
  });
});
