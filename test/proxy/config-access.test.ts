import { ConfigError, loadConfig, settingsHelp } from "../../lib/proxy/config";

/** The access-control settings: tokens, anonymous access, allowlist, trusted proxies, TLS, metrics listener. */

const load = (env: Record<string, string>, argv: string[] = []) => loadConfig({ env, argv });

describe("access-control settings", () => {
  it("are off by default: no token file, no allowlist, plain HTTP, no metrics listener", () => {
    expect(load({})).toMatchObject({
      authFile: undefined,
      anonymous: "none",
      allowCidrs: [],
      trustedProxies: [],
      tlsCert: undefined,
      tlsKey: undefined,
      metricsListen: undefined,
    });
  });

  it("come from the environment and from flags, flags winning", () => {
    const config = load(
      {
        GOMIRROR_AUTH_FILE: "/etc/gomirror/tokens",
        GOMIRROR_ANONYMOUS: "public",
        GOMIRROR_ALLOW_CIDRS: "10.0.0.0/8, 2001:db8::/32",
        GOMIRROR_TRUSTED_PROXIES: "10.0.0.0/16",
        GOMIRROR_TLS_CERT: "/tls/tls.crt",
        GOMIRROR_TLS_KEY: "/tls/tls.key",
        GOMIRROR_METRICS_LISTEN: "0.0.0.0:9090",
      },
      ["--anonymous", "none", "--allow-cidrs", "192.0.2.0/24"],
    );
    expect(config).toMatchObject({
      authFile: "/etc/gomirror/tokens",
      anonymous: "none",
      allowCidrs: ["192.0.2.0/24"],
      trustedProxies: ["10.0.0.0/16"],
      tlsCert: "/tls/tls.crt",
      tlsKey: "/tls/tls.key",
      metricsListen: { host: "0.0.0.0", port: 9090 },
    });
  });

  it("refuse a bad CIDR block, naming the variable and what to write", () => {
    expect(() => load({ GOMIRROR_ALLOW_CIDRS: "10.0.0.1" })).toThrow(
      new ConfigError('GOMIRROR_ALLOW_CIDRS: "10.0.0.1" has no prefix length; write it like 10.0.0.1/32'),
    );
    expect(() => load({ GOMIRROR_TRUSTED_PROXIES: "10.1.0.0/8" })).toThrow(
      /GOMIRROR_TRUSTED_PROXIES: "10.1.0.0\/8" has bits set after the \/8 prefix; did you mean 10.0.0.0\/8\?/,
    );
  });

  it("refuse an unknown anonymous mode, and anonymous access without a token file", () => {
    expect(() => load({ GOMIRROR_AUTH_FILE: "/t", GOMIRROR_ANONYMOUS: "all" })).toThrow(
      'GOMIRROR_ANONYMOUS="all": want none or public',
    );
    expect(() => load({ GOMIRROR_ANONYMOUS: "public" })).toThrow(
      "GOMIRROR_ANONYMOUS=public needs GOMIRROR_AUTH_FILE: without a token file every client may read everything",
    );
  });

  it("refuse one TLS file without the other", () => {
    expect(() => load({ GOMIRROR_TLS_CERT: "/tls/tls.crt" })).toThrow(
      "GOMIRROR_TLS_CERT is set but GOMIRROR_TLS_KEY is not: HTTPS needs both the certificate and its key",
    );
    expect(() => load({ GOMIRROR_TLS_KEY: "/tls/tls.key" })).toThrow(
      "GOMIRROR_TLS_KEY is set but GOMIRROR_TLS_CERT is not",
    );
  });

  it("refuse a metrics listener that is not host:port, or is the main listener", () => {
    expect(() => load({ GOMIRROR_METRICS_LISTEN: "9090" })).toThrow(
      'GOMIRROR_METRICS_LISTEN="9090": want host:port, e.g. 0.0.0.0:9090',
    );
    expect(() => load({ GOMIRROR_LISTEN: "0.0.0.0:8080", GOMIRROR_METRICS_LISTEN: ":8080" })).toThrow(
      "GOMIRROR_METRICS_LISTEN=0.0.0.0:8080 is GOMIRROR_LISTEN itself; give it its own port",
    );
  });

  it("are listed in --help", () => {
    const help = settingsHelp();
    for (const flag of [
      "auth-file",
      "anonymous",
      "allow-cidrs",
      "trusted-proxies",
      "tls-cert",
      "tls-key",
      "metrics-listen",
    ]) {
      expect(help).toContain(`--${flag} (GOMIRROR_`);
    }
  });
});
