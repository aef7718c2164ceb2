// The two renderings of one construct, Terraform JSON and plain manifests, compared object by
// object and field group by field group through the hand-written reverse check in reverse.ts.
import type { KubernetesManifest } from "../../../lib/kubernetes/manifests/fields";
import type { Json } from "../synth";
import { addDashboardAndSync, CASES, renderBoth } from "./cases";
import {
  fromInteger,
  reverseBudget,
  reverseClaimSpec,
  reverseEnv,
  reverseHpaSpec,
  reverseIngressSpec,
  reverseNetworkPolicySpec,
  reversePorts,
  reverseProbe,
  reverseResources,
  reverseSecurityContext,
  reverseSelector,
  reverseServicePorts,
  reverseStrategy,
  reverseTopologySpread,
  reverseVolumeMounts,
  reverseVolumes,
} from "./reverse";

/** The kind each Terraform type stands for, written here rather than read from the renderer. */
const KIND_OF: Record<string, string> = {
  kubernetes_namespace_v1: "Namespace",
  kubernetes_service_account_v1: "ServiceAccount",
  kubernetes_deployment_v1: "Deployment",
  kubernetes_service_v1: "Service",
  kubernetes_horizontal_pod_autoscaler_v2: "HorizontalPodAutoscaler",
  kubernetes_pod_disruption_budget_v1: "PodDisruptionBudget",
  kubernetes_network_policy_v1: "NetworkPolicy",
  kubernetes_ingress_v1: "Ingress",
  kubernetes_persistent_volume_claim_v1: "PersistentVolumeClaim",
  kubernetes_config_map_v1: "ConfigMap",
  kubernetes_cron_job_v1: "CronJob",
};

// The only references the construct writes: another object's name.
const NAME_REFERENCE = /^\$\{(kubernetes_[a-z0-9_]+)\.([A-Za-z0-9_]+)\.metadata\[0\]\.name\}$/;

/** The Terraform JSON with every name reference replaced by the name it points to. */
function dereference(tf: Json, value: Json = tf): Json {
  if (typeof value === "string") {
    const m = NAME_REFERENCE.exec(value);
    if (m !== null) return tf.resource[m[1]!][m[2]!].metadata.name;
    if (/(^|[^$])\$\{/.test(value)) throw new Error(`a reference this test does not expect: ${value}`);
    // Terraform's escapes of a literal `${` and `%{` (Grafana's `${datasource}`), as Terraform writes them.
    return value.replace(/\$\$\{/g, "${").replace(/%%\{/g, "%{");
  }
  if (Array.isArray(value)) return value.map((v) => dereference(tf, v));
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, dereference(tf, v)]));
  }
  return value;
}

interface TerraformObject {
  readonly type: string;
  readonly kind: string;
  readonly metadata: Json;
  readonly body: Json;
}

function terraformObjects(tf: Json): TerraformObject[] {
  return Object.entries(tf.resource as Record<string, Record<string, Json>>).flatMap(([type, byId]) =>
    Object.values(byId).map((body) =>
      type === "kubernetes_manifest"
        ? { type, kind: body.manifest.kind, metadata: body.manifest.metadata, body }
        : { type, kind: KIND_OF[type] ?? `no kind for ${type}`, metadata: body.metadata, body },
    ),
  );
}

const key = (kind: string, metadata: Json): string =>
  `${kind} ${metadata.namespace ?? "(cluster)"}/${metadata.name}`;

/** The one manifest of this kind and name; fails when there are none or several. */
function manifestFor(manifests: KubernetesManifest[], o: TerraformObject): Json {
  const found = manifests.filter((m) => key(m.kind, m.metadata) === key(o.kind, o.metadata));
  expect([key(o.kind, o.metadata), found.length]).toEqual([key(o.kind, o.metadata), 1]);
  return found[0];
}

function pairs(tf: Json, manifests: KubernetesManifest[], type: string): [Json, Json][] {
  return terraformObjects(tf)
    .filter((o) => o.type === type)
    .map((o) => [o.body, manifestFor(manifests, o)]);
}

