import { PersistentVolumeClaimV1 } from "@cdktf/provider-kubernetes/lib/persistent-volume-claim-v1";
import { Testing } from "cdktf";
import { GoMirrorStorage } from "../../lib/kubernetes";
import { loadConfig } from "../../lib/proxy/config";
import { container, mountNamed, only, resolvedEnv, resources, synth, volumeNamed } from "./synth";

Testing.setupJest();

describe("disk backend on a PersistentVolumeClaim", () => {
  test("by default: a new 10Gi ReadWriteOnce claim mounted at the cache directory", () => {
    const { json, tf } = synth();
    expect(json).toHaveResourceWithProperties(PersistentVolumeClaimV1, {
      metadata: expect.objectContaining({ name: "gomirror-cache" }),
      spec: { access_modes: ["ReadWriteOnce"], resources: { requests: { storage: "10Gi" } } },
      // A WaitForFirstConsumer class binds only when the pod exists, which Terraform creates later.
      wait_until_bound: false,
    });
    const [claimId] = Object.keys(resources(tf, "kubernetes_persistent_volume_claim_v1"));
    expect(volumeNamed(tf, "cache")).toEqual({
      name: "cache",
      persistent_volume_claim: {
        claim_name: `\${kubernetes_persistent_volume_claim_v1.${claimId}.metadata[0].name}`,
      },
    });
    expect(mountNamed(tf, "cache")).toEqual({ name: "cache", mount_path: "/var/cache/gomirror" });
    const config = loadConfig({ env: resolvedEnv(tf), argv: [] });
    expect(config.storage).toBe("/var/cache/gomirror");
  });

  test("size and storage class of a new claim", () => {
    const { tf } = synth({
      storage: GoMirrorStorage.persistentVolumeClaim({ size: "50Gi", storageClassName: "fast-ssd" }),
    });
    expect(only(tf, "kubernetes_persistent_volume_claim_v1").spec).toEqual({
      access_modes: ["ReadWriteOnce"],
      storage_class_name: "fast-ssd",
      resources: { requests: { storage: "50Gi" } },
    });
  });

  test("an existing claim is mounted and none is created", () => {
    const { json, tf } = synth({
      storage: GoMirrorStorage.persistentVolumeClaim({ existingClaimName: "go-cache" }),
    });
    expect(json).not.toHaveResource(PersistentVolumeClaimV1);
    expect(volumeNamed(tf, "cache").persistent_volume_claim).toEqual({ claim_name: "go-cache" });
  });

  test("ReadWriteMany: several replicas and autoscaling are allowed, with rolling updates", () => {
    const rwx = GoMirrorStorage.persistentVolumeClaim({
      accessMode: "ReadWriteMany",
      storageClassName: "nfs",
    });
    const fixed = synth({ storage: rwx, replicas: 3 });
    const deployment = only(fixed.tf, "kubernetes_deployment_v1");
    expect(deployment.spec.replicas).toBe("3");
    expect(deployment.spec.strategy.type).toBe("RollingUpdate");
    expect(only(fixed.tf, "kubernetes_persistent_volume_claim_v1").spec.access_modes).toEqual([
      "ReadWriteMany",
    ]);
    const scaled = synth({ storage: rwx, autoscaling: { minReplicas: 2, maxReplicas: 4 } });
    expect(only(scaled.tf, "kubernetes_horizontal_pod_autoscaler_v2").spec.max_replicas).toBe(4);
  });

  test.each([
    ["ReadWriteOnce", {}],
    ["ReadWriteOnce", { accessMode: "ReadWriteOnce" as const }],
    ["ReadWriteOncePod", { accessMode: "ReadWriteOncePod" as const }],
  ])("a %s claim refuses several replicas", (_mode, options) => {
    expect(() => synth({ storage: GoMirrorStorage.persistentVolumeClaim(options), replicas: 2 })).toThrow(
      /replicas is 2, but storage is a ReadWriteOnce(Pod)? PersistentVolumeClaim, which only one pod can mount; set replicas to 1/,
    );
  });

  test("a ReadWriteOnce claim refuses autoscaling", () => {
    expect(() => synth({ autoscaling: { minReplicas: 1, maxReplicas: 3 } })).toThrow(
      /autoscaling needs storage that several pods can use at once, but storage is a ReadWriteOnce PersistentVolumeClaim/,
    );
  });

  test("an existing claim together with settings for a new one is refused", () => {
    expect(() =>
      GoMirrorStorage.persistentVolumeClaim({ existingClaimName: "go-cache", size: "5Gi" }),
    ).toThrow(/existing claim "go-cache" and also size\/storageClassName/);
  });

  test("bad sizes and access modes are refused", () => {
    expect(() => GoMirrorStorage.persistentVolumeClaim({ size: "ten gigs" })).toThrow(
      /storage size "ten gigs" is not a Kubernetes quantity/,
    );
    expect(() =>
      GoMirrorStorage.persistentVolumeClaim({ accessMode: "ReadOnlyMany" as unknown as "ReadWriteMany" }),
    ).toThrow(/accessMode "ReadOnlyMany" is not one of/);
  });
});

