// The manifest table of the pod template, shared by Deployments and the jobs of CronJobs.
import { LABEL_SELECTOR, METADATA } from "./common";
import {
  type Block,
  field,
  fileMode,
  flag,
  integer,
  integers,
  intOrString,
  object,
  objects,
  text,
  textMap,
  texts,
} from "./fields";

const SECCOMP_PROFILE: Block = {
  type: field("type", text),
  localhost_profile: field("localhostProfile", text),
};

const KEY_REF: Block = {
  name: field("name", text),
  key: field("key", text),
  optional: field("optional", flag),
};

const ENV: Block = {
  name: field("name", text),
  value: field("value", text),
  value_from: field(
    "valueFrom",
    object({
      secret_key_ref: field("secretKeyRef", object(KEY_REF)),
      config_map_key_ref: field("configMapKeyRef", object(KEY_REF)),
      field_ref: field(
        "fieldRef",
        object({ api_version: field("apiVersion", text), field_path: field("fieldPath", text) }),
      ),
      resource_field_ref: field(
        "resourceFieldRef",
        object({
          container_name: field("containerName", text),
          resource: field("resource", text),
          divisor: field("divisor", text),
        }),
      ),
    }),
  ),
};

const ENV_SOURCE: Block = { name: field("name", text), optional: field("optional", flag) };

const PROBE: Block = {
  http_get: field(
    "httpGet",
    object({
      path: field("path", text),
      port: field("port", intOrString),
      host: field("host", text),
      scheme: field("scheme", text),
      http_header: field("httpHeaders", objects({ name: field("name", text), value: field("value", text) })),
    }),
  ),
  tcp_socket: field("tcpSocket", object({ port: field("port", intOrString) })),
  exec: field("exec", object({ command: field("command", texts) })),
  grpc: field("grpc", object({ port: field("port", integer), service: field("service", text) })),
  initial_delay_seconds: field("initialDelaySeconds", integer),
  period_seconds: field("periodSeconds", integer),
  timeout_seconds: field("timeoutSeconds", integer),
  failure_threshold: field("failureThreshold", integer),
  success_threshold: field("successThreshold", integer),
};

const CONTAINER_SECURITY_CONTEXT: Block = {
  run_as_non_root: field("runAsNonRoot", flag),
  run_as_user: field("runAsUser", integer),
  run_as_group: field("runAsGroup", integer),
  read_only_root_filesystem: field("readOnlyRootFilesystem", flag),
  allow_privilege_escalation: field("allowPrivilegeEscalation", flag),
  privileged: field("privileged", flag),
  capabilities: field("capabilities", object({ add: field("add", texts), drop: field("drop", texts) })),
  seccomp_profile: field("seccompProfile", object(SECCOMP_PROFILE)),
};

const CONTAINER: Block = {
  name: field("name", text),
  image: field("image", text),
  image_pull_policy: field("imagePullPolicy", text),
  command: field("command", texts),
  args: field("args", texts),
  working_dir: field("workingDir", text),
  port: field(
    "ports",
    objects({
      name: field("name", text),
      container_port: field("containerPort", integer),
      protocol: field("protocol", text),
      host_port: field("hostPort", integer),
      // The API spells this one hostIP, not hostIp.
      host_ip: field("hostIP", text),
    }),
  ),
  env: field("env", objects(ENV)),
  env_from: field(
    "envFrom",
    objects({
      prefix: field("prefix", text),
      config_map_ref: field("configMapRef", object(ENV_SOURCE)),
      secret_ref: field("secretRef", object(ENV_SOURCE)),
    }),
  ),
  resources: field(
    "resources",
    object({ limits: field("limits", textMap), requests: field("requests", textMap) }),
  ),
  readiness_probe: field("readinessProbe", object(PROBE)),
  liveness_probe: field("livenessProbe", object(PROBE)),
  startup_probe: field("startupProbe", object(PROBE)),
  security_context: field("securityContext", object(CONTAINER_SECURITY_CONTEXT)),
  volume_mount: field(
    "volumeMounts",
    objects({
      name: field("name", text),
      mount_path: field("mountPath", text),
      sub_path: field("subPath", text),
      sub_path_expr: field("subPathExpr", text),
      read_only: field("readOnly", flag),
      mount_propagation: field("mountPropagation", text),
    }),
  ),
  termination_message_path: field("terminationMessagePath", text),
  termination_message_policy: field("terminationMessagePolicy", text),
};

