import {
  mergeWanted,
  parseGoModDirectives,
  parseGoSum,
  parseModuleArg,
  parseVersionList,
  prunesGraph,
  requirementGraph,
  SelectionError,
  type WantedVersion,
} from "../../../lib/proxy/bundle/select";

const H1 = (c: string): string => `h1:${c.repeat(43)}=`;

/** go.mod files by `path@version`: `requires` lines and the go directive (none: pre-modules). */
function graph(mods: Record<string, { go?: string; requires?: string[] }>): {
  read: (path: string, version: string) => Promise<Buffer>;
  reads: string[];
} {
  const reads: string[] = [];
  return {
    reads,
    read: async (path, version) => {
      reads.push(`${path}@${version}`);
      const m = mods[`${path}@${version}`];
      if (!m) throw new Error(`no go.mod for ${path}@${version}`);
      const req = (m.requires ?? []).map((r) => `\t${r.replace("@", " ")}\n`).join("");
      return Buffer.from(`module ${path}\n${m.go ? `\ngo ${m.go}\n` : ""}\nrequire (\n${req})\n`);
    },
  };
}

/** `path@version` of each wanted version, with `+zip` when its zip is wanted. */
const shape = (wanted: readonly WantedVersion[]): string[] =>
  wanted.map((w) => `${w.path}@${w.version}${w.zip ? " +zip" : ""}`).sort();

describe("go.sum", () => {
  it("wants the zip of a version recorded with its zip hash, and only the go.mod of one recorded with /go.mod alone", () => {
    const wanted = parseGoSum(
      [
        `example.test/a v1.0.0 ${H1("a")}`,
        `example.test/a v1.0.0/go.mod ${H1("b")}`,
        `example.test/b v0.1.0/go.mod ${H1("c")}`,
        "",
      ].join("\n"),
    );
    expect(wanted).toEqual([
      { path: "example.test/a", version: "v1.0.0", zip: true, goSum: { zip: H1("a"), mod: H1("b") } },
      { path: "example.test/b", version: "v0.1.0", zip: false, goSum: { zip: undefined, mod: H1("c") } },
    ]);
  });

  it("names the file and line of a malformed line or a non-canonical version", () => {
    expect(() => parseGoSum("example.test/a v1.0.0\n", "app/go.sum")).toThrow(
      /app\/go\.sum:1: malformed go\.sum line/,
    );
    expect(() => parseGoSum(`\nexample.test/a v1.0 ${H1("a")}\n`, "app/go.sum")).toThrow(/app\/go\.sum:2:/);
  });
});

describe("list files and module@version", () => {
  it("reads path@version and path version lines, skipping comments and blank lines", () => {
    const wanted = parseVersionList(
      "# pinned\nexample.test/a@v1.0.0\n\nexample.test/b v1.2.3 # for the build\n",
      "list",
    );
    expect(shape(wanted)).toEqual(["example.test/a@v1.0.0 +zip", "example.test/b@v1.2.3 +zip"]);
  });

  it("reads `go list -m all` output: skips the main module and directory replacements, takes replacements", () => {
    const output = [
      "example.test/app",
      "example.test/a v1.0.0",
      "example.test/b v1.1.0 => example.test/fork/b v1.1.1",
      "example.test/c v0.3.0 => ../c",
      "example.test/d v1.0.0 [v1.2.0]",
      "example.test/e v1.0.1 (retracted)",
      "",
    ].join("\n");
    expect(shape(parseVersionList(output, "modules.txt"))).toEqual([
      "example.test/a@v1.0.0 +zip",
      "example.test/d@v1.0.0 +zip",
      "example.test/e@v1.0.1 +zip",
      "example.test/fork/b@v1.1.1 +zip",
    ]);
  });

  it("names the line that is neither", () => {
    expect(() => parseVersionList("example.test/a v1.0.0 v1.1.0 extra\n", "list")).toThrow(/list:1:/);
    expect(() => parseVersionList("example.test/a@latest\n", "list")).toThrow(SelectionError);
  });

  it("takes module@version arguments with canonical versions only", () => {
    expect(parseModuleArg("example.test/a/v2@v2.0.1")).toEqual({
      path: "example.test/a/v2",
      version: "v2.0.1",
      zip: true,
    });
    expect(() => parseModuleArg("example.test/a")).toThrow(/is not module@version/);
    expect(() => parseModuleArg("example.test/a@latest")).toThrow(SelectionError);
    expect(() => parseModuleArg("example.test/a/v2@v1.0.0")).toThrow(SelectionError);
  });

  it("merges inputs: one entry per version, the zip wanted if any input wants it, go.sum hashes kept", () => {
    const merged = mergeWanted([
      parseGoSum(`example.test/a v1.0.0/go.mod ${H1("m")}\n`),
      [parseModuleArg("example.test/a@v1.0.0"), parseModuleArg("example.test/a@v0.9.0")],
    ]);
    expect(merged).toEqual([
      { path: "example.test/a", version: "v0.9.0", zip: true },
      { path: "example.test/a", version: "v1.0.0", zip: true, goSum: { zip: undefined, mod: H1("m") } },
    ]);
  });
});

