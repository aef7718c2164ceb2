import { hashGoMod } from "../../../lib/proxy/module/dirhash";
import { walkModuleGraph } from "../../../lib/proxy/warm/graph";
import { readGoSum, readModuleArgument, type ModuleFile } from "../../../lib/proxy/warm/inputs";
import type { WarmTarget } from "../../../lib/proxy/warm/target";
import { formatWarmFailure, formatWarmSummary, runWarm } from "../../../lib/proxy/warm/warm";

/** go.mod files of a small module graph, by path@version. */
const GRAPH: Record<string, string> = {
  "example.test/a@v1.0.0": "module example.test/a\n\nrequire example.test/b v1.1.0\n",
  "example.test/b@v1.1.0": "module example.test/b\n\nrequire example.test/c v1.0.0\n",
  "example.test/b@v1.2.0": "module example.test/b\n\nrequire example.test/c v1.1.0\n",
  "example.test/c@v1.0.0": "module example.test/c\n",
  "example.test/c@v1.1.0": "module example.test/c\n",
  "example.test/fork/c@v1.1.1": "module example.test/c\n",
  "example.test/d@v1.0.0": "module example.test/d\n\nrequire example.test/b v1.2.0\n",
};

/** A target holding the graph above; it records what was asked and can hold some files already. */
class FakeTarget implements WarmTarget {
  readonly name = "fake mirror";
  readonly asked: string[] = [];
  readonly stored = new Set<string>();
  zipHashes: Record<string, string> = {};
  failing = new Set<string>();

