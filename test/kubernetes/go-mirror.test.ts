import { DeploymentV1 } from "@cdktf/provider-kubernetes/lib/deployment-v1";
import { HorizontalPodAutoscalerV2 } from "@cdktf/provider-kubernetes/lib/horizontal-pod-autoscaler-v2";
import { NamespaceV1 } from "@cdktf/provider-kubernetes/lib/namespace-v1";
import { PodDisruptionBudgetV1 } from "@cdktf/provider-kubernetes/lib/pod-disruption-budget-v1";
import { ServiceAccountV1 } from "@cdktf/provider-kubernetes/lib/service-account-v1";
import { ServiceV1 } from "@cdktf/provider-kubernetes/lib/service-v1";
import { Testing, TerraformStack } from "cdktf";
import { GoMirrorKubernetes, GoMirrorStorage } from "../../lib/kubernetes";
import { IMAGE, container, only, podSpec, resources, synth, testApp, volumeNamed, mountNamed } from "./synth";

Testing.setupJest();

const S3 = GoMirrorStorage.s3({ bucket: "go-modules" });

describe("GoMirrorKubernetes defaults", () => {
  const { json, tf } = synth();

  test("the synthesized Terraform JSON", () => {
    expect(json).toMatchSnapshot();
  });

  test("creates the namespace, labelled for the restricted Pod Security Standard", () => {
    expect(json).toHaveResourceWithProperties(NamespaceV1, {
      metadata: expect.objectContaining({
        name: "gomirror",
        labels: expect.objectContaining({
          "pod-security.kubernetes.io/enforce": "restricted",
          "app.kubernetes.io/name": "gomirror",
        }),
      }),
    });
  });

  test("every namespaced object waits for the namespace through a reference", () => {
    const ref = "${kubernetes_namespace_v1.Mirror_Namespace_04E3C5D8.metadata[0].name}";
    for (const type of [
      "kubernetes_service_account_v1",
      "kubernetes_deployment_v1",
      "kubernetes_service_v1",
      "kubernetes_pod_disruption_budget_v1",
      "kubernetes_network_policy_v1",
      "kubernetes_persistent_volume_claim_v1",
    ]) {
      expect([type, only(tf, type).metadata.namespace]).toEqual([type, ref]);
    }
  });

  test("the ServiceAccount mounts no API token, and neither does the pod", () => {
    expect(json).toHaveResourceWithProperties(ServiceAccountV1, { automount_service_account_token: false });
    expect(podSpec(tf).automount_service_account_token).toBe(false);
    expect(podSpec(tf).service_account_name).toBe(
      "${kubernetes_service_account_v1.Mirror_ServiceAccount_CCEA53E8.metadata[0].name}",
    );
  });

  test("pod security context: non-root uid 65532, fsGroup, seccomp RuntimeDefault", () => {
    expect(podSpec(tf).security_context).toEqual({
      run_as_non_root: true,
      run_as_user: "65532",
      run_as_group: "65532",
      fs_group: "65532",
      fs_group_change_policy: "OnRootMismatch",
      seccomp_profile: { type: "RuntimeDefault" },
    });
  });

  test("container security context: read-only root, no escalation, all capabilities dropped", () => {
    expect(container(tf).security_context).toEqual({
      run_as_non_root: true,
      run_as_user: "65532",
      run_as_group: "65532",
      read_only_root_filesystem: true,
      allow_privilege_escalation: false,
      privileged: false,
      capabilities: { drop: ["ALL"] },
      seccomp_profile: { type: "RuntimeDefault" },
    });
  });

  test("probes: readiness on /readyz and liveness on /healthz, on the named port 8080", () => {
    const c = container(tf);
    expect(c.port).toEqual([{ name: "http", container_port: 8080, protocol: "TCP" }]);
    expect(c.readiness_probe.http_get).toEqual({ path: "/readyz", port: "http" });
    expect(c.liveness_probe.http_get).toEqual({ path: "/healthz", port: "http" });
    // Liveness must be more patient than readiness: a busy pod should leave the Service, not restart.
    expect(c.liveness_probe.period_seconds * c.liveness_probe.failure_threshold).toBeGreaterThan(
      c.readiness_probe.period_seconds * c.readiness_probe.failure_threshold,
    );
  });

  test("the image, listen address and default resources", () => {
    const c = container(tf);
    expect(c.image).toBe(IMAGE);
    expect(c.env[0]).toEqual({ name: "GOMIRROR_LISTEN", value: "0.0.0.0:8080" });
    expect(c.resources).toEqual({ requests: { cpu: "100m", memory: "256Mi" }, limits: { memory: "1Gi" } });
  });

  test("a terminating pod keeps serving for 5 s with readiness failing, inside its grace period", () => {
    expect(container(tf).env[1]).toEqual({ name: "GOMIRROR_SHUTDOWN_DELAY", value: "5" });
    // 5 s delay + 25 s GOMIRROR_SHUTDOWN_GRACE for in-flight downloads + a margin to exit
    expect(only(tf, "kubernetes_deployment_v1").spec.template.spec.termination_grace_period_seconds).toBe(35);
  });

  test("/tmp is a size-limited emptyDir, the only writable place besides the cache", () => {
    expect(volumeNamed(tf, "tmp")).toEqual({ name: "tmp", empty_dir: { size_limit: "2Gi" } });
    expect(mountNamed(tf, "tmp")).toEqual({ name: "tmp", mount_path: "/tmp" });
    const mounts = container(tf).volume_mount.map((m: { mount_path: string }) => m.mount_path);
    expect(mounts.sort()).toEqual(["/tmp", "/var/cache/gomirror"]);
  });

  test("pods spread across nodes, best effort", () => {
    expect(podSpec(tf).topology_spread_constraint).toEqual([
      {
        max_skew: 1,
        topology_key: "kubernetes.io/hostname",
        when_unsatisfiable: "ScheduleAnyway",
        label_selector: [
          {
            match_labels: { "app.kubernetes.io/name": "gomirror", "app.kubernetes.io/instance": "gomirror" },
          },
        ],
      },
    ]);
  });

  test("one replica on the default ReadWriteOnce claim, replaced with Recreate", () => {
    const spec = only(tf, "kubernetes_deployment_v1").spec;
    expect(spec.replicas).toBe("1");
    expect(spec.strategy).toEqual({ type: "Recreate" });
  });

  test("a ClusterIP Service on port 80 selects exactly the Deployment's pods", () => {
    const deployment = only(tf, "kubernetes_deployment_v1");
    const service = only(tf, "kubernetes_service_v1");
    expect(service.spec.type).toBe("ClusterIP");
    expect(service.spec.port).toEqual([{ name: "http", port: 80, target_port: "http", protocol: "TCP" }]);
    expect(service.spec.selector).toEqual(deployment.spec.selector.match_labels);
    // The selector is a subset of the pod labels, and of the Service's own labels (ServiceMonitor).
    expect(deployment.spec.template.metadata.labels).toEqual(expect.objectContaining(service.spec.selector));
    expect(service.metadata.labels).toEqual(expect.objectContaining(service.spec.selector));
  });

  test("a PodDisruptionBudget with maxUnavailable 1 on the same selector", () => {
    expect(json).toHaveResourceWithProperties(PodDisruptionBudgetV1, {
      spec: {
        max_unavailable: "1",
        selector: {
          match_labels: { "app.kubernetes.io/name": "gomirror", "app.kubernetes.io/instance": "gomirror" },
        },
      },
    });
  });

  test("no autoscaler, Ingress or monitoring objects unless asked", () => {
    expect(json).not.toHaveResource(HorizontalPodAutoscalerV2);
    expect(resources(tf, "kubernetes_ingress_v1")).toEqual({});
    expect(resources(tf, "kubernetes_manifest")).toEqual({});
  });
});

