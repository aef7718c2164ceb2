import { invalidMessage } from "../../support/thrown";
import {
  checkCanonicalVersion,
  checkQuery,
  isExactVersion,
  MAX_QUERY_BYTES,
} from "../../../lib/proxy/module/version";

describe("checkCanonicalVersion (what .mod and .zip requests need)", () => {
  it.each([
    ["example.com/m", "v1.2.3"],
    ["example.com/m", "v0.0.0-20240103100000-db61b2a92517"],
    ["example.com/m", "v1.2.3-pre"],
    ["example.com/m", "v2.0.0+incompatible"],
    ["example.com/m/v2", "v2.1.0"],
    ["gopkg.in/yaml.v2", "v2.4.0"],
    ["gopkg.in/check.v1", "v0.0.0-20161208181325-20d25e280405"],
  ])("accepts %s@%s", (path, version) => {
    expect(() => checkCanonicalVersion(path, version)).not.toThrow();
  });

  it.each([
    ["example.com/m", "master", "example.com/m@master: invalid version: not a semantic version"],
    ["example.com/m", "v1.2", "example.com/m@v1.2: invalid version: not in canonical form (want v1.2.0)"],
    [
      "example.com/m",
      "v1.2.3+meta",
      "example.com/m@v1.2.3+meta: invalid version: not in canonical form (want v1.2.3)",
    ],
    ["example.com/m", "v2.0.0", "example.com/m@v2.0.0: invalid version: should be v0 or v1, not v2"],
    ["example.com/m/v2", "v1.0.0", "example.com/m/v2@v1.0.0: invalid version: should be v2, not v1"],
    ["gopkg.in/yaml.v2", "v3.0.0", "gopkg.in/yaml.v2@v3.0.0: invalid version: should be v2, not v3"],
    ["example.com/m", "v1.0.0+incompatible", "major version v1 is compatible"],
    ["example.com/m/v2", "v2.0.0+incompatible", "module path includes a major version suffix"],
    ["Example.com/m", "v1.0.0", "malformed module path"],
  ])("rejects %s@%s", (path, version, expected) => {
    expect(invalidMessage(() => checkCanonicalVersion(path, version))).toContain(expected);
  });
});

describe("isExactVersion (exact version or query, for .info)", () => {
  it.each(["v1.2.3", "v1.2.3-pre", "v2.0.0+incompatible", "v0.0.0-20240103100000-db61b2a92517"])(
    "takes %s as an exact version of example.com/m",
    (v) => expect(isExactVersion("example.com/m", v)).toBe(true),
  );

  it.each(["v1", "v1.2", "v1.2.3+meta", "master", "db61b2a9", "latest", "", "v3.0.0"])(
    "takes %j as a query of example.com/m",
    (v) => expect(isExactVersion("example.com/m", v)).toBe(false),
  );

  it("takes a version of another major version than the path's as a query", () => {
    expect(isExactVersion("example.com/m/v2", "v2.1.0")).toBe(true);
    expect(isExactVersion("example.com/m/v2", "v1.0.0")).toBe(false);
  });
});

describe("checkQuery", () => {
  it.each(["master", "main", "release-1.2", "v1.2", "db61b2a9", "v1.2.3-rc.1", "feature_x"])(
    "lets %s through",
    (q) => {
      expect(() => checkQuery(q)).not.toThrow();
    },
  );

  it.each([
    ["", "empty"],
    ["-delete", "starts with '-'"],
    ["--upload-pack=evil", "starts with '-'"],
    ["a\u0000b", "control character"],
    ["a\nb", "control character"],
    ["a\u0085b", "control character"],
    ["..", "contains '..'"],
    ["a..b", "contains '..'"],
    ["a\\b", "backslash"],
    ["x".repeat(MAX_QUERY_BYTES + 1), `257 bytes long, over the limit of ${MAX_QUERY_BYTES}`],
    ["feature/x", "not a valid version element (invalid char '/')"],
    ["a:b", "not a valid version element"],
    ["con", "not a valid version element"],
    ["a!b", "contains '!'"],
  ])("rejects %j (%s)", (q, why) => {
    const msg = invalidMessage(() => checkQuery(q));
    expect(msg).toContain("invalid version query");
    expect(msg).toContain(why);
  });
});