const KEY_TO_PATH: Block = {
  key: field("key", text),
  path: field("path", text),
  mode: field("mode", fileMode),
};

const VOLUME: Block = {
  name: field("name", text),
  empty_dir: field(
    "emptyDir",
    object({ medium: field("medium", text), size_limit: field("sizeLimit", text) }),
  ),
  persistent_volume_claim: field(
    "persistentVolumeClaim",
    object({ claim_name: field("claimName", text), read_only: field("readOnly", flag) }),
  ),
  secret: field(
    "secret",
    object({
      secret_name: field("secretName", text),
      items: field("items", objects(KEY_TO_PATH)),
      default_mode: field("defaultMode", fileMode),
      optional: field("optional", flag),
    }),
  ),
  config_map: field(
    "configMap",
    object({
      name: field("name", text),
      items: field("items", objects(KEY_TO_PATH)),
      default_mode: field("defaultMode", fileMode),
      optional: field("optional", flag),
    }),
  ),
};

const POD_SECURITY_CONTEXT: Block = {
  run_as_non_root: field("runAsNonRoot", flag),
  run_as_user: field("runAsUser", integer),
  run_as_group: field("runAsGroup", integer),
  fs_group: field("fsGroup", integer),
  fs_group_change_policy: field("fsGroupChangePolicy", text),
  supplemental_groups: field("supplementalGroups", integers),
  seccomp_profile: field("seccompProfile", object(SECCOMP_PROFILE)),
  sysctl: field("sysctls", objects({ name: field("name", text), value: field("value", text) })),
};

const POD_SPEC: Block = {
  service_account_name: field("serviceAccountName", text),
  automount_service_account_token: field("automountServiceAccountToken", flag),
  enable_service_links: field("enableServiceLinks", flag),
  restart_policy: field("restartPolicy", text),
  termination_grace_period_seconds: field("terminationGracePeriodSeconds", integer),
  active_deadline_seconds: field("activeDeadlineSeconds", integer),
  priority_class_name: field("priorityClassName", text),
  runtime_class_name: field("runtimeClassName", text),
  dns_policy: field("dnsPolicy", text),
  security_context: field("securityContext", object(POD_SECURITY_CONTEXT)),
  node_selector: field("nodeSelector", textMap),
  image_pull_secrets: field("imagePullSecrets", objects({ name: field("name", text) })),
  toleration: field(
    "tolerations",
    objects({
      key: field("key", text),
      operator: field("operator", text),
      value: field("value", text),
      effect: field("effect", text),
      toleration_seconds: field("tolerationSeconds", integer),
    }),
  ),
  topology_spread_constraint: field(
    "topologySpreadConstraints",
    objects({
      max_skew: field("maxSkew", integer),
      topology_key: field("topologyKey", text),
      when_unsatisfiable: field("whenUnsatisfiable", text),
      label_selector: field("labelSelector", object(LABEL_SELECTOR)),
      min_domains: field("minDomains", integer),
      match_label_keys: field("matchLabelKeys", texts),
      node_affinity_policy: field("nodeAffinityPolicy", text),
      node_taints_policy: field("nodeTaintsPolicy", text),
    }),
  ),
  init_container: field("initContainers", objects(CONTAINER)),
  container: field("containers", objects(CONTAINER)),
  volume: field("volumes", objects(VOLUME)),
};

export const POD_TEMPLATE: Block = {
  metadata: field("metadata", object(METADATA)),
  spec: field("spec", object(POD_SPEC)),
};