describe("GoMirrorKubernetes options", () => {
  test("an existing namespace is referenced by name and not created", () => {
    const { json, tf } = synth({ namespace: "platform", createNamespace: false });
    expect(json).not.toHaveResource(NamespaceV1);
    expect(only(tf, "kubernetes_deployment_v1").metadata.namespace).toBe("platform");
  });

  test("autoscaling: an HPA v2 on CPU and memory between min and max, and no fixed replica count", () => {
    const { json, tf } = synth({
      storage: S3,
      autoscaling: { minReplicas: 3, maxReplicas: 9, targetCpuUtilization: 60, targetMemoryUtilization: 75 },
    });
    expect(json).toHaveResourceWithProperties(HorizontalPodAutoscalerV2, {
      spec: {
        min_replicas: 3,
        max_replicas: 9,
        scale_target_ref: {
          api_version: "apps/v1",
          kind: "Deployment",
          name: "${kubernetes_deployment_v1.Mirror_Deployment_8D5C4074.metadata[0].name}",
        },
        metric: [
          {
            type: "Resource",
            resource: { name: "cpu", target: { type: "Utilization", average_utilization: 60 } },
          },
          {
            type: "Resource",
            resource: { name: "memory", target: { type: "Utilization", average_utilization: 75 } },
          },
        ],
      },
    });
    // A replica count in the Deployment would fight the autoscaler on every apply.
    expect(only(tf, "kubernetes_deployment_v1").spec.replicas).toBeUndefined();
  });

  test("autoscaling defaults: min 2, CPU 70%, memory 80%", () => {
    const { tf } = synth({ storage: S3, autoscaling: { maxReplicas: 4 } });
    const hpa = only(tf, "kubernetes_horizontal_pod_autoscaler_v2");
    expect(hpa.spec.min_replicas).toBe(2);
    expect(
      hpa.spec.metric.map(
        (m: { resource: { target: { average_utilization: number } } }) =>
          m.resource.target.average_utilization,
      ),
    ).toEqual([70, 80]);
  });

  test("shared storage rolls pods one at a time without losing capacity, 2 replicas by default", () => {
    const { tf } = synth({ storage: S3 });
    const spec = only(tf, "kubernetes_deployment_v1").spec;
    expect(spec.replicas).toBe("2");
    expect(spec.strategy).toEqual({
      type: "RollingUpdate",
      rolling_update: { max_surge: "1", max_unavailable: "0" },
    });
  });

  test("PodDisruptionBudget: minAvailable instead, or none at all", () => {
    const withMin = synth({ storage: S3, replicas: 3, podDisruptionBudget: { minAvailable: 2 } });
    expect(only(withMin.tf, "kubernetes_pod_disruption_budget_v1").spec).toEqual({
      min_available: "2",
      selector: {
        match_labels: { "app.kubernetes.io/name": "gomirror", "app.kubernetes.io/instance": "gomirror" },
      },
    });
    const none = synth({ podDisruptionBudget: { enabled: false } });
    expect(none.json).not.toHaveResource(PodDisruptionBudgetV1);
  });

  test("name, labels, pull secrets, node selector and pod annotations", () => {
    const { json, tf } = synth({
      name: "mirror-b",
      labels: { team: "platform" },
      imagePullSecrets: ["registry-creds"],
      imagePullPolicy: "Always",
      nodeSelector: { "kubernetes.io/os": "linux" },
      podAnnotations: { "example.com/scrape": "false" },
    });
    expect(json).toHaveResourceWithProperties(DeploymentV1, {
      metadata: expect.objectContaining({
        name: "mirror-b",
        labels: expect.objectContaining({ team: "platform", "app.kubernetes.io/instance": "mirror-b" }),
      }),
    });
    const deployment = only(tf, "kubernetes_deployment_v1");
    // Extra labels never enter selectors: changing them must not require a new Deployment.
    expect(deployment.spec.selector.match_labels).toEqual({
      "app.kubernetes.io/name": "gomirror",
      "app.kubernetes.io/instance": "mirror-b",
    });
    expect(podSpec(tf).image_pull_secrets).toEqual([{ name: "registry-creds" }]);
    expect(podSpec(tf).node_selector).toEqual({ "kubernetes.io/os": "linux" });
    expect(deployment.spec.template.metadata.annotations).toEqual({ "example.com/scrape": "false" });
    expect(container(tf).image_pull_policy).toBe("Always");
    expect(only(tf, "kubernetes_persistent_volume_claim_v1").metadata.name).toBe("mirror-b-cache");
  });

  test("a LoadBalancer Service with source ranges", () => {
    const { json } = synth({
      service: { type: "LoadBalancer", port: 8443, loadBalancerSourceRanges: ["203.0.113.0/24"] },
    });
    expect(json).toHaveResourceWithProperties(ServiceV1, {
      spec: expect.objectContaining({
        type: "LoadBalancer",
        load_balancer_source_ranges: ["203.0.113.0/24"],
        port: [{ name: "http", port: 8443, target_port: "http", protocol: "TCP" }],
      }),
    });
  });

  test("topology spread can be made a hard rule across zones", () => {
    const { tf } = synth({
      storage: S3,
      topologySpread: {
        topologyKey: "topology.kubernetes.io/zone",
        whenUnsatisfiable: "DoNotSchedule",
        maxSkew: 2,
      },
    });
    expect(podSpec(tf).topology_spread_constraint[0]).toEqual(
      expect.objectContaining({
        topology_key: "topology.kubernetes.io/zone",
        when_unsatisfiable: "DoNotSchedule",
        max_skew: 2,
      }),
    );
  });

  test("the composed objects are public members, and the URLs say where the proxy answers", () => {
    const stack = new TerraformStack(testApp(), "stack");
    const mirror = new GoMirrorKubernetes(stack, "Mirror", {
      image: IMAGE,
      storage: S3,
      autoscaling: { maxReplicas: 3 },
      ingress: { host: "goproxy.example.com", tlsSecretName: "tls" },
      monitoring: {},
    });
    expect(mirror.deployment).toBeInstanceOf(DeploymentV1);
    expect(mirror.service).toBeInstanceOf(ServiceV1);
    expect(mirror.hpa).toBeInstanceOf(HorizontalPodAutoscalerV2);
    expect(mirror.pdb).toBeInstanceOf(PodDisruptionBudgetV1);
    expect(mirror.namespace).toBeInstanceOf(NamespaceV1);
    expect(mirror.ingress).toBeDefined();
    expect(mirror.networkPolicy).toBeDefined();
    expect(mirror.serviceMonitor).toBeDefined();
    expect(mirror.prometheusRule).toBeDefined();
    expect(mirror.persistentVolumeClaim).toBeUndefined();
    expect(mirror.clusterUrl).toBe("http://gomirror.gomirror.svc:80");
    expect(mirror.goproxyUrl).toBe("https://goproxy.example.com");
    // The escape hatch works: an override lands in the synthesized JSON.
    mirror.deployment.addOverride("spec.min_ready_seconds", 5);
    expect(
      JSON.parse(Testing.synth(stack)).resource.kubernetes_deployment_v1.Mirror_Deployment_8D5C4074.spec
        .min_ready_seconds,
    ).toBe(5);
  });
});

