// An on-prem team mirror: gomirror on your own Kubernetes cluster, modules in an in-cluster MinIO,
// private modules from an internal GitLab, reachable at https://goproxy.example.internal.
//
//   npx ts-node -T -r tsconfig-paths/register main.ts     (or: cdktf synth)
//   cd cdktf.out/stacks/gomirror-onprem && terraform init && terraform apply
import { KubernetesProvider } from "@cdktf/provider-kubernetes/lib/provider";
import { App, TerraformStack } from "cdktf";
import type { Construct } from "constructs";
import { GoMirrorKubernetes, GoMirrorStorage } from "gomirror/kubernetes";

class OnPremMirrorStack extends TerraformStack {
  constructor(scope: Construct, id: string) {
    super(scope, id);

    // Terraform reads the cluster credentials when it runs; nothing is contacted at synth time.
    new KubernetesProvider(this, "kubernetes", {
      configPath: process.env.KUBECONFIG ?? "~/.kube/config",
      configContext: process.env.KUBE_CONTEXT,
    });

    // `terraform output Mirror_goproxy_url` gives what Go users set GOPROXY to.
    new GoMirrorKubernetes(this, "Mirror", {
      image: "registry.example.internal/platform/gomirror:1.0.0",
      namespace: "gomirror",
      // Several replicas share one bucket, so the autoscaler may add pods.
      storage: GoMirrorStorage.s3({
        endpoint: "http://minio.minio.svc:9000",
        bucket: "go-modules",
        prefix: "gomirror",
        credentialsSecret: { secretName: "gomirror-s3" },
      }),
      autoscaling: { minReplicas: 2, maxReplicas: 6 },
      proxy: {
        upstreams: ["https://proxy.golang.org", "direct"],
        privatePatterns: ["gitlab.example.internal/*"],
        cacheTtl: 120,
      },
      // A Secret with key "token" (a GitLab deploy or access token), created outside Terraform.
      gitCredentials: {
        secretName: "gomirror-git",
        tokenKey: "token",
        tokenHosts: ["gitlab.example.internal"],
      },
      // Client tokens: the file `gomirror token add --file tokens` writes, in the Secret
      // "gomirror-tokens" (key "tokens"); developers put theirs in ~/.netrc, CI jobs in a secret.
      auth: { secretName: "gomirror-tokens" },
      ingress: {
        host: "goproxy.example.internal",
        className: "nginx",
        tlsSecretName: "goproxy-tls",
        allowedSourceRanges: ["10.0.0.0/8", "192.168.0.0/16"],
        annotations: { "cert-manager.io/cluster-issuer": "internal-ca" },
      },
      networkPolicy: {
        allowFromNamespaces: ["ci-runners"],
        objectStorageEgress: { namespaces: ["minio"], ports: [9000] },
        gitEgress: { cidrs: ["10.20.30.0/24"], ports: [443] },
      },
      monitoring: { labels: { release: "kube-prometheus-stack" } },
    });
  }
}

const app = new App();
new OnPremMirrorStack(app, "gomirror-onprem");
app.synth();
