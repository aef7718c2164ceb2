import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Agent } from "undici";
import { lazyDispatcher, undici } from "../../../lib/proxy/net/undici";

/** A lazy dispatcher and the agents it made. */
function recording(): { made: Agent[]; lazy: ReturnType<typeof lazyDispatcher> } {
  const made: Agent[] = [];
  const lazy = lazyDispatcher(() => {
    const agent = new Agent();
    made.push(agent);
    return agent;
  });
  return { made, lazy };
}

describe("lazyDispatcher", () => {
  let server: Server;
  let url: string;

  beforeAll(async () => {
    server = createServer((req, res) => res.end(req.headers["x-composed"] ?? "ok"));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  it("makes the real dispatcher on the first request only, and closes it", async () => {
    const { made, lazy } = recording();
    expect(made).toHaveLength(0);
    for (let i = 0; i < 2; i++) {
      const res = await undici().request(url, { dispatcher: lazy });
      expect(await res.body.text()).toBe("ok");
    }
    expect(made).toHaveLength(1);
    await lazy.close();
    expect(made[0]!.closed).toBe(true);
  });

  it("has nothing to close or destroy when it never sent a request", async () => {
    const make = jest.fn(() => new Agent());
    const lazy = lazyDispatcher(make);
    await lazy.close();
    await lazy.destroy();
    expect(make).not.toHaveBeenCalled();
  });

  it("composes interceptors over the real dispatcher, made on the first request", async () => {
    const { made, lazy } = recording();
    const composed = lazy.compose(
      (dispatch) => (opts, handler) =>
        dispatch(
          { ...opts, headers: { ...(opts.headers as Record<string, string>), "x-composed": "yes" } },
          handler,
        ),
    );
    expect(made).toHaveLength(0);
    expect(await (await undici().request(url, { dispatcher: composed })).body.text()).toBe("yes");
    expect(await (await undici().request(url, { dispatcher: lazy })).body.text()).toBe("ok");
    expect(made).toHaveLength(1);
    await composed.close();
    expect(made[0]!.closed).toBe(true);
  });

  it("refuses requests once closed or destroyed, even when it had sent none", async () => {
    for (const end of ["close", "destroy"] as const) {
      const lazy = lazyDispatcher(() => new Agent());
      await lazy[end]();
      await expect(undici().request(url, { dispatcher: lazy })).rejects.toMatchObject({
        code: end === "close" ? "UND_ERR_CLOSED" : "UND_ERR_DESTROYED",
      });
    }
  });

  it("destroys the real dispatcher it made", async () => {
    const agent = new Agent();
    const lazy = lazyDispatcher(() => agent);
    await (await undici().request(url, { dispatcher: lazy })).body.text();
    await lazy.destroy();
    expect(agent.destroyed).toBe(true);
  });
});