describe("S3-compatible object storage", () => {
  const minio = GoMirrorStorage.s3({
    endpoint: "http://minio.minio.svc:9000",
    bucket: "go-modules",
    prefix: "team/gomirror",
    credentialsSecret: {
      secretName: "s3-creds",
      accessKeyIdKey: "access-key",
      secretAccessKeyKey: "secret-key",
    },
  });
  const networkPolicy = { objectStorageEgress: { namespaces: ["minio"], ports: [9000] } };

  test("the synthesized Terraform JSON", () => {
    expect(synth({ storage: minio, networkPolicy }).json).toMatchSnapshot();
  });

  test("the proxy reads bucket, prefix, endpoint and path-style addressing from the env", () => {
    const { tf } = synth({ storage: minio, networkPolicy });
    const env = resolvedEnv(tf, { "s3-creds": { "access-key": "AKIAEXAMPLE", "secret-key": "s3cr3t" } });
    const config = loadConfig({ env, argv: [] });
    expect(config.storage).toBe("s3://go-modules/team/gomirror");
    expect(config.s3Endpoint).toBe("http://minio.minio.svc:9000");
    expect(config.s3ForcePathStyle).toBe(true);
    expect(config.s3Region).toBe("us-east-1");
    expect(config.zipRedirect).toBe(false);
    expect(env.AWS_ACCESS_KEY_ID).toBe("AKIAEXAMPLE");
    expect(env.AWS_SECRET_ACCESS_KEY).toBe("s3cr3t");
  });

  test("credentials come from the Secret's keys, never as literal values", () => {
    const { tf } = synth({ storage: minio, networkPolicy });
    const env = container(tf).env;
    expect(env).toContainEqual({
      name: "AWS_ACCESS_KEY_ID",
      value_from: { secret_key_ref: { name: "s3-creds", key: "access-key" } },
    });
    expect(env).toContainEqual({
      name: "AWS_SECRET_ACCESS_KEY",
      value_from: { secret_key_ref: { name: "s3-creds", key: "secret-key" } },
    });
  });

  test("no claim; the cache directory is a size-limited emptyDir for scratch files", () => {
    const { tf } = synth({ storage: minio, networkPolicy });
    expect(resources(tf, "kubernetes_persistent_volume_claim_v1")).toEqual({});
    expect(volumeNamed(tf, "cache")).toEqual({ name: "cache", empty_dir: { size_limit: "2Gi" } });
    expect(mountNamed(tf, "cache")).toEqual({ name: "cache", mount_path: "/var/cache/gomirror" });
  });

  test("AWS S3 itself: virtual-hosted addressing, a region, default secret key names, zip redirects", () => {
    const { tf } = synth({
      storage: GoMirrorStorage.s3({
        bucket: "go-modules",
        region: "eu-west-1",
        credentialsSecret: { secretName: "aws" },
      }),
      proxy: { zipRedirect: true },
    });
    const env = resolvedEnv(tf, { aws: { AWS_ACCESS_KEY_ID: "a", AWS_SECRET_ACCESS_KEY: "b" } });
    const config = loadConfig({ env, argv: [] });
    expect(config.storage).toBe("s3://go-modules");
    expect(config.s3Endpoint).toBeUndefined();
    expect(config.s3ForcePathStyle).toBe(false);
    expect(config.s3Region).toBe("eu-west-1");
    expect(config.zipRedirect).toBe(true);
  });

  test("without a credentials Secret no AWS_* variables are set (the SDK's default chain applies)", () => {
    const { tf } = synth({ storage: GoMirrorStorage.s3({ bucket: "go-modules" }) });
    const names = container(tf).env.map((e: { name: string }) => e.name);
    expect(names.filter((n: string) => n.startsWith("AWS_"))).toEqual([]);
  });

  test.each([
    [{ bucket: "Go_Modules" }, /storage bucket "Go_Modules" is not an S3 bucket name/],
    [{ bucket: "ok-bucket", prefix: "/leading" }, /storage prefix "\/leading" must be path segments/],
    [{ bucket: "ok-bucket", prefix: "a//b" }, /storage prefix "a\/\/b" must be path segments/],
    [
      { bucket: "ok-bucket", endpoint: "minio:9000" },
      /storage endpoint "minio:9000" is not an http\(s\) URL/,
    ],
    [
      { bucket: "ok-bucket", endpoint: "http://user:pw@minio:9000" },
      /is not an http\(s\) URL without credentials/,
    ],
    [
      { bucket: "ok-bucket", credentialsSecret: { secretName: "Bad_Name" } },
      /credentialsSecret.secretName "Bad_Name"/,
    ],
  ])("refuses %j", (options, message) => {
    expect(() => GoMirrorStorage.s3(options)).toThrow(message);
  });
});
