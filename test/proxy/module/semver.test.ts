import {
  build,
  canonical,
  canonicalVersion,
  compare,
  compareModuleVersions,
  isCanonicalVersion,
  isValid,
  major,
  majorMinor,
  max,
  prerelease,
  sortModuleVersions,
  sortVersions,
} from "../../../lib/proxy/module/semver";

describe("semver parsing", () => {
  it.each([
    "v1",
    "v1.2",
    "v1.2.3",
    "v1.2.3-pre",
    "v1.2.3-pre.1+build.5",
    "v0.0.0-20191109021931-daa7c04131f5",
  ])("accepts %s", (v) => expect(isValid(v)).toBe(true));

  it.each([
    "",
    "1.2.3",
    "V1.2.3",
    "v01.2.3",
    "v1.02",
    "v1.2.3.4",
    "v1.2-pre",
    "v1.2.3-01",
    "v1.2.3-",
    "v1.2.3+",
    "v1.2.3-a..b",
    "v1.2.3 ",
  ])("rejects %j", (v) => {
    expect(isValid(v)).toBe(false);
    expect(canonical(v)).toBe("");
    expect(major(v)).toBe("");
  });

  it("fills in shorthands and drops build metadata, +incompatible included", () => {
    expect(canonical("v1")).toBe("v1.0.0");
    expect(canonical("v1.2")).toBe("v1.2.0");
    expect(canonical("v1.2.3-pre+meta")).toBe("v1.2.3-pre");
    expect(canonical("v2.0.0+incompatible")).toBe("v2.0.0");
  });

  it("keeps +incompatible in the module version's canonical form", () => {
    expect(canonicalVersion("v2.0.0+incompatible")).toBe("v2.0.0+incompatible");
    expect(canonicalVersion("v2.0+incompatible")).toBe("");
    expect(canonicalVersion("v1.2.3+meta")).toBe("v1.2.3");
    expect(isCanonicalVersion("v2.0.0+incompatible")).toBe(true);
    expect(isCanonicalVersion("v1.2")).toBe(false);
    expect(isCanonicalVersion("")).toBe(false);
  });

  it("splits out major, major.minor, prerelease and build", () => {
    expect(major("v2.1.0")).toBe("v2");
    expect(majorMinor("v2.1.0")).toBe("v2.1");
    expect(majorMinor("v2")).toBe("v2.0");
    expect(prerelease("v2.1.0-pre+meta")).toBe("-pre");
    expect(build("v2.1.0-pre+meta")).toBe("+meta");
  });
});

describe("semver ordering", () => {
  it("orders as semver.org's precedence example says", () => {
    // given the precedence chain from semver.org, with Go's leading v
    const chain = [
      "v1.0.0-alpha",
      "v1.0.0-alpha.1",
      "v1.0.0-alpha.beta",
      "v1.0.0-beta",
      "v1.0.0-beta.2",
      "v1.0.0-beta.11",
      "v1.0.0-rc.1",
      "v1.0.0",
    ];
    // then each compares below the next
    for (let i = 0; i + 1 < chain.length; i++) {
      expect(compare(chain[i], chain[i + 1])).toBe(-1);
      expect(compare(chain[i + 1], chain[i])).toBe(1);
    }
  });

  it("compares numbers numerically, ignores build metadata, and puts invalid versions lowest", () => {
    expect(compare("v1.10.0", "v1.9.0")).toBe(1);
    expect(compare("v1.0.0+a", "v1.0.0+b")).toBe(0);
    expect(compare("v1", "v1.0.0")).toBe(0);
    expect(compare("bad", "v0.0.0")).toBe(-1);
    expect(compare("bad", "worse")).toBe(0);
  });

  it("max canonicalises its arguments", () => {
    expect(max("v1.2", "v1.1.9")).toBe("v1.2.0");
    expect(max("bad", "v1")).toBe("v1.0.0");
  });

  it("sorts like semver.Sort, breaking precedence ties by string order", () => {
    // given equal-precedence strings and invalid ones
    const list = ["v1.0.0+b", "v1.10.0", "zzz", "v1.0.0", "v1.0.0+a", "v1.2.0-pre", "abc"];
    // when
    const sorted = sortVersions(list);
    // then
    expect(sorted).toEqual(["abc", "zzz", "v1.0.0", "v1.0.0+a", "v1.0.0+b", "v1.2.0-pre", "v1.10.0"]);
    expect(list[0]).toBe("v1.0.0+b"); // the input is left alone
  });

  it("sorts module versions by path, then version, then go.sum's /file suffix", () => {
    const sorted = sortModuleVersions([
      { path: "b.com/y", version: "v1.0.0" },
      { path: "a.com/x", version: "v1.10.0" },
      { path: "a.com/x", version: "v1.2.0/go.mod" },
      { path: "a.com/x", version: "v1.2.0" },
    ]);
    expect(sorted.map((m) => `${m.path}@${m.version}`)).toEqual([
      "a.com/x@v1.2.0",
      "a.com/x@v1.2.0/go.mod",
      "a.com/x@v1.10.0",
      "b.com/y@v1.0.0",
    ]);
    expect(compareModuleVersions({ path: "a", version: "v1.0.0+x" }, { path: "a", version: "v1.0.0" })).toBe(
      0,
    );
  });
});
