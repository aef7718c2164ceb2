// The construct's typed proxy settings and git credentials become environment variables; these
// tests feed the pod's resolved environment to the proxy's own config loader, so "right" means
// "what the proxy will actually run with".
import { GoMirrorStorage } from "../../lib/kubernetes";
import { loadConfig } from "../../lib/proxy/config";
import { credentialsFromEnv } from "../../lib/proxy/git/credentials";
import { container, mountNamed, resolvedEnv, synth, volumeNamed } from "./synth";

const MANAGED = [
  "GOPROXY",
  "GOPRIVATE",
  "GONOPROXY",
  "GOSUMDB",
  "GONOSUMDB",
  "GOMIRROR_CACHE_TTL",
  "GOMIRROR_UPSTREAM_TIMEOUT",
  "GOMIRROR_GIT_REWRITE",
  "GOMIRROR_LOG_LEVEL",
  "NETRC",
  "GOMIRROR_NETRC",
];

describe("proxy settings", () => {
  test("left out, none is set, so the proxy runs with its own defaults", () => {
    const env = resolvedEnv(synth().tf);
    expect(MANAGED.filter((name) => name in env)).toEqual([]);
    const config = loadConfig({ env, argv: [] });
    const defaults = loadConfig({ env: {}, argv: [] });
    expect(config.proxyList).toEqual(defaults.proxyList);
    expect(config.sumdb).toEqual(defaults.sumdb);
    expect(config.listen).toEqual({ host: "0.0.0.0", port: 8080 });
  });

  test("every typed setting reaches the proxy", () => {
    const { tf } = synth({
      proxy: {
        upstreams: ["https://athens.internal", "https://proxy.golang.org", "direct"],
        upstreamFallback: "any-error",
        privatePatterns: ["git.example.com/*", "*.corp.example.com"],
        noProxy: ["git.example.com/*"],
        sumdb: "sum.golang.org",
        noSumdb: ["git.example.com/*", "vendor.example.com/*"],
        cacheTtl: 300,
        upstreamTimeout: "45s",
        gitRewrites: { "https://github.com/acme/": "https://git.internal/mirror/acme/" },
        logLevel: "debug",
      },
    });
    const env = resolvedEnv(tf);
    expect(env.GOPROXY).toBe("https://athens.internal|https://proxy.golang.org|direct");
    const config = loadConfig({ env, argv: [] });
    expect(config.proxyList).toEqual([
      { kind: "url", url: "https://athens.internal", fallBackOnError: true },
      { kind: "url", url: "https://proxy.golang.org", fallBackOnError: true },
      { kind: "direct", fallBackOnError: false },
    ]);
    expect(config.private).toBe("git.example.com/*,*.corp.example.com");
    expect(config.noProxy).toBe("git.example.com/*");
    expect(config.sumdb).toBe("sum.golang.org");
    expect(config.noSumdb).toBe("git.example.com/*,vendor.example.com/*");
    expect(config.cacheTtlSeconds).toBe(300);
    expect(config.upstreamTimeoutSeconds).toBe(45);
    expect(config.gitRewrite).toEqual([
      { from: "https://github.com/acme/", to: "https://git.internal/mirror/acme/" },
    ]);
    expect(config.logLevel).toBe("debug");
  });

  test("the default fallback is the go command's ',' (only after 404/410)", () => {
    const env = resolvedEnv(synth({ proxy: { upstreams: ["https://a.example", "https://b.example"] } }).tf);
    expect(env.GOPROXY).toBe("https://a.example,https://b.example");
    expect(loadConfig({ env, argv: [] }).proxyList.map((e) => e.kind === "url" && e.fallBackOnError)).toEqual(
      [false, false],
    );
  });

  test("GOPRIVATE alone also governs GONOPROXY and GONOSUMDB, as in the go command", () => {
    const env = resolvedEnv(synth({ proxy: { privatePatterns: ["git.example.com/*"] } }).tf);
    expect(env).not.toHaveProperty("GONOPROXY");
    const config = loadConfig({ env, argv: [] });
    expect([config.noProxy, config.noSumdb]).toEqual(["git.example.com/*", "git.example.com/*"]);
  });

  test("environment adds variables, but may not set one the construct or a prop sets", () => {
    const env = resolvedEnv(synth({ proxy: { environment: { GOMIRROR_SHUTDOWN_GRACE: "20" } } }).tf);
    expect(loadConfig({ env, argv: [] }).shutdownGraceSeconds).toBe(20);
    expect(() => synth({ proxy: { upstreams: ["direct"], environment: { GOPROXY: "off" } } })).toThrow(
      /environment variable GOPROXY is set twice; remove it from proxy.environment and keep proxy.upstreams/,
    );
    expect(() =>
      synth({
        storage: GoMirrorStorage.s3({ bucket: "mods" }),
        proxy: { environment: { GOMIRROR_STORAGE: "/x" } },
      }),
    ).toThrow(
      /proxy.environment.GOMIRROR_STORAGE is set by GoMirrorKubernetes itself, from the storage props/,
    );
    expect(() => synth({ proxy: { environment: { GOMIRROR_SHUTDOWN_DELAY: "0" } } })).toThrow(
      /proxy.environment.GOMIRROR_SHUTDOWN_DELAY is set by GoMirrorKubernetes itself; remove it/,
    );
  });

  test.each([
    [{ upstreams: [] }, /proxy.upstreams is empty/],
    [
      { upstreams: ["direct", "https://proxy.golang.org"] },
      /proxy.upstreams\[0\] is "direct", which ends the list/,
    ],
    [
      { upstreams: ["https://a.example,https://b.example"] },
      /proxy.upstreams\[0\] ".*" must be a single URL/,
    ],
    [
      { upstreams: ["ftp://mirror.example"] },
      /GOPROXY="ftp:\/\/mirror.example": invalid proxy URL scheme.* \(from proxy.upstreams\)/,
    ],
    [
      { upstreams: ["https://user:pw@athens.example"] },
      /GOPROXY=".*\[redacted\].*carries credentials; gomirror reaches upstream proxies without credentials/,
    ],
    [{ upstreamFallback: "any-error" as const }, /proxy.upstreamFallback needs proxy.upstreams/],
    [
      { privatePatterns: ["a.example/*,b.example/*"] },
      /proxy.privatePatterns\[0\] ".*" is not a module path pattern/,
    ],
    [{ noSumdb: [""] }, /proxy.noSumdb\[0\] "" is not a module path pattern/],
    [{ sumdb: "" }, /proxy.sumdb "" is empty/],
    [
      { cacheTtl: -1 },
      /GOMIRROR_CACHE_TTL="-1": want a number of seconds from 0 to 2592000 \(from proxy.cacheTtl\)/,
    ],
    [{ cacheTtl: "soon" }, /proxy.cacheTtl "soon" is not a duration/],
    [{ upstreamTimeout: 0 }, /GOMIRROR_UPSTREAM_TIMEOUT="0": want at least 1 second/],
    [
      { gitRewrites: { "https://github.com/": "git.internal" } },
      /GOMIRROR_GIT_REWRITE=.*"git.internal" is not an absolute URL \(from proxy.gitRewrites\)/,
    ],
    [{ gitRewrites: { "a=b": "https://x.example/" } }, /proxy.gitRewrites key "a=b" must be a URL prefix/],
    [{ logLevel: "verbose" as unknown as "info" }, /GOMIRROR_LOG_LEVEL="verbose": want one of/],
    [
      { environment: { "BAD-NAME": "1" } },
      /proxy.environment key "BAD-NAME" is not an environment variable name/,
    ],
    // Checked by the proxy's own startup code: what it would refuse fails at synth.
    [{ sumdb: "sum.example+bad" }, /the proxy would refuse its settings: GOSUMDB="sum.example\+bad"/],
    [{ environment: { GOMIRROR_WORKERS: "0" } }, /the proxy would refuse its settings: GOMIRROR_WORKERS="0"/],
  ])("refuses %j", (proxy, message) => {
    expect(() => synth({ proxy })).toThrow(message);
  });
});

