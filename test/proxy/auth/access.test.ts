import { AccessPolicy, sumdbLookupPath } from "../../../lib/proxy/auth/access";
import { readCredentials } from "../../../lib/proxy/auth/credentials";
import { generateToken, type TokenRecord } from "../../../lib/proxy/auth/token";

const PRIVATE = "corp.example,*.internal.example";
const scoped = (scopes: string): TokenRecord => generateToken("t", scopes).record;

const targets = (path: string): string[] => [
  `/${path}/@v/list`,
  `/${path}/@latest`,
  `/${path}/@v/v1.0.0.info`,
  `/${path}/@v/main.info`,
  `/${path}/@v/v1.0.0.mod`,
  `/${path}/@v/v1.0.0.zip`,
  `/sumdb/sum.golang.org/lookup/${path}@v1.0.0`,
];

describe("AccessPolicy", () => {
  const policy = new AccessPolicy(PRIVATE, "none");
  const allowed = (target: string, token: TokenRecord | undefined, p = policy) =>
    p.decide(target, token).allowed;

  it("lets a token read private paths inside its scopes on every endpoint", () => {
    const token = scoped("corp.example/a/*");
    for (const target of targets("corp.example/a/x"))
      expect({ target, ok: allowed(target, token) }).toEqual({ target, ok: true });
    for (const target of targets("corp.example/a/x/sub/pkg"))
      expect({ target, ok: allowed(target, token) }).toEqual({ target, ok: true });
  });

  it("refuses private paths outside the scopes on every endpoint, naming the path", () => {
    const token = scoped("corp.example/a/*");
    for (const target of targets("corp.example/b/y")) {
      expect({ target, decision: policy.decide(target, token) }).toEqual({
        target,
        decision: { allowed: false, path: "corp.example/b/y" },
      });
    }
    // The scope is a prefix glob over whole path elements: corp.example/ab is not corp.example/a/*.
    expect(allowed("/corp.example/ab/@v/list", token)).toBe(false);
    expect(allowed("/corp.example/a/@v/list", token)).toBe(false);
  });

  it("lets every token read public modules, and a token without scopes read everything", () => {
    const token = scoped("corp.example/a/*");
    for (const target of targets("example.com/public")) expect(allowed(target, token)).toBe(true);
    const all = scoped("");
    for (const target of [...targets("corp.example/b/y"), ...targets("git.internal.example/z")]) {
      expect(allowed(target, all)).toBe(true);
    }
  });

  it("matches case-escaped paths as the module paths they are", () => {
    const p = new AccessPolicy("corp.example/Team", "none");
    expect(p.decide("/corp.example/!team/x/@v/list", scoped("corp.example/other")).allowed).toBe(false);
    expect(p.decide("/corp.example/!team/x/@v/list", scoped("corp.example/Team")).allowed).toBe(true);
    expect(
      p.decide("/sumdb/sum.golang.org/lookup/corp.example/!team/x@v1.0.0", scoped("corp.example/other"))
        .allowed,
    ).toBe(false);
  });

  it("gives anonymous clients nothing by default", () => {
    for (const target of [...targets("example.com/public"), "/metrics", "/sumdb/sum.golang.org/supported"]) {
      expect(allowed(target, undefined)).toBe(false);
    }
  });

  it("with anonymous=public, gives anonymous clients public modules and the checksum database, never a private path or /metrics", () => {
    const p = new AccessPolicy(PRIVATE, "public");
    for (const target of [
      ...targets("example.com/public"),
      "/sumdb/sum.golang.org/supported",
      "/sumdb/sum.golang.org/tile/8/0/000",
    ]) {
      expect({ target, ok: allowed(target, undefined, p) }).toEqual({ target, ok: true });
    }
    for (const target of [...targets("corp.example/a/x"), "/metrics"]) {
      expect({ target, ok: allowed(target, undefined, p) }).toEqual({ target, ok: false });
    }
  });

  it("lets malformed and unknown targets through to the handler's 400 and 404 once a client is known", () => {
    const token = scoped("corp.example/a/*");
    expect(allowed("/corp.example/b/y/@v/bad%zz.info", token)).toBe(true);
    expect(allowed("/not-a-protocol-path", token)).toBe(true);
    expect(allowed("/not-a-protocol-path", undefined)).toBe(false);
  });

  it("treats a checksum lookup it cannot read as private", () => {
    expect(allowed("/sumdb/sum.golang.org/lookup/%zz", scoped("corp.example/a/*"))).toBe(false);
    expect(allowed("/sumdb/sum.golang.org/lookup/%zz", scoped(""))).toBe(true);
    expect(allowed("/sumdb/sum.golang.org/lookup/%zz", undefined, new AccessPolicy(PRIVATE, "public"))).toBe(
      false,
    );
  });
});

describe("sumdbLookupPath", () => {
  it("reads the module path of a lookup, and null for the other checksum database requests", () => {
    expect(sumdbLookupPath("sum.golang.org/lookup/corp.example/!a/x@v1.0.0")).toBe("corp.example/A/x");
    expect(sumdbLookupPath("sum.golang.org/lookup/corp.example%2Fb%2Fy@v1.0.0")).toBe("corp.example/b/y");
    expect(sumdbLookupPath("sum.golang.org/latest")).toBeNull();
    expect(sumdbLookupPath("sum.golang.org/tile/8/0/000")).toBeNull();
    expect(sumdbLookupPath("sum.golang.org/lookup/%zz")).toBeUndefined();
    expect(sumdbLookupPath("sum.golang.org/lookup/bad!path@v1")).toBeUndefined();
  });
});

describe("readCredentials", () => {
  const basic = (pair: string) => `Basic ${Buffer.from(pair).toString("base64")}`;

  it("reads a Bearer token and the password of HTTP Basic, whatever the login", () => {
    expect(readCredentials("Bearer gmt_x")).toEqual({ kind: "token", token: "gmt_x" });
    expect(readCredentials("bearer  gmt_x")).toEqual({ kind: "token", token: "gmt_x" });
    expect(readCredentials(basic("anyone:gmt_x"))).toEqual({ kind: "token", token: "gmt_x" });
    expect(readCredentials(basic("ci:pass:with:colons"))).toEqual({
      kind: "token",
      token: "pass:with:colons",
    });
  });

  it("tells no credentials from unreadable ones", () => {
    expect(readCredentials(undefined)).toEqual({ kind: "none" });
    for (const bad of [
      "",
      "Bearer",
      "Token abc",
      "Basic !!!",
      basic("no-colon"),
      `Bearer ${"x".repeat(2000)}`,
      "Bearer a b",
    ]) {
      expect({ bad: bad.slice(0, 20), c: readCredentials(bad) }).toEqual({
        bad: bad.slice(0, 20),
        c: { kind: "malformed" },
      });
    }
  });
});
