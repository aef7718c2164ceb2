import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { basicAuth, credentialsFromEnv, parseNetrc, redactURL } from "../../../lib/proxy/git/credentials";
import { parseRewriteRules, rewriteURL } from "../../../lib/proxy/git/rewrite";
import { checkRevision, refNameProblem } from "../../../lib/proxy/git/validate";

/** GOMIRROR_GIT_REWRITE, netrc credentials and revision checks. */

describe("GOMIRROR_GIT_REWRITE", () => {
  it("parses comma-separated from=to pairs", () => {
    expect(
      parseRewriteRules(" https://a.test/=http://10.0.0.1:8080/ , https://b.test/x/=https://mirror.test/y/ "),
    ).toEqual([
      { from: "https://a.test/", to: "http://10.0.0.1:8080/" },
      { from: "https://b.test/x/", to: "https://mirror.test/y/" },
    ]);
    expect(parseRewriteRules(undefined)).toEqual([]);
    expect(parseRewriteRules("")).toEqual([]);
  });

  it("names the bad entry", () => {
    expect(() => parseRewriteRules("https://a.test/")).toThrow(
      /"https:\/\/a\.test\/" is not of the form from=to/,
    );
    expect(() => parseRewriteRules("a.test=b.test")).toThrow(/is not an absolute URL/);
  });

  it("applies the longest matching from, like git's insteadOf", () => {
    const rules = parseRewriteRules(
      "https://git.test/=http://lb.test/,https://git.test/team/=http://team.test/",
    );
    expect(rewriteURL("https://git.test/team/app", rules)).toBe("http://team.test/app");
    expect(rewriteURL("https://git.test/other/app", rules)).toBe("http://lb.test/other/app");
    expect(rewriteURL("https://elsewhere.test/app", rules)).toBe("https://elsewhere.test/app");
  });
});

describe("netrc credentials", () => {
  const netrc = [
    "machine git.test login alice password one",
    "machine other.test",
    "  login bob",
    "  password two",
    "macdef init",
    "  machine macro.test login x password y",
    "",
    "machine port.test:8443 login carol password three",
    "default login anon password four",
  ].join("\n");

  it("finds the entry of a host, with or without port", () => {
    const c = parseNetrc(netrc);
    expect(c.forHost("git.test")).toEqual({ login: "alice", password: "one" });
    expect(c.forHost("git.test:443")).toEqual({ login: "alice", password: "one" });
    expect(c.forHost("OTHER.test")).toEqual({ login: "bob", password: "two" });
    expect(c.forHost("port.test:8443")).toEqual({ login: "carol", password: "three" });
  });

  it("skips macdef bodies and falls back to the default entry", () => {
    const c = parseNetrc(netrc);
    expect(c.forHost("macro.test")).toEqual({ login: "anon", password: "four" });
    expect(parseNetrc("machine a.test login x password y").forHost("b.test")).toBeUndefined();
  });

  it("prefers GOMIRROR_NETRC content over the NETRC file and explains an unreadable file", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "gomirror-netrc-"));
    try {
      const file = path.join(dir, "netrc");
      writeFileSync(file, "machine f.test login file password fromfile\n");
      expect(credentialsFromEnv({ NETRC: file }).forHost("f.test")?.password).toBe("fromfile");
      expect(
        credentialsFromEnv({
          NETRC: file,
          GOMIRROR_NETRC: "machine f.test login c password content",
        }).forHost("f.test")?.password,
      ).toBe("content");
      expect(() => credentialsFromEnv({ NETRC: path.join(dir, "missing") })).toThrow(
        /cannot be read \(ENOENT\)/,
      );
      expect(credentialsFromEnv({}).forHost("f.test")).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("lists hosts, never secrets", () => {
    expect(JSON.stringify(parseNetrc(netrc).hosts)).not.toMatch(/one|two|three|four/);
  });

  it("builds Basic authorization and strips user info from URLs shown to people", () => {
    expect(basicAuth({ login: "a", password: "b" })).toBe(`Basic ${Buffer.from("a:b").toString("base64")}`);
    expect(redactURL("https://user:tok@git.test/repo?private_token=x")).toBe("https://git.test/repo");
  });
});

describe("checkRevision: git's ref name rules and the go command's query rules, no more", () => {
  it.each([
    "v1.2.3",
    "main",
    "release-1.x",
    "abcdef1234567",
    "v1.0.0+incompatible",
    "v2.0.0-rc.1",
    "fix@2024",
    "feat(x)",
    "x{y}",
    `v1.0.0-${"a".repeat(213)}`,
  ])("accepts %s", (rev) => {
    expect(() => checkRevision(rev)).not.toThrow();
  });

  it.each([
    ["-u", /starts with '-'/],
    ["--upload-pack=x", /starts with '-'/],
    ["a/../b", /'\.\.'/],
    ["v1\u0000", /control character/],
    ["x".repeat(257), /over the limit/],
    ["HEAD@{0}", /.+/],
    ["feature.lock", /ending in '\.lock'/],
    ["", /empty/],
    ["a b", /" "/],
    ["x~1", /"~"/],
    ["a^b", /"\^"/],
    ["a[b", /"\["/],
    ["a:b", /invalid char ':'/],
    ["a?", /invalid char '\?'/],
    ["@", /'@' alone/],
    ["v1.", /trailing dot/],
  ])("refuses %j", (rev, why) => {
    expect(() => checkRevision(rev)).toThrow(why);
  });

  it.each([
    ["a:b", /":"/],
    ["a?", /"\?"/],
    ["a*", /"\*"/],
    ["a\\b", /"\\\\"/],
    ["v1/.x", /starting with '\.'/],
    ["a//b", /empty path element/],
    ["x/", /empty path element/],
    ["a..b", /'\.\.'/],
    ["v1.", /ends with '\.'/],
  ])("knows git refuses the ref name %j", (name, why) => {
    expect(refNameProblem(name)).toMatch(why);
  });
});