  private ask(path: string, version: string, file: string): void {
    const id = `${path}@${version} ${file}`;
    this.asked.push(id);
    if (this.failing.has(id)) throw new Error(`the mirror answered 502 for ${id}`);
  }
  has(path: string, version: string, file: ModuleFile): Promise<boolean> {
    return Promise.resolve(this.stored.has(`${path}@${version} ${file}`));
  }
  info(path: string, query: string): Promise<string> {
    this.ask(path, query, "info");
    return Promise.resolve(query === "latest" ? "v1.2.0" : query);
  }
  mod(path: string, version: string): Promise<Buffer> {
    this.ask(path, version, "mod");
    const text = GRAPH[`${path}@${version}`];
    if (text === undefined) return Promise.reject(new Error(`not found: ${path}@${version}`));
    return Promise.resolve(Buffer.from(text));
  }
  zip(path: string, version: string, hash: boolean): Promise<string | undefined> {
    this.ask(path, version, "zip");
    return Promise.resolve(hash ? (this.zipHashes[`${path}@${version}`] ?? "h1:zip=") : undefined);
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

describe("walking the module graph of a go.mod", () => {
  it("fetches every go.mod reached and picks the highest version of each path for its zip", async () => {
    const target = new FakeTarget();
    const mods: string[] = [];
    const selected = await walkModuleGraph(
      "module example.test/app\n\nrequire (\n\texample.test/a v1.0.0\n\texample.test/d v1.0.0\n)\n",
      async (path, version) => {
        mods.push(`${path}@${version}`);
        return target.mod(path, version);
      },
      2,
    );
    expect(mods.sort()).toEqual([
      "example.test/a@v1.0.0",
      "example.test/b@v1.1.0",
      "example.test/b@v1.2.0",
      "example.test/c@v1.0.0",
      "example.test/c@v1.1.0",
      "example.test/d@v1.0.0",
    ]);
    expect(selected.map((s) => `${s.path}@${s.version}`).sort()).toEqual([
      "example.test/a@v1.0.0",
      "example.test/b@v1.2.0",
      "example.test/c@v1.1.0",
      "example.test/d@v1.0.0",
    ]);
    expect([...selected[0]!.files].sort()).toEqual(["info", "zip"]);
  });

  it("applies the main module's replace and exclude throughout, and skips directory replacements", async () => {
    const mods: string[] = [];
    const target = new FakeTarget();
    const selected = await walkModuleGraph(
      [
        "module example.test/app",
        "require example.test/a v1.0.0",
        "require example.test/d v1.0.0",
        "exclude example.test/b v1.1.0",
        "replace example.test/c v1.1.0 => example.test/fork/c v1.1.1",
        "replace example.test/d => ../d",
      ].join("\n"),
      async (path, version) => {
        mods.push(`${path}@${version}`);
        return target.mod(path, version);
      },
      1,
    );
    expect(mods).toEqual(["example.test/a@v1.0.0"]);
    expect(selected.map((s) => `${s.path}@${s.version}`)).toEqual(["example.test/a@v1.0.0"]);
  });
});

describe("runWarm", () => {
  it("fetches what a go.sum names, counts what was there already, and checks go.sum's hashes", async () => {
    const target = new FakeTarget();
    const modHash = await hashGoMod(Buffer.from(GRAPH["example.test/a@v1.0.0"]!));
    target.zipHashes["example.test/a@v1.0.0"] = "h1:zipA=";
    target.stored.add("example.test/a@v1.0.0 info");
    const lines: string[] = [];
    const summary = await runWarm({
      target,
      items: readGoSum(
        [
          "example.test/a v1.0.0 h1:zipA=",
          `example.test/a v1.0.0/go.mod ${modHash}`,
          `example.test/c v1.0.0/go.mod ${await hashGoMod(Buffer.from(GRAPH["example.test/c@v1.0.0"]!))}`,
        ].join("\n"),
      ),
      progress: false,
      report: (line) => lines.push(line),
    });
    expect(summary).toEqual({ modules: 2, fetched: 3, alreadyThere: 1, failures: [] });
    expect(target.asked.sort()).toEqual([
      "example.test/a@v1.0.0 info",
      "example.test/a@v1.0.0 mod",
      "example.test/a@v1.0.0 zip",
      "example.test/c@v1.0.0 mod",
    ]);
    expect(lines.sort()).toEqual(["ok   example.test/a@v1.0.0", "ok   example.test/c@v1.0.0"]);
    expect(formatWarmSummary(summary)).toBe(
      "warmed 2 module versions: 3 files fetched, 1 already there, 0 failed",
    );
  });

  it("reports a file whose hash differs from go.sum, and a module that fails, and goes on with the rest", async () => {
    const target = new FakeTarget();
    target.zipHashes["example.test/a@v1.0.0"] = "h1:tampered=";
    target.failing.add("example.test/b@v1.1.0 mod");
    const summary = await runWarm({
      target,
      items: [
        ...readGoSum("example.test/a v1.0.0 h1:zipA="),
        readModuleArgument("example.test/b@v1.1.0"),
        readModuleArgument("example.test/c@v1.0.0"),
      ],
      progress: false,
      jobs: 1,
    });
    expect(summary.failures.map(formatWarmFailure)).toEqual([
      "FAIL example.test/a@v1.0.0 zip: zip: checksum mismatch: go.sum has h1:zipA=, fake mirror has h1:tampered=",
      "FAIL example.test/b@v1.1.0 mod: the mirror answered 502 for example.test/b@v1.1.0 mod",
    ]);
    // b stopped at its go.mod; c was still warmed.
    expect(target.asked).not.toContain("example.test/b@v1.1.0 zip");
    expect(target.asked).toContain("example.test/c@v1.0.0 zip");
  });

  it("resolves a query to its version before fetching", async () => {
    const target = new FakeTarget();
    const summary = await runWarm({
      target,
      items: [readModuleArgument("example.test/b@latest")],
      progress: false,
    });
    expect(summary.failures).toEqual([]);
    expect(target.asked).toEqual([
      "example.test/b@latest info",
      "example.test/b@v1.2.0 info",
      "example.test/b@v1.2.0 mod",
      "example.test/b@v1.2.0 zip",
    ]);
  });

  it("warms a go.mod's whole graph: every go.mod reached, and the selected zips", async () => {
    const target = new FakeTarget();
    const summary = await runWarm({
      target,
      items: [],
      goMods: ["module example.test/app\nrequire example.test/a v1.0.0\n"],
      progress: false,
    });
    expect(summary.failures).toEqual([]);
    expect(target.asked.filter((a) => a.endsWith("zip")).sort()).toEqual([
      "example.test/a@v1.0.0 zip",
      "example.test/b@v1.1.0 zip",
      "example.test/c@v1.0.0 zip",
    ]);
    expect(summary.modules).toBe(3);
  });
});
