#!/usr/bin/env node
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

/** `gomirror-kubernetes manifests`: the GoMirrorKubernetes construct's objects as plain YAML. */

const USAGE = `gomirror-kubernetes: gomirror's Kubernetes objects as plain manifests, without Terraform

Usage:
  gomirror-kubernetes manifests --config mirror.json > gomirror.yaml
  kubectl apply -f gomirror.yaml

mirror.json holds the GoMirrorKubernetes props as one JSON object, e.g.
  { "image": "registry.example.com/gomirror:1.4.0",
    "storage": { "s3": { "bucket": "go-modules" } },
    "autoscaling": { "maxReplicas": 6 } }
storage names its kind: { "persistentVolumeClaim": { ... } } or { "s3": { ... } }.
The YAML goes to stdout, in the order kubectl should apply it (Namespace first, custom
resources last). Needs the construct's peer dependencies: cdktf, @cdktf/provider-kubernetes
and constructs (no Terraform).

Exit status: 0 written, 1 the objects could not be rendered, 2 wrong usage or a bad config file.
`;

const PEERS = ["cdktf", "@cdktf/provider-kubernetes", "constructs"];
/** The peers as package.json pins them (the command-line test compares the two). */
const PEER_INSTALL = "cdktf@0.21.0 @cdktf/provider-kubernetes@12.1.1 constructs@^10.5.1";

class UsageError extends Error {}

function fail(message: string, code: number): never {
  process.stderr.write(`gomirror-kubernetes: ${message}\n`);
  process.exit(code);
}

function parse(argv: string[]): { config: string } | "help" {
  let values: { config?: string; help?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      options: { config: { type: "string" }, help: { type: "boolean", short: "h" } },
      allowPositionals: true,
      strict: true,
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) return "help";
  const [command, ...extra] = positionals;
  if (command !== "manifests") {
    throw new UsageError(
      command === undefined ? "want a command: manifests" : `unknown command "${command}"; want manifests`,
    );
  }
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
  if (values.config === undefined)
    throw new UsageError("manifests wants --config FILE, the construct props as JSON");
  return { config: values.config };
}

/** The construct and its renderer, loaded only now: without the peers, say which to install. */
async function loadRenderer() {
  try {
    return {
      ...(await import("../lib/kubernetes/manifests/config")),
      ...(await import("../lib/kubernetes/manifests/from-props")),
      ...(await import("../lib/kubernetes/manifests/yaml")),
      ...(await import("../lib/kubernetes/validation")),
    };
  } catch (err) {
    // Node names the module asked for: the package, or a file in it (`@cdktf/provider-kubernetes/lib/...`).
    const message = (err as Error).message;
    const missing = PEERS.find((p) => message.includes(`'${p}'`) || message.includes(`'${p}/`));
    if ((err as NodeJS.ErrnoException).code === "MODULE_NOT_FOUND" && missing !== undefined) {
      fail(
        `cannot load ${missing}: the manifests are rendered by the cdktf construct, so install its peer ` +
          `dependencies beside gomirror: npm install ${PEER_INSTALL}`,
        2,
      );
    }
    throw err;
  }
}

async function main(argv: string[]): Promise<void> {
  let args: { config: string } | "help";
  try {
    args = parse(argv);
  } catch (err) {
    if (err instanceof UsageError) fail(`${err.message}\nsee gomirror-kubernetes --help`, 2);
    throw err;
  }
  if (args === "help") {
    process.stdout.write(USAGE);
    return;
  }
  const r = await loadRenderer();
  let text: string;
  try {
    text = readFileSync(args.config, "utf8");
  } catch (err) {
    fail(`cannot read the config file: ${(err as Error).message}`, 2);
  }
  let yaml: string;
  try {
    yaml = r.manifestsToYaml(r.manifestsFromProps(r.propsFromJson(text)));
  } catch (err) {
    // The construct's own checks say which prop is wrong and how to fix it.
    if (err instanceof r.GoMirrorConfigError || err instanceof r.GoMirrorKubernetesPropsError) {
      fail(`${args.config}: ${err.message}`, 2);
    }
    throw err;
  }
  process.stdout.write(yaml);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  fail(err instanceof Error ? err.message : String(err), 1);
});
