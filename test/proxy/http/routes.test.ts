import { parseRoute } from "../../../lib/proxy/http/routes";

describe("parseRoute", () => {
  it.each([
    ["/example.test/m/@v/list", { kind: "list", path: "example.test/m" }],
    ["/example.test/m/@latest", { kind: "latest", path: "example.test/m" }],
    [
      "/example.test/!upper/m/@v/v1.0.0.mod",
      { kind: "mod", path: "example.test/Upper/m", version: "v1.0.0" },
    ],
    ["/example.test/m/v2/@v/v2.1.0.zip", { kind: "zip", path: "example.test/m/v2", version: "v2.1.0" }],
    [
      "/example.test/m/@v/v3.0.0+incompatible.zip",
      { kind: "zip", path: "example.test/m", version: "v3.0.0+incompatible" },
    ],
    [
      "/example.test/m/@v/v1.0.0.info",
      { kind: "info", path: "example.test/m", query: "v1.0.0", canonical: true },
    ],
    [
      "/example.test/m/@v/v1.2.info",
      { kind: "info", path: "example.test/m", query: "v1.2", canonical: false },
    ],
    [
      "/example.test/m/@v/!main.info",
      { kind: "info", path: "example.test/m", query: "Main", canonical: false },
    ],
    [
      "/example.test/m/@v/0123abcd.info?x=1",
      { kind: "info", path: "example.test/m", query: "0123abcd", canonical: false },
    ],
    ["/gopkg.in/yaml.v3/@v/v3.0.1.mod", { kind: "mod", path: "gopkg.in/yaml.v3", version: "v3.0.1" }],
    [
      "/example.test/m/@v/v3.0.0.info",
      { kind: "info", path: "example.test/m", query: "v3.0.0", canonical: false },
    ],
    ["/sumdb/sum.golang.org/supported", { kind: "sumdb", rest: "sum.golang.org/supported" }],
    ["/healthz", { kind: "healthz" }],
  ])("%s", (target, route) => {
    expect(parseRoute(target)).toEqual(route);
  });

  it.each([
    ["/../etc/passwd/@v/list", /malformed module path/],
    ["/example.test/../../x/@v/list", /malformed module path/],
    ["/example.test/%2e%2e/x/@v/list", /malformed module path/],
    ["/example.test/m/@v/..%2f..%2fx.mod", /invalid|malformed/],
    ["/example.test/m/@v/%2e%2e.info", /invalid path element/],
    ["/example.test\\m/@v/list", /backslash/],
    ["/example.test/m%5c/@v/list", /backslash/],
    ["/example.test/m%00/@v/list", /control character/],
    ["/example.test/m/@v/v1.0.0%00.mod", /control character/],
    ["/example.test/m/@v/-u.info", /starts with .-./],
    ["/example.test/m/@v/--upload-pack=x.info", /starts with .-./],
    ["/example.test/Upper/@v/list", /malformed module path|invalid escaped module path/],
    ["/nodot/m/@v/list", /missing dot in first path element/],
    ["/-example.test/m/@v/list", /leading dash/],
    ["/example.test/m/@v/v1.0.mod", /not canonical|canonical/],
    ["/example.test/m/v2/@v/v1.0.0.mod", /should be v2/],
    ["/example.test/m/@v/v2.0.0.zip", /should be v0 or v1/],
    ["/example.test/m@v1/@v/list", /contains @/],
    ["/example.test/m/@v/%zz.info", /bad percent-encoding/],
    [`/example.test/${"a".repeat(3000)}/@v/list`, /longer than/],
    [`/example.test/m/@v/${"a".repeat(400)}.info`, /invalid version query/],
  ])("refuses %s", (target, message) => {
    expect(() => parseRoute(target)).toThrow(
      expect.objectContaining({ kind: "invalid", message: expect.stringMatching(message) }),
    );
  });

  it("routes / to the status page", () => {
    expect(parseRoute("/")).toEqual({ kind: "status" });
  });

  it.each(["/favicon.ico", "/example.test/m/@v/v1.0.0.tar", "/example.test/m/@v/"])(
    "answers not found for %s, which is not a protocol path",
    (target) => {
      expect(() => parseRoute(target)).toThrow(expect.objectContaining({ kind: "not-found" }));
    },
  );
});
