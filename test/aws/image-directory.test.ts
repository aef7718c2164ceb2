import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import type { App } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { GoMirror } from "../../lib/aws";
import { findImageDirectory, imageBundleProblem } from "../../lib/aws/image-directory";
import { testStack } from "./support";

describe("findImageDirectory", () => {
  let root: string;
  beforeEach(() => {
    root = realpathSync(mkdtempSync(path.join(tmpdir(), "gomirror-image-dir-")));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it.each([["lib/aws"], ["dist/lib/aws"], ["node_modules/gomirror/dist/lib/aws"]])(
    "walks up from %s to the package's image/",
    (start) => {
      const pkg = start.startsWith("node_modules") ? path.join(root, "node_modules/gomirror") : root;
      mkdirSync(path.join(pkg, "image"), { recursive: true });
      writeFileSync(path.join(pkg, "image", "Dockerfile"), "FROM scratch\n");
      mkdirSync(path.join(root, start), { recursive: true });
      expect(findImageDirectory(path.join(root, start))).toBe(path.join(pkg, "image"));
    },
  );

  it("skips an image/ directory without a Dockerfile", () => {
    mkdirSync(path.join(root, "lib", "image"), { recursive: true });
    mkdirSync(path.join(root, "image"), { recursive: true });
    writeFileSync(path.join(root, "image", "Dockerfile"), "FROM scratch\n");
    expect(findImageDirectory(path.join(root, "lib"))).toBe(path.join(root, "image"));
  });

  it("says where it looked and what to do when there is none", () => {
    mkdirSync(path.join(root, "lib", "aws"), { recursive: true });
    expect(() => findImageDirectory(path.join(root, "lib", "aws"))).toThrow(
      new RegExp(
        `no image/Dockerfile found above .*looked in ${path.join(root, "lib", "aws", "image")}.*pass \`image\``,
      ),
    );
  });

  it("finds this repository's image/ from lib/aws", () => {
    const found = findImageDirectory(path.join(__dirname, "..", "..", "lib", "aws"));
    expect(found).toBe(path.resolve(__dirname, "..", "..", "image"));
  });
});

describe("imageBundleProblem", () => {
  it("names the missing bundle and the command that builds it", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "gomirror-bundle-"));
    try {
      expect(imageBundleProblem(dir)).toMatch(/dist\/gomirror\.js does not exist yet: run `npm run bundle`/);
      mkdirSync(path.join(dir, "dist"));
      writeFileSync(path.join(dir, "dist", "gomirror.js"), "");
      expect(imageBundleProblem(dir)).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("GoMirror default image", () => {
  it("is a linux/amd64 asset built from the package's image/ directory", () => {
    const stack = testStack();
    new GoMirror(stack, "Mirror", { auth: {} });
    const resources = Template.fromStack(stack).toJSON().Resources;
    const taskDef = Object.values(
      resources as Record<string, { Type: string; Properties: Record<string, unknown> }>,
    ).find((r) => r.Type === "AWS::ECS::TaskDefinition")!;
    const container = (taskDef.Properties.ContainerDefinitions as { Image: unknown }[])[0];
    expect(JSON.stringify(container.Image)).toMatch(/cdk-hnb659fds-container-assets-.*:[0-9a-f]{64}/);
    // and the staged asset is the image directory, built for linux/amd64
    const assembly = (stack.node.root as App).synth();
    const manifest = JSON.parse(
      readFileSync(path.join(assembly.directory, `${stack.artifactId}.assets.json`), "utf8"),
    ) as {
      dockerImages: Record<string, { source: { directory: string; platform?: string } }>;
    };
    const images = Object.values(manifest.dockerImages);
    expect(images).toHaveLength(1);
    expect(images[0].source.platform).toBe("linux/amd64");
    expect(
      readFileSync(path.join(assembly.directory, images[0].source.directory, "Dockerfile"), "utf8"),
    ).toBe(readFileSync(path.join(__dirname, "..", "..", "image", "Dockerfile"), "utf8"));
  });
});
