// The manifest tables of Deployment, CronJob, HorizontalPodAutoscaler and PodDisruptionBudget specs.
import { LABEL_SELECTOR, metadata } from "./common";
import { type Block, field, flag, integer, intOrString, object, objects, text } from "./fields";
import { POD_TEMPLATE } from "./pod";

const METRIC_TARGET: Block = {
  type: field("type", text),
  average_utilization: field("averageUtilization", integer),
  average_value: field("averageValue", text),
  value: field("value", text),
};

const SCALING_RULES: Block = {
  stabilization_window_seconds: field("stabilizationWindowSeconds", integer),
  select_policy: field("selectPolicy", text),
  policy: field(
    "policies",
    objects({
      type: field("type", text),
      value: field("value", integer),
      period_seconds: field("periodSeconds", integer),
    }),
  ),
};

const JOB_SPEC: Block = {
  active_deadline_seconds: field("activeDeadlineSeconds", integer),
  backoff_limit: field("backoffLimit", integer),
  completions: field("completions", integer),
  completion_mode: field("completionMode", text),
  parallelism: field("parallelism", integer),
  // Text in the provider, a number in the API.
  ttl_seconds_after_finished: field("ttlSecondsAfterFinished", integer),
  manual_selector: field("manualSelector", flag),
  selector: field("selector", object(LABEL_SELECTOR)),
  template: field("template", object(POD_TEMPLATE)),
};

export const DEPLOYMENT_SPEC: Block = {
  // Text in the provider, a number in the API.
  replicas: field("replicas", integer),
  selector: field("selector", object(LABEL_SELECTOR)),
  strategy: field(
    "strategy",
    object({
      type: field("type", text),
      rolling_update: field(
        "rollingUpdate",
        object({
          max_surge: field("maxSurge", intOrString),
          max_unavailable: field("maxUnavailable", intOrString),
        }),
      ),
    }),
  ),
  min_ready_seconds: field("minReadySeconds", integer),
  progress_deadline_seconds: field("progressDeadlineSeconds", integer),
  revision_history_limit: field("revisionHistoryLimit", integer),
  paused: field("paused", flag),
  template: field("template", object(POD_TEMPLATE)),
};

export const CRON_JOB_SPEC: Block = {
  schedule: field("schedule", text),
  timezone: field("timeZone", text),
  concurrency_policy: field("concurrencyPolicy", text),
  starting_deadline_seconds: field("startingDeadlineSeconds", integer),
  successful_jobs_history_limit: field("successfulJobsHistoryLimit", integer),
  failed_jobs_history_limit: field("failedJobsHistoryLimit", integer),
  suspend: field("suspend", flag),
  job_template: field("jobTemplate", object({ metadata, spec: field("spec", object(JOB_SPEC)) })),
};

export const HPA_SPEC: Block = {
  scale_target_ref: field(
    "scaleTargetRef",
    object({
      api_version: field("apiVersion", text),
      kind: field("kind", text),
      name: field("name", text),
    }),
  ),
  min_replicas: field("minReplicas", integer),
  max_replicas: field("maxReplicas", integer),
  metric: field(
    "metrics",
    objects({
      type: field("type", text),
      resource: field(
        "resource",
        object({ name: field("name", text), target: field("target", object(METRIC_TARGET)) }),
      ),
      container_resource: field(
        "containerResource",
        object({
          name: field("name", text),
          container: field("container", text),
          target: field("target", object(METRIC_TARGET)),
        }),
      ),
    }),
  ),
  behavior: field(
    "behavior",
    object({
      scale_up: field("scaleUp", object(SCALING_RULES)),
      scale_down: field("scaleDown", object(SCALING_RULES)),
    }),
  ),
};

export const PDB_SPEC: Block = {
  selector: field("selector", object(LABEL_SELECTOR)),
  // Text in the provider, IntOrString in the API: "1" is one pod, "50%" a share.
  min_available: field("minAvailable", intOrString),
  max_unavailable: field("maxUnavailable", intOrString),
};
