import { invalidMessage } from "../../support/thrown";
import {
  isPseudoVersion,
  isZeroPseudoVersion,
  makePseudoVersion,
  pseudoVersionBase,
  pseudoVersionRev,
  pseudoVersionTime,
  zeroPseudoVersion,
} from "../../../lib/proxy/module/pseudo";

const COMMIT_TIME = new Date("2024-01-03T10:00:00Z");

describe("makePseudoVersion", () => {
  it("uses vX.0.0- when there is no earlier tag", () => {
    expect(makePseudoVersion("v1", "", COMMIT_TIME, "db61b2a92517")).toBe(
      "v1.0.0-20240103100000-db61b2a92517",
    );
    expect(makePseudoVersion("", "", COMMIT_TIME, "db61b2a92517")).toBe("v0.0.0-20240103100000-db61b2a92517");
  });

  it("builds on a release tag by bumping its patch, carrying +incompatible", () => {
    expect(makePseudoVersion("v1", "v1.1.0", COMMIT_TIME, "db61b2a92517")).toBe(
      "v1.1.1-0.20240103100000-db61b2a92517",
    );
    expect(makePseudoVersion("v1", "v1.9.99", COMMIT_TIME, "abc")).toBe("v1.9.100-0.20240103100000-abc");
    expect(makePseudoVersion("v3", "v3.0.0+incompatible", COMMIT_TIME, "abc")).toBe(
      "v3.0.1-0.20240103100000-abc+incompatible",
    );
  });

  it("builds on a prerelease tag by appending .0.", () => {
    expect(makePseudoVersion("v1", "v1.2.3-rc.1", COMMIT_TIME, "abc")).toBe(
      "v1.2.3-rc.1.0.20240103100000-abc",
    );
  });

  it("formats the time in UTC whatever zone the Date came from", () => {
    expect(makePseudoVersion("v0", "", new Date("2024-01-03T23:30:00-05:00"), "abc")).toBe(
      "v0.0.0-20240104043000-abc",
    );
  });
});

describe("pseudo-version parsing", () => {
  const forms = [
    "v0.0.0-20240103100000-db61b2a92517",
    "v1.1.1-0.20240103100000-db61b2a92517",
    "v1.2.3-rc.1.0.20240103100000-db61b2a92517",
    "v3.0.1-0.20240103100000-db61b2a92517+incompatible",
  ];

  it.each(forms)("recognises %s and reads its time and revision", (v) => {
    expect(isPseudoVersion(v)).toBe(true);
    expect(pseudoVersionTime(v)).toEqual(COMMIT_TIME);
    expect(pseudoVersionRev(v)).toBe("db61b2a92517");
  });

  it("finds the tag each form builds on", () => {
    expect(forms.map(pseudoVersionBase)).toEqual(["", "v1.1.0", "v1.2.3-rc.1", "v3.0.0+incompatible"]);
  });

  it.each(["v1.2.3", "v0.0.0-2024010310000-abc", "v1.2.3-pre.20240103100000-abc", "v1.0.0-20240103100000"])(
    "does not take %s for a pseudo-version",
    (v) => {
      expect(isPseudoVersion(v)).toBe(false);
      expect(invalidMessage(() => pseudoVersionRev(v))).toBe(
        `pseudo-version ${JSON.stringify(v)} invalid: syntax error`,
      );
    },
  );

  it("rejects time stamps that are no real time (Feb 30, month 13), as time.Parse does", () => {
    expect(invalidMessage(() => pseudoVersionTime("v0.0.0-20230230000000-abc"))).toBe(
      'pseudo-version "v0.0.0-20230230000000-abc" invalid: malformed time "20230230000000"',
    );
    expect(() => pseudoVersionTime("v0.0.0-20231301000000-abc")).toThrow(/malformed time/);
    expect(pseudoVersionTime("v0.0.0-20240229235959-abc")).toEqual(new Date("2024-02-29T23:59:59Z"));
  });

  it("reads years below 100 as themselves, not as 19xx", () => {
    expect(pseudoVersionTime("v0.0.0-00050101000000-abc").getUTCFullYear()).toBe(5);
  });

  it("rejects bases that cannot exist", () => {
    expect(invalidMessage(() => pseudoVersionBase("v1.0.0-0.20240103100000-abc"))).toBe(
      'pseudo-version "v1.0.0-0.20240103100000-abc" invalid: version before v1.0.0 would have negative patch number',
    );
    expect(invalidMessage(() => pseudoVersionBase("v2.0.0-20240103100000-abc+incompatible"))).toBe(
      'pseudo-version "v2.0.0-20240103100000-abc+incompatible" invalid: lacks base version, but has build metadata "+incompatible"',
    );
  });
});

describe("zero pseudo-versions", () => {
  it("is the placeholder with year 1 and an all-zero revision", () => {
    expect(zeroPseudoVersion("v2")).toBe("v2.0.0-00010101000000-000000000000");
    expect(isZeroPseudoVersion("v0.0.0-00010101000000-000000000000")).toBe(true);
    expect(isZeroPseudoVersion("v0.0.0-00010101000000-000000000001")).toBe(false);
    expect(isZeroPseudoVersion("v1.0.0")).toBe(false);
  });
});
