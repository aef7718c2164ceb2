import { bytes, ConfigError, durationSeconds, parseBytes, seconds } from "../../../lib/proxy/settings/kinds";

describe("durations", () => {
  it.each([
    [90, 90],
    ["90", 90],
    ["90s", 90],
    ["5m", 300],
    ["1h30m", 5400],
    ["1d", 86400],
    ["1500ms", 1.5],
    [{ toSeconds: () => 42 }, 42],
  ])("%j is %d seconds", (value, expected) => {
    expect(durationSeconds(value, "cacheTtl")).toBe(expected);
  });

  it.each(["soon", "5 minutes", "-5s", "1x"])("refuses %j, naming the prop", (value) => {
    expect(() => durationSeconds(value, "proxy.cacheTtl")).toThrow(
      new ConfigError(
        `proxy.cacheTtl ${JSON.stringify(value)} is not a duration; write seconds, or e.g. "90s", "5m", "1h30m"`,
      ),
    );
  });

  it("reads seconds from the environment within the setting's range", () => {
    const kind = seconds(1, 3600);
    expect(kind.parse("2.5", "X")).toBe(2.5);
    expect(() => kind.parse("0", "X")).toThrow('X="0": want at least 1 second');
    expect(() => kind.parse("3601", "X")).toThrow('X="3601": want a number of seconds from 0 to 3600');
    expect(kind.fromProp("2m", "p")).toBe("120");
  });
});

describe("byte sizes", () => {
  it.each([
    ["1048576", 1048576],
    ["512MiB", 512 * 2 ** 20],
    ["20GiB", 20 * 2 ** 30],
    ["1.5GB", 1.5e9],
    ["2 kib", 2048],
  ])("%s is %d bytes", (text, expected) => {
    expect(parseBytes(text)).toBe(expected);
  });

  it.each(["", "lots", "5XB", "-1MiB"])("%j is not an amount of bytes", (text) => {
    expect(parseBytes(text)).toBeUndefined();
  });

  it("refuses 0 unless the setting says what 0 means", () => {
    expect(() => bytes().parse("0", "GOMIRROR_X")).toThrow('GOMIRROR_X="0": want more than 0 bytes');
    expect(bytes({ zeroMeans: "no limit" }).parse("0", "GOMIRROR_X")).toBe(0);
    expect(() => bytes().fromProp("much", "diskMax")).toThrow(/diskMax "much" is not an amount of bytes/);
  });
});
