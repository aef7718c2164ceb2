import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { undici } from "../../../lib/proxy/net/undici";
import { peerDispatcher } from "../../../lib/proxy/sync/peer";

/** A server that records the authorization header of each request and redirects /away to `to`. */
async function recorder(
  to?: () => string,
): Promise<{ server: Server; url: string; seen: IncomingHttpHeaders[] }> {
  const seen: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    seen.push(req.headers);
    if (req.url === "/away" && to) res.writeHead(302, { location: `${to()}/there` }).end();
    else res.end("ok");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

describe("peerDispatcher", () => {
  let peer: Awaited<ReturnType<typeof recorder>>;
  let elsewhere: Awaited<ReturnType<typeof recorder>>;

  beforeAll(async () => {
    elsewhere = await recorder();
    peer = await recorder(() => elsewhere.url);
  });
  afterAll(async () => {
    for (const s of [peer, elsewhere]) await new Promise((resolve) => s.server.close(resolve));
  });

  it("sends the token to the peer's origin, and not on a redirect elsewhere", async () => {
    const dispatcher = peerDispatcher(peer.url, "Bearer secret-token", 5000);
    try {
      await (await undici().request(`${peer.url}/index`, { dispatcher })).body.text();
      const res = await undici().request(`${peer.url}/away`, { dispatcher });
      expect(await res.body.text()).toBe("ok");
    } finally {
      await dispatcher.close();
    }
    expect(peer.seen.map((h) => h.authorization)).toEqual(["Bearer secret-token", "Bearer secret-token"]);
    expect(elsewhere.seen).toHaveLength(1);
    expect(elsewhere.seen[0]!.authorization).toBeUndefined();
  });

  it("sends no authorization without a token", async () => {
    const before = peer.seen.length;
    const dispatcher = peerDispatcher(peer.url, undefined, 5000);
    try {
      await (await undici().request(`${peer.url}/index`, { dispatcher })).body.text();
    } finally {
      await dispatcher.close();
    }
    expect(peer.seen.slice(before).map((h) => h.authorization)).toEqual([undefined]);
  });
});
