import { ConfigError, loadConfig, settingsHelp, SETTINGS } from "../../lib/proxy/config";

const load = (env: Record<string, string> = {}, argv: string[] = []) => loadConfig({ env, argv });

describe("loadConfig", () => {
  it("works with no settings at all: disk cache, public upstream, checksum database on", () => {
    const config = load();
    expect(config.listen).toEqual({ host: "127.0.0.1", port: 3000 });
    expect(config.storage).toBe("./.gomirror");
    expect(config.proxyList).toEqual([
      { kind: "url", url: "https://proxy.golang.org", fallBackOnError: false },
      { kind: "direct", fallBackOnError: false },
    ]);
    expect(config.sumdb).toBe("sum.golang.org");
    expect(config.cacheTtlSeconds).toBe(60);
    expect(config.noProxy).toBe("");
    expect(config.workers).toBe(1);
    expect(config.memoryCacheBytes).toBe(64 * 1024 * 1024);
  });

  it("takes the memory cache size in bytes or binary units, 0 turning it off", () => {
    expect(load({ GOMIRROR_MEMORY_CACHE: "0" }).memoryCacheBytes).toBe(0);
    expect(load({ GOMIRROR_MEMORY_CACHE: "1000" }).memoryCacheBytes).toBe(1000);
    expect(load({ GOMIRROR_MEMORY_CACHE: "512KiB" }).memoryCacheBytes).toBe(512 * 1024);
    expect(load({}, ["--memory-cache", "2 GiB"]).memoryCacheBytes).toBe(2 * 1024 ** 3);
  });

  it("takes a worker count, or one per CPU", () => {
    expect(load({ GOMIRROR_WORKERS: "3" }).workers).toBe(3);
    expect(load({ GOMIRROR_WORKERS: "auto" }).workers).toBeGreaterThanOrEqual(1);
  });

  it("bounds spool space at 1 GiB by default, and takes sizes with units", () => {
    expect(load().spoolMaxBytes).toBe(2 ** 30);
    expect(load({ GOMIRROR_SPOOL_MAX: "2GiB" }).spoolMaxBytes).toBe(2 * 2 ** 30);
    expect(load({ GOMIRROR_SPOOL_MAX: "512Mi" }).spoolMaxBytes).toBe(512 * 2 ** 20);
    expect(load({ GOMIRROR_SPOOL_MAX: "1.5GB" }).spoolMaxBytes).toBe(1.5e9);
    expect(load({}, ["--spool-max", "1000000"]).spoolMaxBytes).toBe(1e6);
    for (const bad of ["0", "-1GiB", "2 gigs", "GiB", "1e9"]) {
      expect(() => load({ GOMIRROR_SPOOL_MAX: bad })).toThrow(
        /GOMIRROR_SPOOL_MAX=.*want (more than 0 bytes|an amount of bytes such as)/,
      );
    }
    expect(settingsHelp()).toMatch(/--spool-max \(GOMIRROR_SPOOL_MAX\).*\[default: 1GiB\]/);
  });

  it("reads the go command's variables", () => {
    const config = load({
      GOPROXY: "http://127.0.0.1:9|https://b.example.test,off",
      GOPRIVATE: "*.corp.example.test,git.example.test/team",
      GOSUMDB: "off",
    });
    expect(config.proxyList).toEqual([
      { kind: "url", url: "http://127.0.0.1:9", fallBackOnError: true },
      { kind: "url", url: "https://b.example.test", fallBackOnError: false },
      { kind: "off" },
    ]);
    expect(config.private).toBe("*.corp.example.test,git.example.test/team");
    expect(config.sumdb).toBe("off");
  });

  it("defaults GONOPROXY and GONOSUMDB to GOPRIVATE, as the go command does", () => {
    const config = load({ GOPRIVATE: "git.example.test" });
    expect(config.noProxy).toBe("git.example.test");
    expect(config.noSumdb).toBe("git.example.test");
  });

  it("lets an explicit GONOPROXY replace GOPRIVATE for proxy routing only", () => {
    const config = load({ GOPRIVATE: "git.example.test", GONOPROXY: "none" });
    expect(config.noProxy).toBe("none");
    expect(config.noSumdb).toBe("git.example.test");
  });

  it("takes every setting as a flag too, the flag winning over the variable", () => {
    const config = load({ GOMIRROR_LISTEN: "127.0.0.1:1" }, ["--listen", "127.0.0.1:8081", "--cache-ttl=5"]);
    expect(config.listen.port).toBe(8081);
    expect(config.cacheTtlSeconds).toBe(5);
    for (const setting of SETTINGS) expect(settingsHelp()).toContain(`--${setting.flag} (${setting.env})`);
  });

  it("parses IPv6 and wildcard listen addresses", () => {
    expect(load({ GOMIRROR_LISTEN: "[::1]:8080" }).listen).toEqual({ host: "::1", port: 8080 });
    expect(load({ GOMIRROR_LISTEN: ":8080" }).listen).toEqual({ host: "0.0.0.0", port: 8080 });
  });

  it("parses git rewrites as from=to pairs", () => {
    const config = load({
      GOMIRROR_GIT_REWRITE: "https://git.example.test/=http://127.0.0.1:8080/, ssh://x/=https://y/",
    });
    expect(config.gitRewrite).toEqual([
      { from: "https://git.example.test/", to: "http://127.0.0.1:8080/" },
      { from: "ssh://x/", to: "https://y/" },
    ]);
  });

  it.each([
    [{ GOMIRROR_LISTEN: "localhost" }, /GOMIRROR_LISTEN="localhost": want host:port/],
    [{ GOMIRROR_LISTEN: "127.0.0.1:99999" }, /GOMIRROR_LISTEN="127.0.0.1:99999"/],
    [{ GOPROXY: "ftp://x.example.test" }, /GOPROXY="ftp:\/\/x.example.test": invalid proxy URL scheme/],
    [{ GOPROXY: "nonsense" }, /GOPROXY="nonsense": invalid proxy URL missing scheme/],
    [{ GOPROXY: " , ," }, /GOPROXY=" , ,": GOPROXY list is not the empty string, but contains no entries/],
    [
      { GOPROXY: "https://user:secret@p.example.test" },
      /GOPROXY="https:\/\/\[redacted\]@p.example.test": .*carries credentials/,
    ],
    [{ GOMIRROR_UPSTREAM_TIMEOUT: "0" }, /GOMIRROR_UPSTREAM_TIMEOUT="0": want at least 1 second/],
    [{ GOMIRROR_CACHE_TTL: "-1" }, /GOMIRROR_CACHE_TTL="-1": want a number of seconds/],
    [{ GOMIRROR_CACHE_TTL: "soon" }, /GOMIRROR_CACHE_TTL="soon"/],
    [{ GOMIRROR_LOG_LEVEL: "loud" }, /GOMIRROR_LOG_LEVEL="loud": want one of/],
    [{ GOMIRROR_LOG_FORMAT: "xml" }, /GOMIRROR_LOG_FORMAT="xml": want one of/],
    [{ GOMIRROR_STORAGE: "s3://A_bad_bucket" }, /GOMIRROR_STORAGE="s3:\/\/A_bad_bucket"/],
    [{ GOMIRROR_S3_FORCE_PATH_STYLE: "maybe" }, /GOMIRROR_S3_FORCE_PATH_STYLE="maybe": want true or false/],
    [{ GOMIRROR_GIT_REWRITE: "https://a/" }, /GOMIRROR_GIT_REWRITE="https:\/\/a\/"/],
    [{ GOPRIVATE: "a b" }, /GOPRIVATE="a b"/],
    [{ GOSUMDB: "example.test+bad" }, /GOSUMDB="example.test\+bad": invalid GOSUMDB/],
    [{ GOMIRROR_ZIP_REDIRECT: "true" }, /GOMIRROR_ZIP_REDIRECT=true needs S3 storage/],
    [{ GOMIRROR_WORKERS: "0" }, /GOMIRROR_WORKERS="0": want a whole number from 1 to 64, or auto/],
    [{ GOMIRROR_WORKERS: "1.5" }, /GOMIRROR_WORKERS="1.5"/],
    [{ GOMIRROR_MEMORY_CACHE: "64 megs" }, /GOMIRROR_MEMORY_CACHE="64 megs": want an amount of bytes/],
    [{ GOMIRROR_MEMORY_CACHE: "-1" }, /GOMIRROR_MEMORY_CACHE="-1"/],
  ])("refuses %j, naming the variable and the value", (env, message) => {
    expect(() => load(env as Record<string, string>)).toThrow(ConfigError);
    expect(() => load(env as Record<string, string>)).toThrow(message);
  });

  it("refuses unknown flags", () => {
    expect(() => load({}, ["--lisen", "x"])).toThrow(/lisen/);
  });
});