function checkPod(tfPod: Json, pod: Json): void {
  expect(pod.containers).toHaveLength(tfPod.container.length);
  tfPod.container.forEach((tc: Json, i: number) => {
    const c = pod.containers[i];
    expect([c.name, c.image, c.imagePullPolicy]).toEqual([tc.name, tc.image, tc.image_pull_policy]);
    expect(c.args).toEqual(tc.args);
    expect((c.env ?? []).map(reverseEnv)).toEqual(tc.env ?? []);
    expect(reversePorts(c.ports ?? [])).toEqual(tc.port ?? []);
    expect(c.readinessProbe && reverseProbe(c.readinessProbe)).toEqual(tc.readiness_probe);
    expect(c.livenessProbe && reverseProbe(c.livenessProbe)).toEqual(tc.liveness_probe);
    expect(reverseResources(c.resources)).toEqual(tc.resources);
    expect(c.securityContext && reverseSecurityContext(c.securityContext)).toEqual(tc.security_context);
    expect(reverseVolumeMounts(c.volumeMounts ?? [])).toEqual(tc.volume_mount ?? []);
  });
  expect(reverseVolumes(pod.volumes ?? [])).toEqual(tfPod.volume ?? []);
  expect(reverseSecurityContext(pod.securityContext)).toEqual(tfPod.security_context);
  expect(pod.serviceAccountName).toBe(tfPod.service_account_name);
  expect(pod.automountServiceAccountToken).toBe(tfPod.automount_service_account_token);
  expect(pod.nodeSelector).toEqual(tfPod.node_selector);
  expect(pod.imagePullSecrets).toEqual(tfPod.image_pull_secrets);
}

function checkAgreement(tfRaw: Json, manifests: KubernetesManifest[]): void {
  const tf = dereference(tfRaw);

  test("one manifest per Terraform resource, with the same kind, name and namespace", () => {
    const fromTerraform = terraformObjects(tf).map((o) => key(o.kind, o.metadata));
    expect(manifests.map((m) => key(m.kind, m.metadata)).sort()).toEqual(fromTerraform.sort());
    expect(new Set(fromTerraform).size).toBe(fromTerraform.length);
  });

  test("labels and annotations of every object", () => {
    for (const o of terraformObjects(tf)) {
      const m = manifestFor(manifests, o);
      expect([o.kind, m.metadata.labels, m.metadata.annotations]).toEqual([
        o.kind,
        o.metadata.labels,
        o.metadata.annotations,
      ]);
    }
  });

  test("the Deployment: replicas, selector, rollout, and the pod (images, env, ports, probes, volumes, resources)", () => {
    for (const [d, m] of pairs(tf, manifests, "kubernetes_deployment_v1")) {
      expect(m.spec.replicas === undefined ? undefined : fromInteger(m.spec.replicas)).toEqual(
        d.spec.replicas,
      );
      expect(reverseSelector(m.spec.selector)).toEqual(d.spec.selector);
      expect(reverseStrategy(m.spec.strategy)).toEqual(d.spec.strategy);
      expect(m.spec.template.metadata).toEqual(d.spec.template.metadata);
      expect(reverseTopologySpread(m.spec.template.spec.topologySpreadConstraints)).toEqual(
        d.spec.template.spec.topology_spread_constraint,
      );
      expect(m.spec.template.spec.terminationGracePeriodSeconds).toBe(
        d.spec.template.spec.termination_grace_period_seconds,
      );
      checkPod(d.spec.template.spec, m.spec.template.spec);
    }
  });

  test("the Service: type, selector, ports", () => {
    for (const [s, m] of pairs(tf, manifests, "kubernetes_service_v1")) {
      expect([m.spec.type, m.spec.selector]).toEqual([s.spec.type, s.spec.selector]);
      expect(reverseServicePorts(m.spec.ports)).toEqual(s.spec.port);
      expect(m.spec.loadBalancerSourceRanges).toEqual(s.spec.load_balancer_source_ranges);
    }
  });

  test("the HorizontalPodAutoscaler: bounds, target and metrics", () => {
    for (const [h, m] of pairs(tf, manifests, "kubernetes_horizontal_pod_autoscaler_v2")) {
      expect(reverseHpaSpec(m.spec)).toEqual(h.spec);
    }
  });

  test("the PodDisruptionBudget: selector and budget", () => {
    for (const [p, m] of pairs(tf, manifests, "kubernetes_pod_disruption_budget_v1")) {
      expect(reverseBudget(m.spec)).toEqual(p.spec);
    }
  });

  test("the NetworkPolicy: selector and every ingress and egress rule", () => {
    for (const [n, m] of pairs(tf, manifests, "kubernetes_network_policy_v1")) {
      expect(reverseNetworkPolicySpec(m.spec)).toEqual(n.spec);
    }
  });

  test("the Ingress: class, rules, backends, TLS", () => {
    for (const [i, m] of pairs(tf, manifests, "kubernetes_ingress_v1")) {
      expect(reverseIngressSpec(m.spec)).toEqual(i.spec);
    }
  });

  test("the PersistentVolumeClaim: access modes, class, size", () => {
    for (const [c, m] of pairs(tf, manifests, "kubernetes_persistent_volume_claim_v1")) {
      expect(reverseClaimSpec(m.spec)).toEqual(c.spec);
    }
  });

  test("the ServiceAccount mounts no token in either rendering", () => {
    for (const [a, m] of pairs(tf, manifests, "kubernetes_service_account_v1")) {
      expect(m.automountServiceAccountToken).toBe(a.automount_service_account_token);
    }
  });

  test("ServiceMonitor and PrometheusRule: the manifest as kubernetes_manifest holds it", () => {
    for (const [r, m] of pairs(tf, manifests, "kubernetes_manifest")) {
      expect(m).toEqual(r.manifest);
    }
  });
}

