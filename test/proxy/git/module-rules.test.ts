import { execFileSync } from "node:child_process";
import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { legacyGoMod, modulePath, retractions } from "../../../lib/proxy/module/gomod";
import { checkModuleFiles, type ModuleFile, strToFold } from "../../../lib/proxy/module/zip";
import { buildGoHelper } from "../../support/gohelper";
import { describeWithTools } from "../../support/tools";

/**
 * The generic module rules the git source relies on, each compared with golang.org/x/mod's own
 * answer for the same input (test/support/gohelper/githash): which files a module zip keeps,
 * omits or refuses (zip.CheckFiles), the module path a go.mod declares (modfile.ModulePath),
 * and its retractions (modfile.ParseLax).
 */

interface Reference {
  valid?: string[];
  omitted?: { path: string; err: string }[];
  invalid?: { path: string; err: string }[];
  path?: string;
  retract?: [string, string][];
  err?: string;
}

describeWithTools({ go: true }, "module rules agree with golang.org/x/mod", () => {
  let tmp: string;
  let githash: string;
  const reference = (...args: string[]): Reference =>
    JSON.parse(execFileSync(githash, args, { encoding: "utf8" })) as Reference;

  beforeAll(() => {
    tmp = mkdtempSync(path.join(tmpdir(), "gomirror-rules-"));
    githash = buildGoHelper("githash");
  }, 300_000);
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  /** Every non-directory entry under `dir` in lexical walk order, as a module zip would be offered it. */
  function offered(dir: string, rel = ""): ModuleFile[] {
    const out: ModuleFile[] = [];
    for (const name of readdirSync(path.join(dir, rel)).sort()) {
      const relPath = rel === "" ? name : `${rel}/${name}`;
      const abs = path.join(dir, relPath);
      const st = lstatSync(abs);
      if (st.isDirectory()) out.push(...offered(dir, relPath));
      else {
        out.push({
          path: relPath,
          kind: st.isSymbolicLink() ? "symlink" : st.isFile() ? "file" : "other",
          size: st.size,
          read: async () => readFileSync(abs),
        });
      }
    }
    return out;
  }

  function tree(name: string, files: Record<string, string>, links: Record<string, string> = {}): string {
    const dir = path.join(tmp, name);
    for (const [f, content] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
      writeFileSync(path.join(dir, f), content);
    }
    for (const [f, target] of Object.entries(links)) {
      mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
      symlinkSync(target, path.join(dir, f));
    }
    return dir;
  }

  it("keeps, omits and refuses the same files as zip.CheckFiles", () => {
    const dir = tree(
      "files",
      {
        "go.mod": "module example.test/m\n",
        "a.go": "package m\n",
        LICENSE: "license\n",
        "vendor/modules.txt": "# vendored\n",
        "vendor/z.go": "package vendor\n",
        "vendor/x/y.go": "package x\n",
        "internal/vendor/k.go": "package vendor\n",
        "ab/vendor/c/d.go": "package c\n",
        "nested/go.mod": "module example.test/m/nested\n",
        "nested/n.go": "package nested\n",
        "nested/deeper/x.go": "package deeper\n",
        "upper/GO.MOD": "module example.test/m/upper\n",
        "upper/u.go": "package upper\n",
        "Go.mod": "module example.test/other\n",
        ".hg_archival.txt": "repo: x\n",
        README: "upper\n",
        readme: "lower\n",
        "Dir/a.txt": "one\n",
        "dir/b.txt": "two\n",
        'quote"d.go': "package m\n",
        "with space.go": "package m\n",
        "docs/.hidden": "hidden\n",
      },
      { "link.go": "a.go", "vendor/link": "../a.go" },
    );
    const want = reference("checkfiles", dir);
    const got = checkModuleFiles(offered(dir));
    expect(got.valid.map((f) => f.path)).toEqual(want.valid ?? []);
    expect(got.omitted.map((p) => ({ path: p.path, err: p.reason }))).toEqual(want.omitted ?? []);
    expect(got.invalid.map((p) => p.path)).toEqual((want.invalid ?? []).map((p) => p.path));
    // The messages a user sees name the colliding files exactly as x/mod does.
    for (const p of want.invalid ?? []) {
      if (/collision|lowercase/.test(p.err))
        expect(got.invalid).toContainEqual({ path: p.path, reason: p.err });
    }
    expect(got.invalid.length).toBeGreaterThanOrEqual(3);
  });

  it("folds case like x/mod, beyond ASCII", () => {
    // K (Kelvin sign), ſ (long s) and ß fold the way Go's unicode.SimpleFold orbit does.
    const dir = tree("fold", {
      "go.mod": "module example.test/f\n",
      "\u212a.txt": "kelvin\n",
      "k.txt": "k\n",
      "\u017f.txt": "long s\n",
      "s.txt": "s\n",
    });
    const want = reference("checkfiles", dir);
    const got = checkModuleFiles(offered(dir));
    expect(got.invalid.map((p) => p.path)).toEqual((want.invalid ?? []).map((p) => p.path));
    expect(strToFold("ABC/def")).toBe("abc/def");
  });

  it.each([
    ["plain", "module example.test/m\n\ngo 1.21\n"],
    ["comment and spaces", "// header\n  module   example.test/m // trailing\n"],
    ["quoted", 'module "example.test/q"\n'],
    ["raw quoted", "module `example.test/raw`\n"],
    ["bad quote", 'module "example.test/bad\n'],
    ["missing", "go 1.21\n"],
    ["modulex is not module", "modulex example.test/no\nmodule example.test/yes\n"],
    ["crlf", "module example.test/crlf\r\n"],
  ])("reads the module path of a go.mod (%s) as modfile.ModulePath does", (name, text) => {
    const file = path.join(tmp, `gomod-${name.replace(/\W/g, "_")}`);
    writeFileSync(file, text);
    expect(modulePath(Buffer.from(text))).toBe(reference("modpath", file).path);
  });

  it.each([
    ["single", "module m\n\nretract v1.0.0\n"],
    ["interval", "module m\nretract [v1.0.0, v1.2.0] // oops\n"],
    ["block", "module m\nretract (\n\tv1.0.1 // bad\n\t[v1.1.0, v1.1.5]\n)\n"],
    ["quoted", 'module m\nretract "v1.3.0"\n'],
    ["none", "module m\n"],
  ])("reads retractions (%s) as modfile.ParseLax does", (name, text) => {
    const file = path.join(tmp, `retract-${name}`);
    writeFileSync(file, text);
    const want = reference("retract", file);
    expect(want.err).toBeUndefined();
    expect(retractions(text).map((r) => [r.low, r.high])).toEqual(want.retract ?? []);
  });

  it("synthesises the go.mod of a module without one", () => {
    expect(legacyGoMod("example.test/legacy").toString()).toBe("module example.test/legacy\n");
  });
});
