import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { addToken } from "../../../lib/proxy/auth/token-store";
import type { RunningProxy } from "../../../lib/proxy/server";
import { FakeSource } from "../../support/fake-source";
import { bearer, request } from "../../support/http-client";
import { LogCapture } from "../../support/log-capture";
import { startTestProxy, type TestProxy } from "../../support/proxy";

/**
 * The network allowlist and X-Forwarded-For from trusted proxies, on a running proxy, and
 * anonymous access to public modules. Loopback addresses 127.0.0.x and ::1 stand in for
 * clients and load balancers.
 */

const MODULES = {
  "example.test/pub": { versions: ["v1.0.0"] },
  "corp.example/a/x": { versions: ["v1.0.0"] },
};

describe("who may connect", () => {
  let work: string;
  let log: LogCapture;
  const running: TestProxy[] = [];

  const start = async (env: Record<string, string>): Promise<RunningProxy> => {
    const mirror = await startTestProxy(
      // Public and private modules both come from the fake source here.
      { GOPROXY: "direct", GOPRIVATE: "corp.example", ...env },
      { logger: log.logger, direct: new FakeSource(MODULES) },
    );
    running.push(mirror);
    return mirror.proxy;
  };

  beforeEach(() => {
    work = mkdtempSync(path.join(tmpdir(), "gomirror-allow-"));
    log = new LogCapture("info");
  });
  afterEach(async () => {
    for (const p of running.splice(0)) await p.close();
    rmSync(work, { recursive: true, force: true });
  });

  it("admits only listed addresses (403 for the others), health probes from anywhere", async () => {
    const proxy = await start({ GOMIRROR_ALLOW_CIDRS: "127.0.0.2/32" });
    const list = `${proxy.url}/example.test/pub/@v/list`;
    expect((await request(list, { localAddress: "127.0.0.2" })).status).toBe(200);
    const refused = await request(list, { localAddress: "127.0.0.1" });
    expect([refused.status, refused.body]).toEqual([
      403,
      "forbidden: 127.0.0.1 is not among the addresses allowed to use this proxy\n",
    ]);
    expect((await request(`${proxy.url}/healthz`, { localAddress: "127.0.0.1" })).status).toBe(200);
    // Claiming to be a listed client changes nothing without trusted proxies.
    const spoofed = await request(list, {
      localAddress: "127.0.0.1",
      headers: { "x-forwarded-for": "127.0.0.2" },
    });
    expect(spoofed.status).toBe(403);
    expect(log.events("request").find((l) => l.status === 200)).toMatchObject({ clientIp: "127.0.0.2" });
  });

  it("believes X-Forwarded-For only from trusted proxies, read from the right", async () => {
    const tokens = path.join(work, "tokens");
    const { token } = await addToken(tokens, "ci");
    const proxy = await start({
      GOMIRROR_AUTH_FILE: tokens,
      GOMIRROR_TRUSTED_PROXIES: "127.0.0.1/32",
      GOMIRROR_ALLOW_CIDRS: "203.0.113.0/24,2001:db8::/32",
    });
    const list = `${proxy.url}/example.test/pub/@v/list`;
    const via = (localAddress: string, xff: string) =>
      request(list, { localAddress, headers: { ...bearer(token), "x-forwarded-for": xff } }).then(
        (r) => r.status,
      );
    expect(await via("127.0.0.1", "203.0.113.5")).toBe(200);
    expect(await via("127.0.0.1", "2001:db8::5")).toBe(200);
    expect(await via("127.0.0.1", "::ffff:203.0.113.5")).toBe(200);
    // The client wrote the listed address itself; the load balancer appended the real one.
    expect(await via("127.0.0.1", "203.0.113.5, 198.51.100.1")).toBe(403);
    // Not from the trusted load balancer: its header means nothing.
    expect(await via("127.0.0.2", "203.0.113.5")).toBe(403);
    expect(
      log
        .events("request")
        .filter((l) => l.status === 200)
        .map((l) => l.clientIp),
    ).toEqual(["203.0.113.5", "2001:db8::5", "203.0.113.5"]);
  });

  it("counts failed attempts per forwarded client behind a trusted proxy", async () => {
    const tokens = path.join(work, "tokens");
    const { token } = await addToken(tokens, "ci");
    const proxy = await start({ GOMIRROR_AUTH_FILE: tokens, GOMIRROR_TRUSTED_PROXIES: "127.0.0.1/32" });
    const list = `${proxy.url}/example.test/pub/@v/list`;
    const from = (client: string, auth: string) =>
      request(list, { headers: { ...bearer(auth), "x-forwarded-for": client } }).then((r) => r.status);
    for (let i = 0; i < 10; i++) expect(await from("198.51.100.7", "gmt_wrong")).toBe(401);
    expect(await from("198.51.100.7", token)).toBe(429);
    // Everyone else behind the same load balancer is unaffected.
    expect(await from("198.51.100.8", token)).toBe(200);
  });

  it("works over IPv6", async () => {
    const proxy = await start({ GOMIRROR_LISTEN: "[::1]:0", GOMIRROR_ALLOW_CIDRS: "::1/128" });
    expect(proxy.url).toMatch(/^http:\/\/\[::1\]:\d+$/);
    expect((await request(`${proxy.url}/example.test/pub/@v/list`)).status).toBe(200);
    const v4only = await start({ GOMIRROR_LISTEN: "[::1]:0", GOMIRROR_ALLOW_CIDRS: "127.0.0.0/8" });
    expect((await request(`${v4only.url}/example.test/pub/@v/list`)).status).toBe(403);
  });

  it("with GOMIRROR_ANONYMOUS=public, serves public modules without a token and asks for one for private paths", async () => {
    const tokens = path.join(work, "tokens");
    const { token } = await addToken(tokens, "ci");
    const proxy = await start({ GOMIRROR_AUTH_FILE: tokens, GOMIRROR_ANONYMOUS: "public" });
    expect((await request(`${proxy.url}/example.test/pub/@v/list`)).status).toBe(200);
    const privatePath = await request(`${proxy.url}/corp.example/a/x/@v/list`);
    expect([privatePath.status, privatePath.headers["www-authenticate"]]).toEqual([
      401,
      'Basic realm="gomirror"',
    ]);
    expect((await request(`${proxy.url}/metrics`)).status).toBe(401);
    expect((await request(`${proxy.url}/corp.example/a/x/@v/list`, { headers: bearer(token) })).status).toBe(
      200,
    );
    // A wrong token is not quietly treated as no token.
    expect(
      (await request(`${proxy.url}/example.test/pub/@v/list`, { headers: bearer("gmt_wrong") })).status,
    ).toBe(401);
  });
});
