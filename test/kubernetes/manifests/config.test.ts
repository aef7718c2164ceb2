// mirror.json for `gomirror-kubernetes manifests`: the props as JSON, storage by its kind.
import { GoMirrorKubernetesPropsError } from "../../../lib/kubernetes";
import { GoMirrorConfigError, propsFromJson } from "../../../lib/kubernetes/manifests/config";
import { manifestsFromProps } from "../../../lib/kubernetes/manifests/from-props";
import type { Json } from "../synth";

function refusal(text: string): string {
  try {
    propsFromJson(text);
  } catch (err) {
    expect(err).toBeInstanceOf(GoMirrorConfigError);
    return (err as Error).message;
  }
  throw new Error("expected a GoMirrorConfigError, nothing was thrown");
}

const IMAGE = "registry.example.com/gomirror:1.0.0";

describe("propsFromJson", () => {
  test("props pass through; storage names the factory", () => {
    const props = propsFromJson(
      JSON.stringify({
        image: IMAGE,
        replicas: 3,
        storage: { s3: { bucket: "go-modules", prefix: "team" } },
      }),
    );
    expect(props.replicas).toBe(3);
    expect(props.storage?.description).toBe("S3 object storage");
    const claim = propsFromJson(
      JSON.stringify({ image: IMAGE, storage: { persistentVolumeClaim: { accessMode: "ReadWriteMany" } } }),
    );
    expect(claim.storage?.description).toBe("a ReadWriteMany PersistentVolumeClaim");
    expect(claim.storage?.sharedBetweenPods).toBe(true);
  });

  test("what the file says reaches the objects", () => {
    const manifests = manifestsFromProps(
      propsFromJson(
        JSON.stringify({ image: IMAGE, storage: { s3: { bucket: "go-modules", prefix: "team" } } }),
      ),
    );
    const env = (manifests.find((m) => m.kind === "Deployment") as Json).spec.template.spec.containers[0].env;
    expect(env).toContainEqual({ name: "GOMIRROR_STORAGE", value: "s3://go-modules/team" });
  });

  test("text that is not JSON, or not one object", () => {
    expect(refusal("{ image: x }")).toMatch(/^not JSON: /);
    expect(refusal(`["${IMAGE}"]`)).toMatch(/^want one JSON object of GoMirrorKubernetes props/);
  });

  test("a misspelt prop is refused, not ignored", () => {
    expect(refusal(JSON.stringify({ image: IMAGE, replica: 2 }))).toMatch(
      /^the config has "replica", which is not a setting; the settings are image, imagePullPolicy, .*replicas/,
    );
  });

  test("a prop or storage option of the wrong kind is named before the construct sees it", () => {
    expect(refusal(JSON.stringify({ image: IMAGE, replicas: "2" }))).toBe(`replicas is "2"; want number`);
    expect(refusal(JSON.stringify({ image: IMAGE, imagePullSecrets: "regcred" }))).toBe(
      `imagePullSecrets is "regcred"; want list of text`,
    );
    expect(refusal(JSON.stringify({ image: IMAGE, ingress: null }))).toBe(`ingress is null; want object`);
    expect(
      refusal(JSON.stringify({ image: IMAGE, storage: { s3: { bucket: "b", forcePathStyle: "yes" } } })),
    ).toBe(`storage.s3.forcePathStyle is "yes"; want true or false`);
  });

  test("storage must name one kind, with an object of known options", () => {
    const example = `like { "persistentVolumeClaim": { "size": "20Gi" } } or { "s3": { "bucket": "go-modules" } }`;
    expect(refusal(JSON.stringify({ image: IMAGE, storage: { bucket: "go-modules" } }))).toBe(
      `storage must name one kind of storage, ${example}`,
    );
    expect(refusal(JSON.stringify({ image: IMAGE, storage: { s3: {}, persistentVolumeClaim: {} } }))).toBe(
      `storage must name one kind of storage, ${example}`,
    );
    expect(refusal(JSON.stringify({ image: IMAGE, storage: { s3: "go-modules" } }))).toBe(
      `storage.s3 must be an object of options, ${example}`,
    );
    expect(
      refusal(JSON.stringify({ image: IMAGE, storage: { s3: { bucket: "go-modules", bukket: "x" } } })),
    ).toMatch(/^storage\.s3 has "bukket", which is not a setting; the settings are bucket, prefix, /);
    expect(
      refusal(JSON.stringify({ image: IMAGE, storage: { persistentVolumeClaim: { sise: "1Gi" } } })),
    ).toMatch(/^storage\.persistentVolumeClaim has "sise", which is not a setting/);
  });

  test("the storage's own checks speak for themselves", () => {
    expect(() => propsFromJson(JSON.stringify({ image: IMAGE, storage: { s3: { bucket: "B" } } }))).toThrow(
      GoMirrorKubernetesPropsError,
    );
  });
});
