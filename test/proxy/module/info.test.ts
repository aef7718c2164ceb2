import { checkInfo, isRfc3339, parseInfo, parseList } from "../../../lib/proxy/module/info";

describe(".info and list answers", () => {
  it("takes RFC 3339 times as Go's time.Time decodes them", () => {
    for (const ok of [
      "2024-01-02T03:04:05Z",
      "2024-01-02T03:04:05.123456789Z",
      "2024-02-29T23:59:59+01:00",
      "0001-01-01T00:00:00Z",
    ]) {
      expect(`${ok}: ${isRfc3339(ok)}`).toBe(`${ok}: true`);
    }
    for (const bad of [
      "",
      "yesterday",
      "2024-01-02",
      "2024-01-02 03:04:05Z",
      "2024-01-02t03:04:05z",
      "2023-02-29T00:00:00Z",
      "2024-13-01T00:00:00Z",
      "2024-01-02T24:00:00Z",
      "2024-01-02T03:04:60Z",
      "2024-01-02T03:04:05+25:00",
      "2024-01-02T03:04:05.Z",
    ]) {
      expect(`${bad}: ${isRfc3339(bad)}`).toBe(`${bad}: false`);
    }
  });

  it("parses a .info, keeping only the fields it knows, and refuses one without a valid Time", () => {
    const data = Buffer.from(
      '{"Version":"v1.0.0","Time":"2024-01-02T03:04:05Z","Extra":1,"Origin":{"VCS":"git"}}',
    );
    expect(parseInfo(data, "x")).toEqual({
      Version: "v1.0.0",
      Time: "2024-01-02T03:04:05Z",
      Origin: { VCS: "git" },
    });
    expect(() => parseInfo(Buffer.from('{"Version":"v1.0.0"}'), "x")).toThrow(/invalid Time undefined/);
    expect(() => parseInfo(Buffer.from('{"Version":"v1.0"}'), "x")).toThrow(/invalid Version "v1.0"/);
  });

  it("checks a .info against the module path and the version asked for", () => {
    const time = "2024-01-02T03:04:05Z";
    expect(() => checkInfo("example.test/m", "v1.0.0", { Version: "v1.0.0", Time: time })).not.toThrow();
    expect(() =>
      checkInfo("example.test/m", undefined, { Version: "v2.0.0+incompatible", Time: time }),
    ).not.toThrow();
    expect(() => checkInfo("example.test/m", "v1.0.0", { Version: "v1.0.1", Time: time })).toThrow(
      /source answered \.info for v1\.0\.1/,
    );
    expect(() => checkInfo("example.test/m", undefined, { Version: "v2.0.0", Time: time })).toThrow(
      /which example\.test\/m cannot have/,
    );
    expect(() => checkInfo("example.test/m/v2", undefined, { Version: "v2.0.0", Time: "2024" })).toThrow(
      /invalid Time "2024"/,
    );
  });

  it("keeps the canonical versions of a list, once each", () => {
    expect(parseList(Buffer.from("v1.0.0\nv1.0.0 extra\n  v1.1.0\nbanana\nv1.2\n\n"))).toEqual([
      "v1.0.0",
      "v1.1.0",
    ]);
  });
});
