import { ProxyError } from "../../../lib/proxy/errors";
import { matchPrefixPatterns, pathMatch, pathMatchResult } from "../../../lib/proxy/module/glob";

describe("pathMatch (Go's path.Match)", () => {
  it.each([
    ["abc", "abc", true],
    ["a*", "abc", true],
    ["a*", "a/c", false], // a star never crosses a slash
    ["a*/b", "abc/b", true],
    ["a?c", "abc", true],
    ["a?c", "a/c", false],
    ["a?c", "aéc", true], // ? is one character, not one byte
    ["[a-c]x", "bx", true],
    ["[^a-c]x", "bx", false],
    ["[^a-c]x", "dx", true],
    ["a\\*", "a*", true],
    ["a\\*", "ab", false],
    ["*", "", true],
    ["", "", true],
    ["", "a", false],
    ["*.example.com", "git.example.com", true],
    ["*x", "éx", true],
  ])("matches %j against %j: %s", (pattern, name, expected) => {
    expect(pathMatch(pattern, name)).toBe(expected);
  });

  it.each([
    ["[", "a"],
    ["a[", "a"],
    ["[]", "a"],
    ["[a-]", "a"],
    ["a\\", "a"],
    ["[x", "x"],
  ])("reports %j as a bad pattern (ProxyError invalid)", (pattern, name) => {
    expect(pathMatchResult(pattern, name)).toBe("bad-pattern");
    expect(() => pathMatch(pattern, name)).toThrow(ProxyError);
    expect(() => pathMatch(pattern, name)).toThrow(/syntax error in pattern/);
  });

  it("finds a syntax error after the point where matching already failed", () => {
    // given a pattern whose first chunk fails on this name, with a broken class later
    expect(pathMatchResult("x*[", "abc")).toBe("bad-pattern");
  });

  it("like Go, can succeed before reaching a malformed part it never needs", () => {
    expect(pathMatchResult("a*", "a")).toBe("match");
    expect(pathMatchResult("*a", "a")).toBe("match");
  });
});

describe("matchPrefixPatterns (GOPRIVATE matching)", () => {
  it("matches a pattern against the same number of leading path elements", () => {
    expect(matchPrefixPatterns("example.com", "example.com/a/b")).toBe(true);
    expect(matchPrefixPatterns("example.com/a", "example.com/a/b")).toBe(true);
    expect(matchPrefixPatterns("example.com/a", "example.com/ab")).toBe(false);
    expect(matchPrefixPatterns("*.corp.example", "git.corp.example/team/repo")).toBe(true);
    expect(matchPrefixPatterns("example.com/*/c", "example.com/a/c/d")).toBe(true);
  });

  it("never matches a pattern with more elements than the path", () => {
    expect(matchPrefixPatterns("example.com/a/b", "example.com/a")).toBe(false);
  });

  it("reads a comma list, skipping empty and malformed entries, ignoring one trailing slash", () => {
    expect(matchPrefixPatterns(",,[,other.org,example.com/", "example.com/x")).toBe(true);
    expect(matchPrefixPatterns("[", "[")).toBe(false);
    expect(matchPrefixPatterns("", "example.com")).toBe(false);
  });
});
