import { ConfigError, loadConfig } from "../../lib/proxy/config";
import { count } from "../../lib/proxy/settings/kinds";

const load = (env: Record<string, string> = {}, argv: string[] = []) => loadConfig({ env, argv });

describe("GOMIRROR_DISK_MAX", () => {
  it("is off unless set, takes units, and refuses S3 storage", () => {
    expect(load().diskMaxBytes).toBe(0);
    expect(load({ GOMIRROR_DISK_MAX: "20GiB" }).diskMaxBytes).toBe(20 * 2 ** 30);
    expect(load({}, ["--disk-max", "512MiB"]).diskMaxBytes).toBe(512 * 2 ** 20);
    expect(() => load({ GOMIRROR_DISK_MAX: "lots" })).toThrow(
      /GOMIRROR_DISK_MAX="lots": want an amount of bytes/,
    );
    expect(() => load({ GOMIRROR_DISK_MAX: "1GiB", GOMIRROR_STORAGE: "s3://bucket/prefix" })).toThrow(
      /GOMIRROR_DISK_MAX limits disk storage, but GOMIRROR_STORAGE="s3:\/\/bucket\/prefix"/,
    );
  });
});

describe("GOMIRROR_S3_LAST_REQUESTED", () => {
  it("is off by default and needs S3 storage", () => {
    expect(load().s3LastRequested).toBe(false);
    expect(
      load({ GOMIRROR_STORAGE: "s3://bucket/prefix", GOMIRROR_S3_LAST_REQUESTED: "true" }).s3LastRequested,
    ).toBe(true);
    expect(() => load({ GOMIRROR_S3_LAST_REQUESTED: "true" })).toThrow(
      /GOMIRROR_S3_LAST_REQUESTED=true needs S3 storage, but GOMIRROR_STORAGE="\.\/\.gomirror"/,
    );
  });
});

describe("upstream health settings", () => {
  it("skips an upstream after 3 failures within 30 s, for 30 s, by default", () => {
    const config = load();
    expect(config.upstreamMaxFails).toBe(3);
    expect(config.upstreamFailWindowSeconds).toBe(30);
    expect(config.upstreamFailTimeoutSeconds).toBe(30);
  });

  it("reads them from the environment and from flags", () => {
    const config = load({ GOMIRROR_UPSTREAM_MAX_FAILS: "5" }, [
      "--upstream-fail-window",
      "60",
      "--upstream-fail-timeout",
      "90",
    ]);
    expect(config.upstreamMaxFails).toBe(5);
    expect(config.upstreamFailWindowSeconds).toBe(60);
    expect(config.upstreamFailTimeoutSeconds).toBe(90);
    expect(load({ GOMIRROR_UPSTREAM_MAX_FAILS: "0" }).upstreamMaxFails).toBe(0);
  });

  it.each([
    [
      { GOMIRROR_UPSTREAM_MAX_FAILS: "2.5" },
      /GOMIRROR_UPSTREAM_MAX_FAILS="2.5": want a whole number from 0 to 1000/,
    ],
    [{ GOMIRROR_UPSTREAM_MAX_FAILS: "-1" }, /GOMIRROR_UPSTREAM_MAX_FAILS="-1"/],
    [{ GOMIRROR_UPSTREAM_MAX_FAILS: "" }, undefined],
    [{ GOMIRROR_UPSTREAM_FAIL_WINDOW: "0" }, /GOMIRROR_UPSTREAM_FAIL_WINDOW="0": want at least 1 second/],
    [{ GOMIRROR_UPSTREAM_FAIL_TIMEOUT: "soon" }, /GOMIRROR_UPSTREAM_FAIL_TIMEOUT="soon"/],
  ])("refuses %j, naming the variable and the value", (env, message) => {
    if (message === undefined) {
      // Empty means unset: the default applies.
      expect(load(env).upstreamMaxFails).toBe(3);
      return;
    }
    expect(() => load(env)).toThrow(ConfigError);
    expect(() => load(env)).toThrow(message);
  });

  it("writes a count prop as its digits, leaving the range to the proxy's own check", () => {
    const kind = count(0, 10);
    expect(kind.fromProp(4, "upstreamMaxFails")).toBe("4");
    expect(() => kind.parse(kind.fromProp(11, "p"), "X")).toThrow('X="11": want a whole number from 0 to 10');
  });
});
