import { formatProxyList, parseProxyList } from "../../../lib/proxy/sources/proxy-list";

describe("parseProxyList (the go command's GOPROXY syntax)", () => {
  it("separates by , and | and remembers which", () => {
    expect(parseProxyList("https://a.example.test,https://b.example.test|https://c.example.test")).toEqual([
      { kind: "url", url: "https://a.example.test", fallBackOnError: false },
      { kind: "url", url: "https://b.example.test", fallBackOnError: true },
      { kind: "url", url: "https://c.example.test", fallBackOnError: false },
    ]);
  });

  it("adds https:// to a bare host and trims spaces and empty entries", () => {
    expect(parseProxyList(" proxy.example.test/go/ ,, ")).toEqual([
      { kind: "url", url: "https://proxy.example.test/go", fallBackOnError: false },
    ]);
  });

  it("ends the list at direct or off, ignoring what follows", () => {
    expect(parseProxyList("direct,https://a.example.test")).toEqual([
      { kind: "direct", fallBackOnError: false },
    ]);
    expect(parseProxyList("https://a.example.test|off,https://b.example.test")).toEqual([
      { kind: "url", url: "https://a.example.test", fallBackOnError: true },
      { kind: "off" },
    ]);
  });

  it("accepts file URLs", () => {
    expect(parseProxyList("file:///srv/goproxy")).toEqual([
      { kind: "url", url: "file:///srv/goproxy", fallBackOnError: false },
    ]);
  });

  it("writes the list back in GOPROXY syntax", () => {
    const value = "https://a.example.test|https://b.example.test,direct";
    expect(formatProxyList(parseProxyList(value))).toBe(value);
  });
});
