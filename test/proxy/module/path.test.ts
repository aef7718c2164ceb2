import { invalidMessage } from "../../support/thrown";
import {
  checkFilePath,
  checkImportPath,
  checkPath,
  checkPathLength,
  checkPathMajor,
  isValidModulePath,
  MAX_MODULE_PATH_BYTES,
  matchPathMajor,
  splitPathVersion,
} from "../../../lib/proxy/module/path";

describe("checkPath (module paths)", () => {
  it.each([
    "example.com",
    "example.com/x/y",
    "github.com/Azure/azure-sdk-for-go",
    "example.com/x/v2",
    "gopkg.in/yaml.v2",
    "gopkg.in/user/yaml.v3-unstable",
    "x.y/a~b/c_d/e-f",
  ])("accepts %s", (path) => {
    expect(() => checkPath(path)).not.toThrow();
    expect(isValidModulePath(path)).toBe(true);
  });

  it.each([
    ["", "empty string"],
    ["/example.com", "empty path element"], // x/mod's own "leading slash" check is never reached
    ["-example.com/x", "leading dash"],
    ["example.com//x", "double slash"],
    ["example.com/", "trailing slash"],
    ["example/x", "missing dot in first path element"],
    ["Example.com/x", "invalid char 'E' in first path element"],
    ["exa_mple.com", "invalid char '_' in first path element"],
    ["example.com/.x", "leading dot in path element"],
    ["example.com/x.", "trailing dot in path element"],
    ["example.com/..", 'invalid path element ".."'],
    ["example.com/a b", "invalid char ' '"],
    ["example.com/a+b", "invalid char '+'"],
    ["example.com/é", "invalid char 'é'"],
    ["example.com/con", '"con" disallowed as path element component on Windows'],
    ["example.com/Aux.go", '"Aux" disallowed as path element component on Windows'],
    ["example.com/prog~1", "trailing tilde and digits in path element"],
    ["example.com/x/v1", "invalid version"],
    ["example.com/x/v0", "invalid version"],
    ["example.com/x/v02", "invalid version"],
    ["example.com/x/v2.1", "invalid version"],
    ["gopkg.in/yaml", "invalid version"],
    ["gopkg.in/yaml.v01", "invalid version"],
  ])("given %j, rejects it: %s", (path, problem) => {
    // when / then: the message is the go command's, quoting the path Go-style
    expect(invalidMessage(() => checkPath(path))).toBe(
      `malformed module path ${JSON.stringify(path)}: ${problem}`,
    );
  });

  it("quotes the path as Go's %q does, escaping what is not printable", () => {
    expect(invalidMessage(() => checkPath("example.com/a\tb"))).toBe(
      "malformed module path \"example.com/a\\tb\": invalid char '\\t'",
    );
    expect(invalidMessage(() => checkPath("example.com/\u00a0"))).toBe(
      "malformed module path \"example.com/\\u00a0\": invalid char '\\u00a0'",
    );
  });

  it("rejects a string that has no UTF-8 form (an unpaired surrogate) as invalid UTF-8", () => {
    expect(invalidMessage(() => checkPath("example.com/\ud800"))).toMatch(/: invalid UTF-8$/);
  });
});

describe("checkImportPath and checkFilePath", () => {
  it("allows '+' in import paths but not a dot-less first element rule", () => {
    // given paths that only a module path would refuse
    expect(() => checkImportPath("fmt")).not.toThrow();
    expect(() => checkImportPath("example.com/c++")).not.toThrow();
    expect(() => checkImportPath("Example.com/.x")).not.toThrow();
    // then the shared rules still apply
    expect(invalidMessage(() => checkImportPath("a/b~1"))).toBe(
      'malformed import path "a/b~1": trailing tilde and digits in path element',
    );
  });

  it("allows spaces, unicode letters and more punctuation in file paths", () => {
    expect(() => checkFilePath("dir/my file (1).txt")).not.toThrow();
    expect(() => checkFilePath("naïve/中文.go")).not.toThrow();
    expect(() => checkFilePath("-leading/dash.go")).not.toThrow();
    expect(() => checkFilePath("prog~1/x.go")).not.toThrow(); // short names only matter for imports
    expect(invalidMessage(() => checkFilePath("a/b:c"))).toBe(
      "malformed file path \"a/b:c\": invalid char ':'",
    );
    expect(invalidMessage(() => checkFilePath("a/NUL.txt"))).toBe(
      'malformed file path "a/NUL.txt": "NUL" disallowed as path element component on Windows',
    );
  });
});

