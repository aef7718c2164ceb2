import { loadConfig } from "../../../lib/proxy/config";
import { toEnvironment } from "../../../lib/proxy/settings/environment";
import { ConfigError } from "../../../lib/proxy/settings/kinds";

const managed = { GOMIRROR_LISTEN: "0.0.0.0:8080", GOMIRROR_STORAGE: "/var/cache/gomirror" };
const env = (settings: Parameters<typeof toEnvironment>[0], propPath = "") =>
  toEnvironment(settings, { managed, construct: "TestMirror", propPath });

describe("toEnvironment", () => {
  it("writes managed variables first, then every prop that is set, under the schema's names", () => {
    const result = env({
      upstreams: ["https://a.example", "https://b.example|direct"],
      privatePatterns: ["git.example.com/*"],
      cacheTtl: "2m",
      upstreamTimeout: { toSeconds: () => 45 },
      gitRewrites: { "https://github.com/": "https://git.internal/" },
      zipRedirect: false,
      environment: { HTTPS_PROXY: "http://proxy.internal:3128" },
    });
    expect(Object.entries(result)).toEqual([
      ["GOMIRROR_LISTEN", "0.0.0.0:8080"],
      ["GOMIRROR_STORAGE", "/var/cache/gomirror"],
      ["GOPROXY", "https://a.example,https://b.example|direct"],
      ["GOPRIVATE", "git.example.com/*"],
      ["GOMIRROR_CACHE_TTL", "120"],
      ["GOMIRROR_UPSTREAM_TIMEOUT", "45"],
      ["GOMIRROR_GIT_REWRITE", "https://github.com/=https://git.internal/"],
      ["GOMIRROR_ZIP_REDIRECT", "false"],
      ["HTTPS_PROXY", "http://proxy.internal:3128"],
    ]);
    // and the proxy reads it back as the props meant
    const config = loadConfig({ env: result, argv: [] });
    expect(config.cacheTtlSeconds).toBe(120);
    expect(config.noProxy).toBe("git.example.com/*");
  });

  it("joins upstreams with | when upstreamFallback is any-error", () => {
    expect(env({ upstreams: ["https://a.example", "direct"], upstreamFallback: "any-error" }).GOPROXY).toBe(
      "https://a.example|direct",
    );
  });

  it.each([
    [
      { environment: { GOPROXY: "off" }, upstreams: ["direct"] },
      /GOPROXY is set twice; remove it from proxy.environment and keep proxy.upstreams/,
    ],
    [
      { environment: { GOMIRROR_LISTEN: ":1" } },
      /proxy.environment.GOMIRROR_LISTEN is set by TestMirror itself, from the image's port/,
    ],
    [
      { environment: { NETRC: "/x" } },
      /proxy.environment.NETRC is set by TestMirror itself, from gitCredentials/,
    ],
    [{ upstreamFallback: "any-error" as const }, /proxy.upstreamFallback needs proxy.upstreams/],
    [
      { logLevel: "loud" as "info" },
      /the proxy would refuse its settings: GOMIRROR_LOG_LEVEL="loud": want one of .* \(from proxy.logLevel\)/,
    ],
  ])("refuses %j with a message naming the prop", (settings, message) => {
    expect(() => env(settings, "proxy.")).toThrow(ConfigError);
    expect(() => env(settings, "proxy.")).toThrow(message);
  });

  it("checks deploy-time values through stand-ins of the same shape, or not at all", () => {
    const token = "${Token[Bucket]}";
    const options = {
      managed: { GOMIRROR_STORAGE: `s3://${token}/gomirror`, GOMIRROR_S3_REGION: token },
      construct: "TestMirror",
      isUnresolved: (v: string) => v.includes("${Token"),
      standIns: { GOMIRROR_STORAGE: "s3://stand-in/gomirror" },
    };
    expect(toEnvironment({ zipRedirect: true }, options).GOMIRROR_STORAGE).toBe(`s3://${token}/gomirror`);
    // without the stand-in the disk default applies, which redirect mode refuses
    expect(() => toEnvironment({ zipRedirect: true }, { ...options, standIns: {} })).toThrow(
      /GOMIRROR_ZIP_REDIRECT=true needs S3 storage/,
    );
  });
});