describe("go.mod directives", () => {
  it("reads module, go, require, exclude and replace in lines and blocks, comments dropped", () => {
    const d = parseGoModDirectives(
      [
        "module example.test/app // the app",
        "go 1.21.0",
        "require example.test/a v1.0.0",
        "require (",
        "\texample.test/b v1.1.0 // indirect",
        ")",
        "exclude example.test/b v1.0.0",
        "replace (",
        "\texample.test/c => example.test/fork/c v0.2.0",
        "\texample.test/d v1.0.0 => ../d",
        ")",
      ].join("\n"),
    );
    expect(d.module).toBe("example.test/app");
    expect(d.go).toBe("1.21.0");
    expect(d.requires).toEqual([
      { path: "example.test/a", version: "v1.0.0" },
      { path: "example.test/b", version: "v1.1.0" },
    ]);
    expect([...d.excludes]).toEqual(["example.test/b@v1.0.0"]);
    expect(d.replaces.get("example.test/c")).toEqual({ path: "example.test/fork/c", version: "v0.2.0" });
    expect(d.replaces.get("example.test/d@v1.0.0")).toBe("local");
  });

  it("prunes the graph from go 1.17 on", () => {
    expect([undefined, "1.16", "1.11"].map(prunesGraph)).toEqual([false, false, false]);
    expect(["1.17", "1.21.0", "1.23rc1"].map(prunesGraph)).toEqual([true, true, true]);
  });
});

