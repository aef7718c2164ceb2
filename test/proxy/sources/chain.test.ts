import { ProxyError } from "../../../lib/proxy/errors";
import {
  noDirectSource,
  offSource,
  PrivateRoutingSource,
  ProxyChainSource,
} from "../../../lib/proxy/sources/chain";
import { FakeSource } from "../../support/fake-source";

const M = "example.test/m";
const good = () => new FakeSource({ [M]: { versions: ["v1.0.0"] } });
const empty = () => new FakeSource();
const broken = (message = "upstream answered 500") => {
  const s = new FakeSource({ [M]: { versions: ["v1.0.0"] } });
  s.failure = new ProxyError("upstream", message);
  return s;
};

describe("ProxyChainSource: the go command's , and | semantics", () => {
  it("falls through a , entry that says not found", async () => {
    const [a, b] = [empty(), good()];
    const chain = new ProxyChainSource([
      { source: a, fallBackOnError: false },
      { source: b, fallBackOnError: false },
    ]);
    await expect(chain.list(M)).resolves.toEqual(["v1.0.0"]);
    expect(a.count("list")).toBe(1);
    expect(b.count("list")).toBe(1);
  });

  it("stops at a , entry that fails for any other reason, and never asks the next one", async () => {
    const [a, b] = [broken(), good()];
    const chain = new ProxyChainSource([
      { source: a, fallBackOnError: false },
      { source: b, fallBackOnError: false },
    ]);
    await expect(chain.list(M)).rejects.toMatchObject({ kind: "upstream", message: "upstream answered 500" });
    expect(b.calls).toEqual([]);
  });

  it("falls through a | entry on any error", async () => {
    const chain = new ProxyChainSource([
      { source: broken(), fallBackOnError: true },
      { source: good(), fallBackOnError: false },
    ]);
    await expect(chain.info(M, "v1.0.0")).resolves.toMatchObject({ Version: "v1.0.0" });
  });

  it("reports a real fault rather than a later not found", async () => {
    const chain = new ProxyChainSource([
      { source: broken("timed out"), fallBackOnError: true },
      { source: empty(), fallBackOnError: false },
    ]);
    await expect(chain.list(M)).rejects.toMatchObject({ kind: "upstream", message: "timed out" });
  });

  it("reports direct's error above all others", async () => {
    const chain = new ProxyChainSource([
      { source: broken("proxy down"), fallBackOnError: true },
      { source: noDirectSource(), fallBackOnError: false, direct: true },
    ]);
    await expect(chain.list(M)).rejects.toMatchObject({
      kind: "not-found",
      message: expect.stringMatching(/no direct/),
    });
  });

  it("refuses with off, and does not let a client fall through", async () => {
    const chain = new ProxyChainSource([
      { source: empty(), fallBackOnError: false },
      { source: offSource(), fallBackOnError: false },
    ]);
    await expect(chain.zip(M, "v1.0.0")).rejects.toMatchObject({
      kind: "forbidden",
      message: `module lookup disabled by GOPROXY=off: ${M}`,
    });
  });
});

describe("PrivateRoutingSource", () => {
  it("sends GONOPROXY paths to direct only, and never to the public chain", async () => {
    const publicChain = good();
    const direct = new FakeSource({ "git.example.test/team/lib": { versions: ["v0.1.0"] } });
    const routed = new PrivateRoutingSource("*.corp.example.test,git.example.test/team", direct, publicChain);
    await expect(routed.list("git.example.test/team/lib")).resolves.toEqual(["v0.1.0"]);
    await expect(routed.list("x.corp.example.test/a")).rejects.toMatchObject({ kind: "not-found" });
    await expect(routed.list(M)).resolves.toEqual(["v1.0.0"]);
    expect(publicChain.calls).toEqual([`list ${M}`]);
    expect(direct.calls).toEqual(["list git.example.test/team/lib", "list x.corp.example.test/a"]);
  });

  it("routes nothing privately when GONOPROXY is empty", async () => {
    const direct = empty();
    const routed = new PrivateRoutingSource("", direct, good());
    await routed.list(M);
    expect(direct.calls).toEqual([]);
  });
});
