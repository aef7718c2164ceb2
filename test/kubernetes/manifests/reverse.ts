// The reverse check: manifest fields written back in the provider's names and types, by hand,
// one field group at a time. It shares nothing with the renderer's tables, so a wrong name or
// type there shows up as a difference from cdktf's own JSON.
import type { Json } from "../synth";

/** Drops undefined entries, as cdktf leaves unset attributes out of its JSON. */
function defined(o: Record<string, unknown>): Json {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

const maybe = <T, R>(v: T | undefined, f: (v: T) => R): R | undefined => (v === undefined ? undefined : f(v));

/** The API's integers that the provider keeps as text; the API side must be a number. */
function fromInteger(n: unknown): string {
  if (typeof n !== "number" || !Number.isInteger(n))
    throw new Error(`want a whole number, found ${JSON.stringify(n)}`);
  return String(n);
}

/** IntOrString, text in the provider: a number in the API, or a name that is not all digits. */
function fromIntOrString(v: unknown): string {
  if (typeof v === "number") return fromInteger(v);
  if (typeof v !== "string" || /^\d+$/.test(v))
    throw new Error(`want a number or a name, found ${JSON.stringify(v)}`);
  return v;
}

/** File modes: the API's number, the provider's octal text. */
const asOctal = (n: number): string => `0${n.toString(8)}`;

export function reverseSelector(s: Json): Json {
  return defined({
    match_labels: s.matchLabels,
    match_expressions: maybe(s.matchExpressions, (list: Json[]) =>
      list.map((e) => defined({ key: e.key, operator: e.operator, values: e.values })),
    ),
  });
}

export function reverseEnv(e: Json): Json {
  if (e.valueFrom === undefined) return { name: e.name, value: e.value };
  const ref = e.valueFrom.secretKeyRef;
  return { name: e.name, value_from: { secret_key_ref: { name: ref.name, key: ref.key } } };
}

export function reversePorts(ports: Json[]): Json[] {
  return ports.map((p) => defined({ name: p.name, container_port: p.containerPort, protocol: p.protocol }));
}

export function reverseProbe(p: Json): Json {
  return defined({
    http_get: defined({
      path: p.httpGet.path,
      port: fromIntOrString(p.httpGet.port),
      scheme: p.httpGet.scheme,
    }),
    initial_delay_seconds: p.initialDelaySeconds,
    period_seconds: p.periodSeconds,
    timeout_seconds: p.timeoutSeconds,
    failure_threshold: p.failureThreshold,
  });
}

export function reverseStrategy(s: Json): Json {
  return defined({
    type: s.type,
    rolling_update: maybe(s.rollingUpdate, (r: Json) => ({
      max_surge: fromIntOrString(r.maxSurge),
      max_unavailable: fromIntOrString(r.maxUnavailable),
    })),
  });
}

export { fromInteger };

export function reverseResources(r: Json): Json {
  return defined({ requests: r.requests, limits: r.limits });
}

export function reverseVolumeMounts(mounts: Json[]): Json[] {
  return mounts.map((m) => defined({ name: m.name, mount_path: m.mountPath, read_only: m.readOnly }));
}

export function reverseVolumes(volumes: Json[]): Json[] {
  const items = (list: Json[] | undefined) =>
    maybe(list, (l) => l.map((i) => defined({ key: i.key, path: i.path, mode: maybe(i.mode, asOctal) })));
  return volumes.map((v) =>
    defined({
      name: v.name,
      empty_dir: maybe(v.emptyDir, (d: Json) => defined({ size_limit: d.sizeLimit })),
      persistent_volume_claim: maybe(v.persistentVolumeClaim, (c: Json) => ({ claim_name: c.claimName })),
      secret: maybe(v.secret, (s: Json) => defined({ secret_name: s.secretName, items: items(s.items) })),
      config_map: maybe(v.configMap, (c: Json) =>
        defined({ name: c.name, default_mode: maybe(c.defaultMode, asOctal), items: items(c.items) }),
      ),
    }),
  );
}

export function reverseSecurityContext(c: Json): Json {
  return defined({
    run_as_non_root: c.runAsNonRoot,
    run_as_user: maybe(c.runAsUser, fromInteger),
    run_as_group: maybe(c.runAsGroup, fromInteger),
    fs_group: maybe(c.fsGroup, fromInteger),
    fs_group_change_policy: c.fsGroupChangePolicy,
    read_only_root_filesystem: c.readOnlyRootFilesystem,
    allow_privilege_escalation: c.allowPrivilegeEscalation,
    privileged: c.privileged,
    capabilities: c.capabilities,
    seccomp_profile: c.seccompProfile,
  });
}

export function reverseTopologySpread(list: Json[]): Json[] {
  return list.map((t) => ({
    max_skew: t.maxSkew,
    topology_key: t.topologyKey,
    when_unsatisfiable: t.whenUnsatisfiable,
    // One selector in the API, a list of blocks in the provider.
    label_selector: [reverseSelector(t.labelSelector)],
  }));
}

export function reverseServicePorts(ports: Json[]): Json[] {
  return ports.map((p) => ({
    name: p.name,
    port: p.port,
    target_port: fromIntOrString(p.targetPort),
    protocol: p.protocol,
  }));
}

export function reverseHpaSpec(s: Json): Json {
  return {
    min_replicas: s.minReplicas,
    max_replicas: s.maxReplicas,
    scale_target_ref: {
      api_version: s.scaleTargetRef.apiVersion,
      kind: s.scaleTargetRef.kind,
      name: s.scaleTargetRef.name,
    },
    metric: s.metrics.map((m: Json) => ({
      type: m.type,
      resource: {
        name: m.resource.name,
        target: { type: m.resource.target.type, average_utilization: m.resource.target.averageUtilization },
      },
    })),
  };
}

function reversePeer(p: Json): Json {
  return defined({
    ip_block: maybe(p.ipBlock, (b: Json) => defined({ cidr: b.cidr, except: b.except })),
    namespace_selector: maybe(p.namespaceSelector, reverseSelector),
    pod_selector: maybe(p.podSelector, reverseSelector),
  });
}

function reversePolicyPorts(ports: Json[]): Json[] {
  return ports.map((p) => ({ port: fromIntOrString(p.port), protocol: p.protocol }));
}

export function reverseNetworkPolicySpec(s: Json): Json {
  return {
    pod_selector: reverseSelector(s.podSelector),
    policy_types: s.policyTypes,
    ingress: s.ingress.map((r: Json) => ({
      from: r.from.map(reversePeer),
      ports: reversePolicyPorts(r.ports),
    })),
    egress: s.egress.map((r: Json) => ({ to: r.to.map(reversePeer), ports: reversePolicyPorts(r.ports) })),
  };
}

export function reverseIngressSpec(s: Json): Json {
  return defined({
    ingress_class_name: s.ingressClassName,
    rule: s.rules.map((r: Json) => ({
      host: r.host,
      http: {
        path: r.http.paths.map((p: Json) => ({
          path: p.path,
          path_type: p.pathType,
          backend: {
            service: { name: p.backend.service.name, port: { number: p.backend.service.port.number } },
          },
        })),
      },
    })),
    tls: maybe(s.tls, (list: Json[]) => list.map((t) => ({ hosts: t.hosts, secret_name: t.secretName }))),
  });
}

/** A budget's count or share: the API's IntOrString, the provider's text. */
export function reverseBudget(s: Json): Json {
  return defined({
    selector: reverseSelector(s.selector),
    min_available: maybe(s.minAvailable, fromIntOrString),
    max_unavailable: maybe(s.maxUnavailable, fromIntOrString),
  });
}

export function reverseClaimSpec(s: Json): Json {
  return defined({
    access_modes: s.accessModes,
    storage_class_name: s.storageClassName,
    resources: { requests: s.resources.requests },
  });
}
