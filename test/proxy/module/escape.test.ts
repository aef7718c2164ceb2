import { escapePath, escapeVersion, unescapePath, unescapeVersion } from "../../../lib/proxy/module/escape";
import { thrownProxyError } from "../../support/thrown";

describe("escapePath / unescapePath", () => {
  it.each([
    ["github.com/Azure/azure-sdk-for-go", "github.com/!azure/azure-sdk-for-go"],
    ["github.com/GoogleCloudPlatform/cloudsql-proxy", "github.com/!google!cloud!platform/cloudsql-proxy"],
    ["github.com/Sirupsen/logrus", "github.com/!sirupsen/logrus"],
    ["golang.org/x/mod", "golang.org/x/mod"],
  ])("escapes %s as %s and back", (path, escaped) => {
    // when
    const out = escapePath(path);
    // then
    expect(out).toBe(escaped);
    expect(unescapePath(out)).toBe(path);
  });

  it("refuses to escape an invalid module path, with checkPath's message", () => {
    const err = thrownProxyError(() => escapePath("Example.com/x"));
    expect(err.kind).toBe("invalid");
    expect(err.message).toBe(`malformed module path "Example.com/x": invalid char 'E' in first path element`);
  });

  it.each([
    ["upper case", "github.com/Azure/x"],
    ["a '!' before a non-letter", "github.com/!1zure/x"],
    ["a doubled '!'", "github.com/!!azure/x"],
    ["a trailing '!'", "github.com/azure!"],
    ["non-ASCII", "github.com/é"],
  ])("refuses an escaped path with %s", (_why, escaped) => {
    const err = thrownProxyError(() => unescapePath(escaped));
    expect(err.kind).toBe("invalid");
    expect(err.message).toBe(`invalid escaped module path ${JSON.stringify(escaped)}`);
  });

  it("refuses an escaped path that unescapes to an invalid module path, naming both", () => {
    expect(thrownProxyError(() => unescapePath("!example.com/x")).message).toBe(
      `invalid escaped module path "!example.com/x": malformed module path "Example.com/x": invalid char 'E' in first path element`,
    );
  });

  it("refuses absurdly long paths before any other work", () => {
    const long = "example.com/" + "a".repeat(2000);
    expect(thrownProxyError(() => unescapePath(long)).message).toMatch(/over the limit of 1024 bytes/);
    expect(thrownProxyError(() => escapePath(long)).message).toMatch(/over the limit of 1024 bytes/);
  });
});

describe("escapeVersion / unescapeVersion", () => {
  it("escapes capitals in versions and queries, and leaves other file-name characters alone", () => {
    expect(escapeVersion("v1.0.0-RC1")).toBe("v1.0.0-!r!c1");
    expect(escapeVersion("Master")).toBe("!master");
    expect(escapeVersion("v1.2.3+incompatible")).toBe("v1.2.3+incompatible");
    expect(unescapeVersion("v1.0.0-!r!c1")).toBe("v1.0.0-RC1");
  });

  it.each(["", "a/b", "x!y", "..", "con", "a:b"])("refuses to escape %j", (v) => {
    expect(thrownProxyError(() => escapeVersion(v)).message).toBe(
      `version ${JSON.stringify(v)} invalid: disallowed version string`,
    );
  });

  it("reports a non-ASCII letter, which no escaping exists for, in x/mod's own words", () => {
    // x/mod's element check lets unicode letters through, then the escaper refuses them.
    expect(thrownProxyError(() => escapeVersion("vé")).message).toBe(
      "internal error: inconsistency in EscapePath",
    );
  });

  it("refuses bad escapes and escaped versions that are not file-name elements", () => {
    expect(thrownProxyError(() => unescapeVersion("V1.0.0")).message).toBe(
      `invalid escaped version "V1.0.0"`,
    );
    expect(thrownProxyError(() => unescapeVersion("v1!")).message).toBe(`invalid escaped version "v1!"`);
    // x/mod quotes the unescaped version in this message
    expect(thrownProxyError(() => unescapeVersion("!con")).message).toBe(
      `invalid escaped version "Con": "Con" disallowed as path element component on Windows`,
    );
    expect(thrownProxyError(() => unescapeVersion("")).message).toBe(
      `invalid escaped version "": empty path element`,
    );
  });
});
