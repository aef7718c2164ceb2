import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { App, Stack, type StackProps } from "aws-cdk-lib";
import * as ecs from "aws-cdk-lib/aws-ecs";

/**
 * Helpers for the CDK tests. Apps built here skip aws-cdk-lib's built-in CloudFormation
 * validation (about 3 s per synth); the CLI synth test in app.test.ts keeps it on.
 */

const outdirs: string[] = [];
// Each app writes its cloud assembly (and staged assets) to its own directory: remove them
// when the test file is done instead of leaving one temp directory per synth behind.
afterAll(() => {
  for (const dir of outdirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A fresh app without the built-in validator, synthesizing into a directory removed afterwards. */
export function testApp(): App {
  const outdir = mkdtempSync(path.join(tmpdir(), "gomirror-cdk-test-"));
  outdirs.push(outdir);
  return new App({ builtinCloudFormationValidation: false, outdir });
}

/** A fresh environment-agnostic stack in its own app (no context lookups, like the CLI app). */
export function testStack(props?: StackProps): Stack {
  return new Stack(testApp(), "Test", props);
}

/** An image that needs no asset staging, for tests not about the default image. */
export function registryImage(): ecs.ContainerImage {
  return ecs.ContainerImage.fromRegistry("public.ecr.aws/example/gomirror:1.0.0");
}

const ASSET_HASH = /\b[0-9a-f]{64}\b/g;

/**
 * A template with the content hashes of assets (image directory, Lambda code) replaced by a
 * placeholder, so a snapshot changes when the template does, not when the proxy's code does.
 */
export function normaliseTemplate(template: unknown): unknown {
  return JSON.parse(JSON.stringify(template).replace(ASSET_HASH, "<asset-hash>"));
}