describe("git credentials from an existing Secret", () => {
  test("a netrc key is mounted read-only as a file and NETRC points at it", () => {
    const { tf } = synth({ gitCredentials: { secretName: "git-creds", netrcKey: ".netrc" } });
    expect(volumeNamed(tf, "git-netrc")).toEqual({
      name: "git-netrc",
      secret: { secret_name: "git-creds", items: [{ key: ".netrc", path: "netrc", mode: "0440" }] },
    });
    expect(mountNamed(tf, "git-netrc")).toEqual({
      name: "git-netrc",
      mount_path: "/etc/gomirror/git",
      read_only: true,
    });
    const config = loadConfig({ env: resolvedEnv(tf), argv: [] });
    expect(config.netrcPath).toBe("/etc/gomirror/git/netrc");
    expect(config.netrc).toBeUndefined();
  });

  test("a token becomes one netrc entry per host, with the token expanded from the Secret by the kubelet", () => {
    const { json, tf } = synth({
      gitCredentials: {
        secretName: "git-creds",
        tokenKey: "token",
        tokenHosts: ["github.com", "gitlab.example.com"],
      },
    });
    expect(container(tf).env).toContainEqual({
      name: "GOMIRROR_GIT_TOKEN",
      value_from: { secret_key_ref: { name: "git-creds", key: "token" } },
    });
    const env = resolvedEnv(tf, { "git-creds": { token: "glpat-EXAMPLE" } });
    expect(loadConfig({ env, argv: [] }).netrc).toBeDefined();
    // Read back with the proxy's own netrc reader: one entry per host, token from the Secret.
    const credentials = credentialsFromEnv(env);
    expect(credentials.hosts).toEqual(["github.com", "gitlab.example.com"]);
    expect(credentials.forHost("gitlab.example.com")).toEqual({
      login: "x-access-token",
      password: "glpat-EXAMPLE",
    });
    expect(credentials.forHost("github.com")).toEqual({ login: "x-access-token", password: "glpat-EXAMPLE" });
    expect(credentials.forHost("example.org")).toBeUndefined();
    // The token itself never enters the Terraform configuration (or its state).
    expect(json).not.toContain("glpat-EXAMPLE");
  });

  test("the token's login name can be chosen", () => {
    const { tf } = synth({
      gitCredentials: {
        secretName: "git",
        tokenKey: "t",
        tokenHosts: ["bitbucket.org"],
        tokenUsername: "x-token-auth",
      },
    });
    const credentials = credentialsFromEnv(resolvedEnv(tf, { git: { t: "TOKEN" } }));
    expect(credentials.forHost("bitbucket.org")).toEqual({ login: "x-token-auth", password: "TOKEN" });
  });

  test.each([
    [{ secretName: "git" }, /names Secret "git" but no key in it; set netrcKey or tokenKey/],
    [
      { secretName: "git", netrcKey: "n", tokenKey: "t", tokenHosts: ["github.com"] },
      /both netrcKey and tokenKey; give one/,
    ],
    [{ secretName: "git", tokenKey: "t" }, /tokenKey needs tokenHosts/],
    [{ secretName: "git", netrcKey: "n", tokenHosts: ["github.com"] }, /tokenHosts is set without tokenKey/],
    [
      { secretName: "git", tokenKey: "t", tokenHosts: ["https://github.com"] },
      /tokenHosts\[0\] "https:\/\/github.com" is not a host name/,
    ],
    [
      { secretName: "Git_Creds", netrcKey: "n" },
      /gitCredentials.secretName "Git_Creds" is not a valid Kubernetes object name/,
    ],
    [{ secretName: "git", netrcKey: "a/b" }, /gitCredentials.netrcKey "a\/b" is not a valid Secret key/],
    [
      { secretName: "git", tokenKey: "t", tokenHosts: ["github.com"], tokenUsername: "two words" },
      /tokenUsername "two words" must be one word/,
    ],
  ])("refuses %j", (gitCredentials, message) => {
    expect(() => synth({ gitCredentials })).toThrow(message);
  });
});
