import {
  mergeItems,
  readGoSum,
  readModuleArgument,
  readModuleList,
  WarmInputError,
} from "../../../lib/proxy/warm/inputs";
import { readGoModDirectives } from "../../../lib/proxy/warm/requirements";

const files = (item: { files: ReadonlySet<string> }) => [...item.files].sort();

describe("warm inputs", () => {
  it("reads go.sum: a zip line asks for .info, .mod and .zip; a go.mod line alone for the go.mod", () => {
    const items = readGoSum(
      [
        "example.test/a v1.0.0 h1:zipA=",
        "example.test/a v1.0.0/go.mod h1:modA=",
        "example.test/b v1.1.0/go.mod h1:modB=",
        "",
      ].join("\n"),
    );
    expect(items).toEqual([
      {
        path: "example.test/a",
        version: "v1.0.0",
        zipHash: "h1:zipA=",
        modHash: "h1:modA=",
        files: expect.any(Set),
      },
      { path: "example.test/b", version: "v1.1.0", modHash: "h1:modB=", files: expect.any(Set) },
    ]);
    expect(files(items[0]!)).toEqual(["info", "mod", "zip"]);
    expect(files(items[1]!)).toEqual(["mod"]);
  });

  it.each([
    ["example.test/a v1.0.0", /go.sum:1: want "module version h1:hash"/],
    ["example.test/a v1.0 h1:x=", /go.sum:1: v1.0 is not a canonical version/],
    ["Example Test v1.0.0 h1:x=", /go.sum:1: /],
  ])("refuses the go.sum line %j, naming the line", (line, message) => {
    expect(() => readGoSum(line)).toThrow(WarmInputError);
    expect(() => readGoSum(line)).toThrow(message);
  });

  it("reads go list -m all: skips the main module and directory replacements, fetches module replacements", () => {
    const items = readModuleList(
      [
        "example.test/app",
        "example.test/a v1.0.0",
        "example.test/b v1.2.0 => example.test/fork/b v1.2.1",
        "example.test/c v1.0.0 => ../c",
      ].join("\n"),
    );
    expect(items.map((i) => `${i.path}@${i.version}`)).toEqual([
      "example.test/a@v1.0.0",
      "example.test/fork/b@v1.2.1",
    ]);
    expect(files(items[0]!)).toEqual(["info", "mod", "zip"]);
  });

  it("reads module@version arguments, queries included", () => {
    expect(readModuleArgument("example.test/a@v1.0.0")).toMatchObject({
      path: "example.test/a",
      version: "v1.0.0",
    });
    expect(readModuleArgument("example.test/a@latest")).toMatchObject({ version: "latest" });
    expect(() => readModuleArgument("example.test/a")).toThrow(/want module@version/);
    expect(() => readModuleArgument("example.test/a@")).toThrow(/want module@version/);
  });

  it("merges what several inputs say of one module version", () => {
    const merged = mergeItems([
      readGoSum("example.test/a v1.0.0/go.mod h1:modA="),
      readModuleList("example.test/a v1.0.0"),
    ]);
    expect(merged).toHaveLength(1);
    expect(files(merged[0]!)).toEqual(["info", "mod", "zip"]);
    expect(merged[0]!.modHash).toBe("h1:modA=");
  });
});

describe("go.mod directives for the module graph", () => {
  it("reads require, replace and exclude, in lines and blocks, without comments", () => {
    const directives = readGoModDirectives(`module example.test/app

go 1.21

require example.test/a v1.0.0 // indirect
require (
	example.test/b v1.2.0
	"example.test/c" v1.0.0 // a quoted path
)

exclude example.test/b v1.1.0

replace (
	example.test/c => example.test/fork/c v1.0.1
	example.test/d v1.0.0 => ../d
)
retract v0.1.0 // not a requirement
`);
    expect(directives.requires).toEqual([
      { path: "example.test/a", version: "v1.0.0" },
      { path: "example.test/b", version: "v1.2.0" },
      { path: "example.test/c", version: "v1.0.0" },
    ]);
    expect(directives.excludes).toEqual([{ path: "example.test/b", version: "v1.1.0" }]);
    expect(directives.replaces).toEqual([
      { old: "example.test/c", oldVersion: undefined, new: "example.test/fork/c", version: "v1.0.1" },
      { old: "example.test/d", oldVersion: "v1.0.0", new: "../d", version: undefined },
    ]);
  });
});