describe("HCL output for teams leaving cdktf", () => {
  test("Testing.synthHcl renders the construct as Terraform HCL", () => {
    const stack = new TerraformStack(testApp(), "stack");
    new GoMirrorKubernetes(stack, "Mirror", { image: IMAGE, storage: S3 });
    const hcl: string = Testing.synthHcl(stack);
    expect(hcl).toMatch(/resource "kubernetes_deployment_v1" "Mirror_Deployment_8D5C4074" \{/);
    expect(hcl).toMatch(/resource "kubernetes_network_policy_v1" /);
    expect(hcl).toMatch(/read_only_root_filesystem\s*=\s*true/);
    expect(hcl).toMatch(/path\s*=\s*"\/readyz"/);
    // HCL, not JSON: blocks without quotes around their names and no top-level braces.
    expect(hcl.trimStart().startsWith("{")).toBe(false);
  });
});

describe("what users are told", () => {
  test("goproxyUrl is also a Terraform output named after the construct", () => {
    const { tf } = synth();
    expect(tf.output).toEqual({
      Mirror_goproxy_url: {
        value: "http://gomirror.gomirror.svc:80",
        description: "What Go users put in GOPROXY",
      },
    });
  });

  test("from plain JavaScript, a missing image is named rather than a TypeError", () => {
    expect(() => synth({ image: undefined as unknown as string })).toThrow(
      /GoMirrorKubernetes: image is required: the gomirror image with a pinned tag or digest/,
    );
  });
});
