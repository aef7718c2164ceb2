// `gomirror-kubernetes manifests --config mirror.json`, run as a user runs it: a process of its
// own, a config file, YAML on stdout, messages on stderr, an exit status.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseAllDocuments } from "yaml";
import { propsFromJson } from "../../../lib/kubernetes/manifests/config";
import { manifestsFromProps } from "../../../lib/kubernetes/manifests/from-props";
import type { Json } from "../synth";

const ROOT = path.resolve(__dirname, "../../..");
const BIN = path.join(ROOT, "bin/gomirror-kubernetes.ts");
const WITHOUT_CDKTF = path.join(__dirname, "without-cdktf.js");
const IMAGE = "registry.example.com/gomirror:1.0.0";

interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), "gomirror-k8s-cli-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function gomirrorKubernetes(args: string[], preload: string[] = []): Run {
  const run = spawnSync(
    process.execPath,
    [...preload, require.resolve("ts-node/dist/bin"), "--transpile-only", BIN, ...args],
    { cwd: dir, encoding: "utf8", timeout: 60_000 },
  );
  if (run.error) throw run.error;
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

function configFile(name: string, text: string): string {
  writeFileSync(path.join(dir, name), text);
  return name;
}

const FULL = JSON.stringify({
  image: IMAGE,
  storage: { s3: { bucket: "go-modules", endpoint: "http://minio.minio.svc:9000" } },
  autoscaling: { maxReplicas: 6 },
  ingress: {
    host: "goproxy.example.internal",
    tlsSecretName: "goproxy-tls",
    allowedSourceRanges: ["10.0.0.0/8"],
  },
  networkPolicy: { objectStorageEgress: { namespaces: ["minio"], ports: [9000] } },
  monitoring: {},
});

test("writes the objects of the config file as YAML, in apply order, and nothing else anywhere", () => {
  const file = configFile("mirror.json", FULL);
  const run = gomirrorKubernetes(["manifests", "--config", file]);
  expect([run.status, run.stderr]).toEqual([0, ""]);
  const docs = parseAllDocuments(run.stdout, { version: "1.1" }) as { toJS(): { kind: string } }[];
  const objects = docs.map((d) => d.toJS());
  expect(objects).toEqual(JSON.parse(JSON.stringify(manifestsFromProps(propsFromJson(FULL)))));
  expect(objects[0]!.kind).toBe("Namespace");
  expect(objects.slice(-2).map((o) => o.kind)).toEqual(["ServiceMonitor", "PrometheusRule"]);
  // No cdktf.out or other leftovers in the working directory.
  expect(readdirSync(dir)).toEqual([file]);
});

test("the construct's own message for props it refuses, with exit status 2 and no YAML", () => {
  const file = configFile("one-volume.json", JSON.stringify({ image: IMAGE, replicas: 3 }));
  const run = gomirrorKubernetes(["manifests", `--config=${file}`]);
  expect(run.status).toBe(2);
  expect(run.stdout).toBe("");
  expect(run.stderr).toMatch(
    /^gomirror-kubernetes: one-volume\.json: GoMirrorKubernetes: replicas is 3, but storage is a ReadWriteOnce PersistentVolumeClaim, which only one pod can mount; .*\n$/,
  );
});

test("a config file that is not JSON props, or cannot be read", () => {
  const misspelt = gomirrorKubernetes([
    "manifests",
    "--config",
    configFile("typo.json", `{"image":"${IMAGE}","replica":2}`),
  ]);
  expect(misspelt.status).toBe(2);
  expect(misspelt.stderr).toMatch(
    /^gomirror-kubernetes: typo\.json: the config has "replica", which is not a setting/,
  );
  const missing = gomirrorKubernetes(["manifests", "--config", "absent.json"]);
  expect(missing.status).toBe(2);
  expect(missing.stderr).toMatch(/^gomirror-kubernetes: cannot read the config file: ENOENT.*absent\.json/);
});

test("usage: --help, and what is missing or unknown", () => {
  const help = gomirrorKubernetes(["--help"]);
  expect([help.status, help.stderr]).toEqual([0, ""]);
  expect(help.stdout).toMatch(/gomirror-kubernetes manifests --config mirror\.json > gomirror\.yaml/);
  const noConfig = gomirrorKubernetes(["manifests"]);
  expect([noConfig.status, noConfig.stderr]).toEqual([
    2,
    "gomirror-kubernetes: manifests wants --config FILE, the construct props as JSON\nsee gomirror-kubernetes --help\n",
  ]);
  const nothing = gomirrorKubernetes([]);
  expect([nothing.status, nothing.stderr]).toEqual([
    2,
    "gomirror-kubernetes: want a command: manifests\nsee gomirror-kubernetes --help\n",
  ]);
  const flag = gomirrorKubernetes(["manifests", "--conf", "x.json"]);
  expect(flag.status).toBe(2);
  expect(flag.stderr).toMatch(/^gomirror-kubernetes: Unknown option '--conf'/);
  const unknown = gomirrorKubernetes(["manifest", "--config", "x.json"]);
  expect([unknown.status, unknown.stderr]).toEqual([
    2,
    `gomirror-kubernetes: unknown command "manifest"; want manifests\nsee gomirror-kubernetes --help\n`,
  ]);
});

test("without the peer dependencies installed, says which to install, at the versions package.json asks for", () => {
  const run = gomirrorKubernetes(
    ["manifests", "--config", configFile("ok.json", FULL)],
    ["-r", WITHOUT_CDKTF],
  );
  expect(run.status).toBe(2);
  const peers = (JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as Json).peerDependencies;
  const install = ["cdktf", "@cdktf/provider-kubernetes", "constructs"]
    .map((p) => `${p}@${peers[p]}`)
    .join(" ");
  expect(run.stderr).toMatch(/^gomirror-kubernetes: cannot load cdktf: /);
  expect(run.stderr.endsWith(`: npm install ${install}\n`)).toBe(true);
});