describe("the requirement graph of a go.mod", () => {
  it("follows every go.mod's requirements; where two paths require different versions, the higher one's zip travels", async () => {
    // app -> a v1.0.0 -> c v1.1.0; app -> b v1.0.0 -> c v1.2.0 -> d v1.0.0 (no pruning: go 1.16)
    const g = graph({
      "example.test/a@v1.0.0": { requires: ["example.test/c@v1.1.0"] },
      "example.test/b@v1.0.0": { requires: ["example.test/c@v1.2.0"] },
      "example.test/c@v1.1.0": { requires: [] },
      "example.test/c@v1.2.0": { requires: ["example.test/d@v1.0.0"] },
      "example.test/d@v1.0.0": {},
    });
    const wanted = await requirementGraph(
      "module example.test/app\n\ngo 1.16\n\nrequire (\n\texample.test/a v1.0.0\n\texample.test/b v1.0.0\n)\n",
      g.read,
    );
    expect(shape(wanted)).toEqual([
      "example.test/a@v1.0.0 +zip",
      "example.test/b@v1.0.0 +zip",
      "example.test/c@v1.1.0",
      "example.test/c@v1.2.0 +zip",
      "example.test/d@v1.0.0 +zip",
    ]);
    expect(g.reads.sort()).toEqual([...new Set(g.reads)].sort()); // each go.mod read once
  });

  it("selects from the pruned graph of a go 1.17+ main module: a version required only inside a pruned dependency gets no zip", async () => {
    // app requires a v1.0.0 and c v1.1.0; a (go 1.21) requires b v1.0.0, which requires c v1.3.0.
    // The go command never loads b's requirements (b is not one of app's), so it selects c v1.1.0.
    const g = graph({
      "example.test/a@v1.0.0": { go: "1.21", requires: ["example.test/b@v1.0.0"] },
      "example.test/b@v1.0.0": { go: "1.21", requires: ["example.test/c@v1.3.0"] },
      "example.test/c@v1.1.0": { go: "1.21" },
      "example.test/c@v1.3.0": { go: "1.21" },
    });
    const wanted = await requirementGraph(
      "module example.test/app\n\ngo 1.21\n\nrequire (\n\texample.test/a v1.0.0\n\texample.test/c v1.1.0\n)\n",
      g.read,
    );
    expect(shape(wanted)).toEqual([
      "example.test/a@v1.0.0 +zip",
      "example.test/b@v1.0.0 +zip",
      "example.test/c@v1.1.0 +zip",
      "example.test/c@v1.3.0", // its go.mod still travels: the whole graph does
    ]);
  });

  it("loads everything below a dependency whose go.mod predates pruning", async () => {
    // a has no go directive: the go command loads its requirements transitively, so c v1.3.0 wins.
    const g = graph({
      "example.test/a@v1.0.0": { requires: ["example.test/b@v1.0.0"] },
      "example.test/b@v1.0.0": { go: "1.21", requires: ["example.test/c@v1.3.0"] },
      "example.test/c@v1.1.0": { go: "1.21" },
      "example.test/c@v1.3.0": { go: "1.21" },
    });
    const wanted = await requirementGraph(
      "module example.test/app\n\ngo 1.21\n\nrequire (\n\texample.test/a v1.0.0\n\texample.test/c v1.1.0\n)\n",
      g.read,
    );
    expect(shape(wanted)).toEqual([
      "example.test/a@v1.0.0 +zip",
      "example.test/b@v1.0.0 +zip",
      "example.test/c@v1.1.0",
      "example.test/c@v1.3.0 +zip",
    ]);
  });

  it("applies the main module's replace and exclude, and never bundles the main module itself", async () => {
    const g = graph({
      "example.test/fork/a@v1.0.1": {
        go: "1.21",
        requires: ["example.test/b@v1.0.0", "example.test/app@v0.9.0"],
      },
      "example.test/b@v1.1.0": { go: "1.21" },
      "example.test/app@v0.9.0": { go: "1.21" },
      "example.test/e@v2.0.0+incompatible": {},
    });
    const wanted = await requirementGraph(
      [
        "module example.test/app",
        "go 1.21",
        "require (",
        "\texample.test/a v1.0.0",
        "\texample.test/b v1.1.0",
        "\texample.test/d v0.1.0",
        "\texample.test/e v2.0.0+incompatible",
        ")",
        "exclude example.test/b v1.0.0",
        "replace example.test/a v1.0.0 => example.test/fork/a v1.0.1",
        "replace example.test/d => ./d",
      ].join("\n"),
      g.read,
    );
    expect(shape(wanted)).toEqual([
      "example.test/app@v0.9.0", // a dependency requires an older main module: go.mod only
      "example.test/b@v1.1.0 +zip",
      "example.test/e@v2.0.0+incompatible +zip",
      "example.test/fork/a@v1.0.1 +zip",
    ]);
    expect(g.reads).not.toContain("example.test/a@v1.0.0");
    expect(g.reads).not.toContain("example.test/b@v1.0.0");
  });

  it("follows a cycle once", async () => {
    const g = graph({
      "example.test/a@v1.0.0": { requires: ["example.test/b@v1.0.0"] },
      "example.test/b@v1.0.0": { requires: ["example.test/a@v1.0.0"] },
    });
    const wanted = await requirementGraph("module example.test/app\nrequire example.test/a v1.0.0\n", g.read);
    expect(shape(wanted)).toEqual(["example.test/a@v1.0.0 +zip", "example.test/b@v1.0.0 +zip"]);
    expect(g.reads).toHaveLength(2);
  });
});