describe("checkPathLength", () => {
  it("accepts a path at the limit and rejects one byte more, saying how long it was", () => {
    // given
    const atLimit = "example.com/" + "a".repeat(MAX_MODULE_PATH_BYTES - "example.com/".length);
    // then
    expect(() => checkPathLength(atLimit)).not.toThrow();
    expect(invalidMessage(() => checkPathLength(atLimit + "b"))).toMatch(
      /1025 bytes long, over the limit of 1024/,
    );
  });

  it("counts UTF-8 bytes, not characters", () => {
    expect(() => checkPathLength("é".repeat(600))).toThrow(/1200 bytes/);
  });
});

describe("splitPathVersion", () => {
  it.each([
    ["example.com/x", "example.com/x", ""],
    ["example.com/x/v2", "example.com/x", "/v2"],
    ["example.com/x/v10", "example.com/x", "/v10"],
    ["example.com/v2", "example.com", "/v2"],
    ["example.com/x/v2x", "example.com/x/v2x", ""],
    ["gopkg.in/yaml.v2", "gopkg.in/yaml", ".v2"],
    ["gopkg.in/yaml.v0", "gopkg.in/yaml", ".v0"],
    ["gopkg.in/yaml.v3-unstable", "gopkg.in/yaml", ".v3-unstable"],
  ])("splits %s into %j and %j", (path, prefix, pathMajor) => {
    expect(splitPathVersion(path)).toEqual({ prefix, pathMajor });
  });

  it.each([
    "example.com/x/v1",
    "example.com/x/v0",
    "example.com/x/v01",
    "example.com/x/v2.0",
    "gopkg.in/yaml",
    "gopkg.in/yaml.v02",
  ])("refuses %s", (path) => {
    expect(splitPathVersion(path)).toBeUndefined();
  });
});

describe("checkPathMajor / matchPathMajor", () => {
  it("lets an unsuffixed path take v0, v1 and +incompatible versions only", () => {
    expect(matchPathMajor("v0.1.0", "")).toBe(true);
    expect(matchPathMajor("v1.9.0", "")).toBe(true);
    expect(matchPathMajor("v3.0.0+incompatible", "")).toBe(true);
    expect(invalidMessage(() => checkPathMajor("v2.0.0", ""))).toBe(
      'version "v2.0.0" invalid: should be v0 or v1, not v2',
    );
  });

  it("demands the suffix's major version for /vN and gopkg.in .vN paths", () => {
    expect(matchPathMajor("v2.3.4", "/v2")).toBe(true);
    expect(matchPathMajor("v3.0.0", "/v2")).toBe(false);
    expect(matchPathMajor("v1.0.0", ".v1")).toBe(true);
    expect(matchPathMajor("v2.0.0", ".v2-unstable")).toBe(true);
    expect(invalidMessage(() => checkPathMajor("v1.0.0", ".v2"))).toBe(
      'version "v1.0.0" invalid: should be v2, not v1',
    );
  });

  it("keeps accepting the old v0.0.0 pseudo-versions of gopkg.in .v1 paths", () => {
    expect(matchPathMajor("v0.0.0-20161208181325-20d25e280405", ".v1")).toBe(true);
    expect(matchPathMajor("v0.1.0", ".v1")).toBe(false);
  });
});
