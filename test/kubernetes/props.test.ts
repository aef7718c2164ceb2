import {
  GoMirrorKubernetesPropsError,
  GoMirrorStorage,
  type GoMirrorKubernetesProps,
} from "../../lib/kubernetes";
import { synth } from "./synth";

const S3 = GoMirrorStorage.s3({ bucket: "go-modules" });

describe("invalid props fail at synth with a message naming the prop, the value and the fix", () => {
  test.each<[string, Partial<GoMirrorKubernetesProps>, RegExp]>([
    ["zero replicas", { storage: S3, replicas: 0 }, /replicas is 0; want a whole number at least 1/],
    ["fractional replicas", { storage: S3, replicas: 1.5 }, /replicas is 1.5/],
    [
      "replicas next to autoscaling",
      { storage: S3, replicas: 3, autoscaling: { maxReplicas: 5 } },
      /replicas \(3\) and autoscaling are both set; the autoscaler owns the count, use autoscaling.minReplicas/,
    ],
    [
      "min above max",
      { storage: S3, autoscaling: { minReplicas: 5, maxReplicas: 3 } },
      /autoscaling.minReplicas \(5\) is greater than autoscaling.maxReplicas \(3\)/,
    ],
    [
      "a zero minimum",
      { storage: S3, autoscaling: { minReplicas: 0, maxReplicas: 3 } },
      /autoscaling.minReplicas is 0/,
    ],
    [
      "the default minimum above max",
      { storage: S3, autoscaling: { maxReplicas: 1 } },
      /autoscaling.minReplicas \(2\) is greater than autoscaling.maxReplicas \(1\)/,
    ],
    [
      "a zero CPU target",
      { storage: S3, autoscaling: { maxReplicas: 3, targetCpuUtilization: 0 } },
      /autoscaling.targetCpuUtilization is 0/,
    ],
    [
      "autoscaling without CPU and memory requests",
      { storage: S3, autoscaling: { maxReplicas: 3 }, resources: { requests: { memory: "256Mi" } } },
      /autoscaling targets CPU and memory as a share of the requests, but resources.requests does not set both/,
    ],
    [
      "a bad quantity",
      { resources: { limits: { memory: "1 GB" } } },
      /resources.limits.memory "1 GB" is not a Kubernetes quantity/,
    ],
    [
      "both budget styles",
      { storage: S3, podDisruptionBudget: { minAvailable: 1, maxUnavailable: 1 } },
      /podDisruptionBudget sets both minAvailable and maxUnavailable/,
    ],
    [
      "a budget no eviction can meet",
      { storage: S3, replicas: 2, podDisruptionBudget: { minAvailable: 2 } },
      /podDisruptionBudget.minAvailable 2 leaves no pod that may be evicted with 2 replica\(s\), so node drains would hang/,
    ],
    [
      "a budget above the autoscaler's minimum",
      {
        storage: S3,
        autoscaling: { minReplicas: 2, maxReplicas: 6 },
        podDisruptionBudget: { minAvailable: 3 },
      },
      /minAvailable 3 leaves no pod that may be evicted with 2 replica/,
    ],
    [
      "a budget of 100%",
      { storage: S3, podDisruptionBudget: { minAvailable: "100%" } },
      /minAvailable 100% leaves no pod that may be evicted/,
    ],
    [
      "maxUnavailable 0",
      { podDisruptionBudget: { maxUnavailable: 0 } },
      /maxUnavailable 0 forbids every eviction/,
    ],
    [
      "a bad percentage",
      { podDisruptionBudget: { maxUnavailable: "half" } },
      /maxUnavailable "half" is not a count or a percentage/,
    ],
    ["a bad name", { name: "Go_Mirror" }, /name "Go_Mirror" is not a valid Kubernetes name/],
    [
      "a name starting with a digit",
      { name: "1mirror" },
      /name "1mirror" must start with a letter: it also names the Service/,
    ],
    ["a long namespace", { namespace: "n".repeat(64) }, /namespace "n{64}" is not a valid Kubernetes name/],
    [
      "an image with spaces",
      { image: "gomirror latest" },
      /image "gomirror latest" is not an image reference/,
    ],
    [
      "a bad pull secret",
      { imagePullSecrets: ["Registry"] },
      /imagePullSecrets\[0\] "Registry" is not a valid Kubernetes object name/,
    ],
    [
      "a bad label",
      { labels: { team: "platform team" } },
      /labels\["team"\] value "platform team" is not a valid label value/,
    ],
    [
      "source ranges on a ClusterIP Service",
      { service: { loadBalancerSourceRanges: ["10.0.0.0/8"] } },
      /service.loadBalancerSourceRanges only applies to a LoadBalancer Service, but service.type is ClusterIP/,
    ],
    [
      "a bad source range",
      { service: { type: "LoadBalancer", loadBalancerSourceRanges: ["10.0.0.0/40"] } },
      /service.loadBalancerSourceRanges\[0\]: "10.0.0.0\/40" has prefix length "40"; want 0 to 32/,
    ],
    ["port 0", { service: { port: 0 } }, /service.port 0 is not a TCP port/],
    ["a port too high", { service: { port: 65536 } }, /service.port 65536 is not a TCP port/],
    ["a bad tmp size", { tmpSizeLimit: "lots" }, /tmpSizeLimit "lots" is not a Kubernetes quantity/],
    ["a zero skew", { topologySpread: { maxSkew: 0 } }, /topologySpread.maxSkew is 0/],
  ])("%s", (_case, props, message) => {
    expect(() => synth(props)).toThrow(message);
  });

  test("the errors are GoMirrorKubernetesPropsError, prefixed with the construct's name", () => {
    let caught: unknown;
    try {
      synth({ replicas: 0 });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(GoMirrorKubernetesPropsError);
    expect((caught as Error).message).toMatch(/^GoMirrorKubernetes: /);
  });
});
