import { GoMirrorStorage } from "../../lib/kubernetes";
import { only, resources, synth } from "./synth";

const S3 = GoMirrorStorage.s3({ bucket: "go-modules" });

describe("GoMirrorKubernetes sync", () => {
  it("adds no CronJob unless asked", () => {
    expect(resources(synth({ storage: S3 }).tf, "kubernetes_cron_job_v1")).toEqual({});
  });

  it("runs gomirror sync on a schedule, on the proxy's storage and settings, with the peer's token", () => {
    const { tf } = synth({
      storage: S3,
      sync: {
        from: "https://gomirror.site-a.example",
        schedule: "*/30 * * * *",
        tokenSecret: { name: "site-a-token" },
      },
    });
    const job = only(tf, "kubernetes_cron_job_v1");
    expect(job.metadata.name).toBe("gomirror-sync");
    expect(job.metadata.namespace).toMatch(/^\$\{kubernetes_namespace_v1\..*\.metadata\[0\]\.name\}$/);
    expect(job.spec).toMatchObject({ schedule: "*/30 * * * *", concurrency_policy: "Forbid" });
    const pod = job.spec.job_template.spec.template;
    expect(pod.metadata.labels["app.kubernetes.io/name"]).toBe("gomirror-sync");
    const container = pod.spec.container[0];
    expect(container.args).toEqual(["sync", "--from", "https://gomirror.site-a.example"]);
    const env = Object.fromEntries(
      container.env.map((e: { name: string; value?: string; value_from?: unknown }) => [
        e.name,
        e.value ?? e.value_from,
      ]),
    );
    expect(env.GOMIRROR_STORAGE).toBe("s3://go-modules");
    expect(env.GOMIRROR_S3_FORCE_PATH_STYLE).toBe("false");
    expect(env.GOMIRROR_TOKEN).toEqual({ secret_key_ref: { name: "site-a-token", key: "token" } });
    expect(env.GOMIRROR_LISTEN).toBeUndefined();
    expect(container.security_context.read_only_root_filesystem).toBe(true);
    expect(pod.spec.restart_policy).toBe("Never");
    // The Service selects the proxy's pods only, never a sync pod.
    const service = only(tf, "kubernetes_service_v1");
    expect(service.spec.selector["app.kubernetes.io/name"]).toBe("gomirror");
  });

  it("refuses storage one pod mounts at a time, a URL that is none, and a bad schedule", () => {
    expect(() => synth({ sync: { from: "https://a.example" } })).toThrow(
      /ReadWriteOnce PersistentVolumeClaim, which one pod mounts at a time/,
    );
    expect(() => synth({ storage: S3, sync: { from: "a.example" } })).toThrow(
      /sync.from "a.example" is not an http\(s\) URL/,
    );
    expect(() => synth({ storage: S3, sync: { from: "https://a.example", schedule: "hourly" } })).toThrow(
      /sync.schedule "hourly"/,
    );
  });
});
