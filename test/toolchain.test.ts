import { execFileSync } from "node:child_process";
import { readFileSync, realpathSync } from "node:fs";
import path from "node:path";

/**
 * The tests run on the Node.js the container image ships. tools/node pins that Node's binary from
 * the npm registry for the platforms it is published for; npm links it as node_modules/.bin/node,
 * which every npm script finds first on its PATH. Elsewhere (macOS) the Node on PATH runs the
 * tests, and this file says so when its major version is not the image's.
 */

const ROOT = path.resolve(__dirname, "..");
const read = (rel: string): string => readFileSync(path.join(ROOT, rel), "utf8");

const pkg = JSON.parse(read("package.json")) as { engines: { node: string } };
const devNode = JSON.parse(read("tools/node/package.json")) as {
  optionalDependencies: Record<string, string>;
};

/** The Node major version of the Dockerfile's default base (gcr.io/distroless/nodejs<N>-...). */
function imageNodeMajor(): number {
  const m = /^ARG BASE_IMAGE=\S*nodejs(\d+)\S*$/m.exec(read("image/Dockerfile"));
  if (!m) throw new Error("image/Dockerfile: no ARG BASE_IMAGE naming a nodejs<N> image");
  return Number(m[1]);
}

const major = (version: string): number => Number(version.replace(/^v/, "").split(".")[0]);

describe("the Node.js the tests run on", () => {
  const shipped = imageNodeMajor();

  it("has the major version the image ships", () => {
    expect(major(process.version)).toBe(shipped);
  });

  it("is the pinned binary where one is published for this platform", () => {
    const binaries = Object.entries(devNode.optionalDependencies);
    expect(binaries.length).toBeGreaterThan(0);
    for (const [name, version] of binaries) {
      expect(name).toMatch(/^node-linux-(x64|arm64)$/);
      expect(version).toMatch(/^\d+\.\d+\.\d+$/); // exact: every run gets the same binary
      expect(major(version)).toBe(shipped);
    }
    const own = devNode.optionalDependencies[`node-${process.platform}-${process.arch}`];
    if (own !== undefined) {
      expect(process.version).toBe(`v${own}`);
      expect(realpathSync(process.execPath)).toBe(
        realpathSync(path.join(ROOT, "node_modules", ".bin", "node")),
      );
    }
  });

  it("is also the node that tools started by name get (shebangs of cdk, ts-node)", () => {
    const found = execFileSync("node", ["-p", "process.execPath"], { encoding: "utf8" }).trim();
    expect(realpathSync(found)).toBe(realpathSync(process.execPath));
  });

  it("is what package.json's engines and the bundle's esbuild target name", () => {
    expect(pkg.engines.node).toBe(`>=${shipped}`);
    expect(read("scripts/build-bundle.cjs")).toMatch(new RegExp(`\\btarget: "node${shipped}"`));
  });
});