describe.each(Object.entries(CASES))("%s", (_name, props) => {
  const { tf, manifests } = renderBoth(props);
  checkAgreement(tf, manifests);
});

describe("with a dashboard ConfigMap and a sync CronJob added inside the construct", () => {
  const { tf: tfRaw, manifests } = renderBoth({}, addDashboardAndSync);
  checkAgreement(tfRaw, manifests);
  const tf = dereference(tfRaw);

  test("the ConfigMap: data as written", () => {
    const [[c, m]] = pairs(tf, manifests, "kubernetes_config_map_v1") as [[Json, Json]];
    expect([m.data, m.immutable]).toEqual([c.data, c.immutable]);
  });

  test("the CronJob: schedule, history, the job and its pod", () => {
    const [[c, m]] = pairs(tf, manifests, "kubernetes_cron_job_v1") as [[Json, Json]];
    expect([m.spec.schedule, m.spec.timeZone, m.spec.concurrencyPolicy, m.spec.suspend]).toEqual([
      c.spec.schedule,
      c.spec.timezone,
      c.spec.concurrency_policy,
      c.spec.suspend,
    ]);
    expect([
      m.spec.startingDeadlineSeconds,
      m.spec.successfulJobsHistoryLimit,
      m.spec.failedJobsHistoryLimit,
    ]).toEqual([
      c.spec.starting_deadline_seconds,
      c.spec.successful_jobs_history_limit,
      c.spec.failed_jobs_history_limit,
    ]);
    const job = m.spec.jobTemplate.spec;
    const tfJob = c.spec.job_template.spec;
    expect([job.backoffLimit, fromInteger(job.ttlSecondsAfterFinished)]).toEqual([
      tfJob.backoff_limit,
      tfJob.ttl_seconds_after_finished,
    ]);
    expect(job.template.spec.restartPolicy).toBe(tfJob.template.spec.restart_policy);
    expect(
      job.template.spec.tolerations.map((t: Json) => ({
        ...t,
        tolerationSeconds: fromInteger(t.tolerationSeconds),
      })),
    ).toEqual(
      tfJob.template.spec.toleration.map((t: Json) => ({
        key: t.key,
        operator: t.operator,
        effect: t.effect,
        tolerationSeconds: t.toleration_seconds,
      })),
    );
    checkPod(tfJob.template.spec, job.template.spec);
  });
});

test("the cases together render every type the construct creates, and both added ones", () => {
  const types = new Set<string>();
  for (const props of Object.values(CASES))
    for (const t of Object.keys(renderBoth(props).tf.resource)) types.add(t);
  for (const t of Object.keys(renderBoth({}, addDashboardAndSync).tf.resource)) types.add(t);
  expect([...types].sort()).toEqual([...Object.keys(KIND_OF), "kubernetes_manifest"].sort());
});
