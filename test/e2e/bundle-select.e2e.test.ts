import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { requirementGraph } from "../../lib/proxy/bundle/select";
import { writeProxyTree, type ModuleFixture } from "../support/fixtures";
import { createGoWorkspace, expectGoSuccess, type GoWorkspace } from "../support/gocmd";
import { describeWithTools } from "../support/tools";

/**
 * The zips `gomirror export app/go.mod` bundles are the versions the go command itself selects:
 * `go list -m all` over a file:// GOPROXY of a graph with every shape that moves the selection
 * (pruned and unpruned dependencies, two requirers of different versions, replace, exclude, a
 * dependency requiring the main module back).
 */

function mod(p: string, version: string, goMod: string): ModuleFixture {
  return { path: p, version, files: { "go.mod": goMod, "x.go": "package x\n" } };
}

const T = "example.test/sel";

describeWithTools({ go: true }, "the bundle's requirement graph against the go command", () => {
  let root: string;
  let ws: GoWorkspace;

  beforeAll(() => {
    root = mkdtempSync(path.join(tmpdir(), "gomirror-e2e-select-"));
    writeProxyTree(root, [
      // pruned: b's requirement on c v1.3.0 is never loaded
      mod(`${T}/a`, "v1.0.0", `module ${T}/a\n\ngo 1.21\n\nrequire ${T}/b v1.0.0\n`),
      mod(`${T}/b`, "v1.0.0", `module ${T}/b\n\ngo 1.21\n\nrequire ${T}/c v1.3.0\n`),
      mod(`${T}/c`, "v1.1.0", `module ${T}/c\n\ngo 1.21\n`),
      mod(`${T}/c`, "v1.3.0", `module ${T}/c\n\ngo 1.21\n`),
      // unpruned below d (no go directive): f v1.2.0 wins over the main module's f v1.0.0
      mod(`${T}/d`, "v1.0.0", `module ${T}/d\n\nrequire ${T}/e v1.0.0\n`),
      mod(`${T}/e`, "v1.0.0", `module ${T}/e\n\ngo 1.21\n\nrequire ${T}/f v1.2.0\n`),
      mod(`${T}/f`, "v1.0.0", `module ${T}/f\n\ngo 1.21\n`),
      mod(`${T}/f`, "v1.2.0", `module ${T}/f\n\ngo 1.21\n\nrequire ${T}/app v0.1.0\n`),
      mod(`${T}/app`, "v0.1.0", `module ${T}/app\n\ngo 1.21\n`),
      // replaced by a fork; the excluded g v1.1.0 is required by the fork
      mod(`${T}/fork/g`, "v1.0.1", `module ${T}/g\n\ngo 1.21\n\nrequire ${T}/h v1.1.0\n`),
      mod(`${T}/h`, "v1.0.0", `module ${T}/h\n\ngo 1.21\n`),
      mod(`${T}/h`, "v1.1.0", `module ${T}/h\n\ngo 1.21\n`),
    ]);
    ws = createGoWorkspace({ goproxy: `file://${root}`, env: { GOFLAGS: "-mod=mod" } });
  });

  afterAll(() => {
    ws?.cleanup();
    rmSync(root, { recursive: true, force: true });
  });

  it.each([
    ["a go 1.21 main module (pruned graph)", "1.21"],
    ["a go 1.16 main module (unpruned graph)", "1.16"],
  ])("bundles the zips of exactly what go list -m all selects, for %s", async (_name, go) => {
    const goMod = [
      `module ${T}/app`,
      `go ${go}`,
      "require (",
      `\t${T}/a v1.0.0`,
      `\t${T}/c v1.1.0`,
      `\t${T}/d v1.0.0`,
      `\t${T}/f v1.0.0`,
      `\t${T}/g v1.0.0`,
      `\t${T}/h v1.0.0`,
      ")",
      `replace ${T}/g => ${T}/fork/g v1.0.1`,
      `exclude ${T}/h v1.1.0`,
      "",
    ].join("\n");
    writeFileSync(path.join(ws.moduleDir, "go.mod"), goMod);
    rmSync(path.join(ws.moduleDir, "go.sum"), { force: true });
    const listed = await ws.run(["list", "-m", "all"]);
    expectGoSuccess(listed, "go list -m all");
    const selected = listed.stdout
      .trim()
      .split("\n")
      .slice(1)
      .map((line) => {
        const [left, right] = line.split(" => ");
        return (right ?? left).replace(" ", "@");
      })
      .sort();

    const wanted = await requirementGraph(goMod, async (p, v) =>
      readFileSync(path.join(root, p, "@v", `${v}.mod`)),
    );
    expect(
      wanted
        .filter((w) => w.zip)
        .map((w) => `${w.path}@${w.version}`)
        .sort(),
    ).toEqual(selected);
    // Every go.mod the go command read is in the bundle too.
    const goMods = new Set(wanted.map((w) => `${w.path}@${w.version}`));
    const sums = readFileSync(path.join(ws.moduleDir, "go.sum"), "utf8");
    for (const line of sums.trim().split("\n")) {
      const [p, v] = line.split(" ");
      expect(goMods).toContain(`${p}@${v.replace("/go.mod", "")}`);
    }
  });
});
