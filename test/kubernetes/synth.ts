// Helpers for the Kubernetes construct tests: synthesize, pick resources out of the Terraform
// JSON, and resolve a container's environment the way the kubelet does.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { type App, TerraformStack, Testing } from "cdktf";
import "cdktf/lib/testing/adapters/jest";
import { GoMirrorKubernetes, type GoMirrorKubernetesProps } from "../../lib/kubernetes";

export const IMAGE = "registry.example.com/gomirror:1.0.0";

/* eslint-disable @typescript-eslint/no-explicit-any -- synthesized Terraform JSON is untyped */
export type Json = any;

export interface Synthesized {
  /** The Terraform JSON as Testing.synth returns it (for the cdktf matchers and snapshots). */
  readonly json: string;
  readonly tf: Json;
}

const outdirs: string[] = [];
// A cdktf App creates its output directory even when nothing is written to it, and
// Testing.app() (so Testing.synthScope too) makes a new one in the temp dir for every app and
// never removes it. These apps get theirs here, removed when the test file is done.
afterAll(() => {
  for (const dir of outdirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Testing.app(), with an output directory that is removed after the test file. */
export function testApp(): App {
  const outdir = mkdtempSync(path.join(tmpdir(), "gomirror-cdktf-test-"));
  outdirs.push(outdir);
  return Testing.app({ outdir });
}

/** What Testing.synthScope does (an app, a stack named "stack", synth), on a testApp(). */
export function synth(props: Partial<GoMirrorKubernetesProps> = {}): Synthesized {
  const stack = new TerraformStack(testApp(), "stack");
  new GoMirrorKubernetes(stack, "Mirror", { image: IMAGE, ...props });
  const json = Testing.synth(stack);
  return { json, tf: JSON.parse(json) };
}

/** Every resource of a Terraform type, by logical id. */
export function resources(tf: Json, type: string): Record<string, Json> {
  return tf.resource?.[type] ?? {};
}

/** The one resource of a type; fails the test when there are none or several. */
export function only(tf: Json, type: string): Json {
  const all = Object.values(resources(tf, type));
  if (all.length !== 1) throw new Error(`expected exactly one ${type}, found ${all.length}`);
  return all[0];
}

/** The kubernetes_manifest whose manifest has this kind. */
export function manifestOfKind(tf: Json, kind: string): Json | undefined {
  return Object.values(resources(tf, "kubernetes_manifest")).find((m: Json) => m.manifest.kind === kind);
}

export function podSpec(tf: Json): Json {
  return only(tf, "kubernetes_deployment_v1").spec.template.spec;
}

export function container(tf: Json): Json {
  const containers = podSpec(tf).container;
  expect(containers).toHaveLength(1);
  return containers[0];
}

/**
 * The container's environment as the process would see it: secretKeyRef values looked up in
 * `secrets` (`{ secretName: { key: value } }`), then `$(NAME)` references to earlier variables
 * expanded, as the kubelet does; an unknown reference stays as written.
 */
export function resolvedEnv(
  tf: Json,
  secrets: Record<string, Record<string, string>> = {},
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of container(tf).env ?? []) {
    let value: string;
    if (e.value_from?.secret_key_ref) {
      const ref = e.value_from.secret_key_ref;
      const v = secrets[ref.name]?.[ref.key];
      if (v === undefined) throw new Error(`env ${e.name} needs key ${ref.key} of Secret ${ref.name}`);
      value = v;
    } else {
      value = String(e.value ?? "").replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, name: string) =>
        name in env ? env[name]! : whole,
      );
    }
    env[e.name] = value;
  }
  return env;
}

export function volumeNamed(tf: Json, name: string): Json {
  return (podSpec(tf).volume ?? []).find((v: Json) => v.name === name);
}

export function mountNamed(tf: Json, name: string): Json {
  return (container(tf).volume_mount ?? []).find((m: Json) => m.name === name);
}
