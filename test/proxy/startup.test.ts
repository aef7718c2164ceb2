import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { addToken } from "../../lib/proxy/auth/token-store";
import { ConfigError, loadConfig } from "../../lib/proxy/config";
import { ProxyMetrics } from "../../lib/proxy/metrics";
import { startProxy, type RunningProxy } from "../../lib/proxy/server";
import { listenFailure, reachesItself } from "../../lib/proxy/startup";
import { VERSION } from "../../lib/proxy/version";
import { FakeSource } from "../support/fake-source";
import { bearer, request } from "../support/http-client";
import { LogCapture } from "../support/log-capture";
import { freePort } from "../support/ports";

/** What a new user sees when starting the proxy: the startup line, refusals, and the page at `/`. */

/** An HTTP server on 127.0.0.1 answering every request with `answer`. */
async function serveOnce(
  answer: (req: import("node:http").IncomingMessage, res: import("node:http").ServerResponse) => void,
): Promise<{ url: string; server: Server }> {
  const server = createServer(answer);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    server,
  };
}

describe("starting the proxy", () => {
  let work: string;
  let log: LogCapture;
  const running: RunningProxy[] = [];
  const servers: Server[] = [];

  const start = async (env: Record<string, string>, withDirect = false): Promise<RunningProxy> => {
    const config = loadConfig({
      env: {
        GOSUMDB: "off",
        GOMIRROR_LISTEN: "127.0.0.1:0",
        GOMIRROR_STORAGE: path.join(work, "cache"),
        ...env,
      },
      argv: [],
    });
    const proxy = await startProxy(config, {
      logger: log.logger,
      metrics: new ProxyMetrics(),
      ...(withDirect
        ? {
            direct: new FakeSource({
              "corp.example/secret/x": { versions: ["v1.0.0"] },
            }),
          }
        : {}),
    });
    running.push(proxy);
    return proxy;
  };

  beforeEach(() => {
    work = mkdtempSync(path.join(tmpdir(), "gomirror-startup-"));
    log = new LogCapture("info");
  });
  afterEach(async () => {
    for (const p of running.splice(0)) await p.close();
    for (const s of servers.splice(0)) await new Promise((resolve) => s.close(resolve));
    rmSync(work, { recursive: true, force: true });
  });

  it("says on its startup line what it runs with: version, upstreams, checksum database, private paths, auth", async () => {
    const tokens = path.join(work, "tokens");
    await addToken(tokens, "ci");
    const proxy = await start({
      GOPROXY: "https://proxy.example.test|direct",
      GOSUMDB: "sum.golang.org",
      GOPRIVATE: "corp.example",
      GOMIRROR_AUTH_FILE: tokens,
    });
    const [line] = log.events("listening");
    expect(line).toMatchObject({
      url: proxy.url,
      version: VERSION,
      listen: "127.0.0.1:0",
      goproxy: "https://proxy.example.test|direct",
      gosumdb: "sum.golang.org",
      goprivate: "corp.example",
      gonoproxy: "corp.example",
      gonosumdb: "corp.example",
      auth: `tokens from file ${tokens}, anonymous: none`,
    });
    expect(String(line!.msg)).toBe(`gomirror ${VERSION} listening on ${proxy.url}`);
    expect(log.events("sumdb_off")).toEqual([]);
  });

  it("warns on GOSUMDB=off and on a NETRC file that does not exist", async () => {
    await start({ GOPROXY: "off", NETRC: path.join(work, "no-such-netrc") });
    expect(log.events("listening")[0]).toMatchObject({
      auth: "none: every client may read everything",
    });
    expect(log.events("sumdb_off")[0]).toMatchObject({
      level: 40,
      msg: expect.stringMatching(/^GOSUMDB=off: /),
    });
    expect(log.events("netrc_missing")[0]).toMatchObject({
      level: 40,
      msg: expect.stringContaining(`NETRC=${path.join(work, "no-such-netrc")} does not exist`),
    });
  });

  describe("refuses a GOPROXY list that leads to itself", () => {
    it.each([
      ["http://127.0.0.1:3000", "127.0.0.1", 3000, true],
      ["http://localhost:3000/", "127.0.0.1", 3000, true],
      ["http://[::1]:3000", "127.0.0.1", 3000, true],
      ["http://0.0.0.0:3000", "127.0.0.1", 3000, true],
      ["http://127.0.0.1:3000", "0.0.0.0", 3000, true],
      ["http://localhost:3000", "::", 3000, true],
      ["http://localhost:80", "127.0.0.1", 80, true],
      ["http://localhost", "127.0.0.1", 80, true],
      ["https://localhost", "127.0.0.1", 443, true],
      ["http://127.0.0.1:3001", "127.0.0.1", 3000, false],
      ["https://proxy.golang.org", "0.0.0.0", 443, false],
      ["http://127.0.0.1:3000", "127.0.0.1", 0, false],
      ["file:///srv/goproxy", "127.0.0.1", 3000, false],
    ] as const)("%s reaches a listener on %s:%d: %s", (url, host, port, expected) => {
      expect(reachesItself(url, { host, port })).toBe(expected);
    });

    it("stops startup with a message that says what happened and what to do", async () => {
      const port = await freePort();
      await expect(
        start({
          GOPROXY: `http://localhost:${port}`,
          GOMIRROR_LISTEN: `127.0.0.1:${port}`,
        }),
      ).rejects.toThrow(
        expect.objectContaining({
          constructor: ConfigError,
          message: expect.stringMatching(
            new RegExp(
              `^GOPROXY=http://localhost:${port} names this proxy itself .*GOPROXY=https://proxy.golang.org,direct npm start`,
            ),
          ),
        }),
      );
    });

    it("answers 508 to a request that comes back to it through another server, and logs it once", async () => {
      let target = "";
      // A forwarder standing in for a load balancer in front of the same proxy.
      const forwarder = await serveOnce((req, res) => {
        fetch(`${target}${req.url}`, {
          headers: req.headers as Record<string, string>,
        }).then(
          async (answer) => {
            res.writeHead(answer.status, { "content-type": "text/plain" });
            res.end(await answer.text());
          },
          () => res.destroy(),
        );
      });
      servers.push(forwarder.server);
      const proxy = await start({
        GOPROXY: forwarder.url,
        GOMIRROR_UPSTREAM_TIMEOUT: "5",
      });
      target = proxy.url;
      const started = Date.now();
      const first = await request(`${proxy.url}/example.test/m/@v/list`);
      expect(Date.now() - started).toBeLessThan(4000);
      expect(first.status).toBe(502);
      expect(first.body).toMatch(/answered 508: loop detected: this request came from this gomirror itself/);
      await request(`${proxy.url}/example.test/n/@v/list`);
      expect(log.events("loop_detected")).toHaveLength(1);
      // A request from a client (no hop header) is not refused.
      expect((await request(`${proxy.url}/healthz`)).status).toBe(200);
    });

    it("answers 508 to a checksum database request that comes back to it", async () => {
      let target = "";
      const forwarder = await serveOnce((req, res) => {
        fetch(`${target}${req.url}`, { headers: req.headers as Record<string, string> }).then(
          async (answer) => {
            res.writeHead(answer.status, { "content-type": "text/plain" });
            res.end(await answer.text());
          },
          () => res.destroy(),
        );
      });
      servers.push(forwarder.server);
      const proxy = await start({
        GOPROXY: "off",
        GOSUMDB: `sum.golang.org ${forwarder.url}/sumdb/sum.golang.org`,
        GOMIRROR_UPSTREAM_TIMEOUT: "5",
      });
      target = proxy.url;
      const started = Date.now();
      const res = await request(`${proxy.url}/sumdb/sum.golang.org/lookup/example.test/m@v1.0.0`);
      expect(Date.now() - started).toBeLessThan(4000);
      expect(res.status).toBe(502);
      expect(res.body).toMatch(/508/);
      expect(log.events("loop_detected")).toHaveLength(1);
    });
  });

  it("refuses a storage directory that cannot be written, in one line", async () => {
    const file = path.join(work, "a-file");
    writeFileSync(file, "not a directory");
    const config = loadConfig({
      env: {
        GOPROXY: "off",
        GOSUMDB: "off",
        GOMIRROR_LISTEN: "127.0.0.1:0",
        GOMIRROR_STORAGE: path.join(file, "cache"),
      },
      argv: [],
    });
    await expect(startProxy(config, { logger: log.logger, metrics: new ProxyMetrics() })).rejects.toThrow(
      expect.objectContaining({
        constructor: ConfigError,
        message: expect.stringMatching(
          /^GOMIRROR_STORAGE=.*a-file\/cache cannot be written \(ENOTDIR: [^\n]*\); give a directory this user can create and write$/,
        ),
      }),
    );
  });

  it("says in one line that the address is in use, or needs privileges", () => {
    const config = loadConfig({
      env: { GOMIRROR_LISTEN: "127.0.0.1:3000" },
      argv: [],
    });
    const inUse = Object.assign(new Error("listen EADDRINUSE"), {
      code: "EADDRINUSE",
      port: 3000,
    });
    expect(listenFailure(inUse, config)).toBe(
      "127.0.0.1:3000 is already in use (another gomirror?); set GOMIRROR_LISTEN or --listen to another address",
    );
    const low = loadConfig({
      env: { GOMIRROR_LISTEN: "0.0.0.0:80" },
      argv: [],
    });
    const denied = Object.assign(new Error("listen EACCES"), {
      code: "EACCES",
      port: 80,
    });
    expect(listenFailure(denied, low)).toMatch(/^0\.0\.0\.0:80: this user may not listen there .*--listen/);
    expect(listenFailure(new Error("other"), config)).toBeUndefined();
  });

  describe("without a network", () => {
    it("adds to an unreachable upstream's error what to do about it", async () => {
      const proxy = await start({ GOPROXY: "http://proxy.invalid" });
      const res = await request(`${proxy.url}/example.test/m/@v/list`);
      expect(res.status).toBe(502);
      expect(res.body).toMatch(
        /: ENOTFOUND; no network, or a name that does not resolve\? Set the proxy's GOPROXY to an upstream it can reach$/m,
      );
      expect(log.events("upstream_error")[0]!.err).toMatch(
        /Set the proxy's GOPROXY to an upstream it can reach/,
      );
    });

    it("adds to an unreachable checksum database's error what to do about it", async () => {
      const upstream = await serveOnce((_req, res) => {
        res.writeHead(200, { "content-type": "text/plain" });
        res.end("module example.test/m\n");
      });
      servers.push(upstream.server);
      const proxy = await start({
        GOPROXY: upstream.url,
        GOSUMDB: "sum.golang.org http://sum.invalid",
      });
      const res = await request(`${proxy.url}/example.test/m/@v/v1.0.0.mod`);
      expect(res.status).toBe(502);
      expect(res.body).toMatch(
        /ENOTFOUND sum\.invalid.*GOSUMDB to one it can reach, GONOSUMDB .* or GOSUMDB=off/,
      );
      expect(log.text).toMatch(/GOSUMDB=off/);
    });
  });

  it("passes on an upstream's HTML 404 page as one short line of its text", async () => {
    const page =
      "<!DOCTYPE html>\n<html><head><title>404 Not Found</title><style>body { color: red }</style></head>\n" +
      `<body>\n  <h1>Not   Found</h1>\n  <p>The requested URL was not found &amp; never will be.</p>\n${"<p>filler text</p>\n".repeat(50)}</body></html>\n`;
    const upstream = await serveOnce((_req, res) => {
      res.writeHead(404, { "content-type": "text/html" });
      res.end(page);
    });
    servers.push(upstream.server);
    const proxy = await start({ GOPROXY: upstream.url });
    const res = await request(`${proxy.url}/example.test/m/@v/list`);
    expect(res.status).toBe(404);
    const body = res.body.trimEnd();
    expect(body).toMatch(
      /^404 Not Found Not Found The requested URL was not found & never will be\. filler text/,
    );
    expect(body).not.toMatch(/[<>\n]|color: red/);
    expect(body.length).toBeLessThanOrEqual(200);
  });

  describe("the status page at /", () => {
    it("shows version, upstream health, cache hits and the GOPROXY line, as text for curl", async () => {
      const upstream = await serveOnce((_req, res) => {
        res.writeHead(200, { "content-type": "text/plain" });
        res.end("v1.0.0\n");
      });
      servers.push(upstream.server);
      const proxy = await start(
        { GOPROXY: `${upstream.url},direct`, GOPRIVATE: "corp.example/secret" },
        true,
      );
      await request(`${proxy.url}/example.test/m/@v/list`);
      await request(`${proxy.url}/corp.example/secret/x/@v/list`);
      const res = await request(`${proxy.url}/`, {
        headers: { host: "mirror.example.test:8080" },
      });
      expect(res.status).toBe(200);
      expect(res.headers["content-type"]).toBe("text/plain; charset=utf-8");
      expect(res.body).toContain(`version                      ${VERSION}`);
      expect(res.body).toContain(`upstream list (GOPROXY)      ${upstream.url},direct`);
      expect(res.body).toMatch(new RegExp(`  ${upstream.url.replace(/[.]/g, "\\.")} +in use`));
      expect(res.body).toMatch(/cache hits since start +0\.0% \(0 of \d+\)/);
      expect(res.body).toContain("export GOPROXY=http://mirror.example.test:8080");
      expect(res.body).not.toContain("corp.example");
    });

    it("is HTML for a browser", async () => {
      const proxy = await start({ GOPROXY: "off" });
      const res = await request(`${proxy.url}/`, {
        headers: { accept: "text/html,*/*" },
      });
      expect(res.headers["content-type"]).toBe("text/html; charset=utf-8");
      expect(res.body).toContain(`<h1>gomirror ${VERSION}</h1>`);
      expect(res.body).toContain(`<pre>export GOPROXY=${proxy.url}</pre>`);
    });

    it("needs a token where everything else does", async () => {
      const tokens = path.join(work, "tokens");
      const { token } = await addToken(tokens, "ci");
      const proxy = await start({ GOPROXY: "off", GOMIRROR_AUTH_FILE: tokens });
      expect((await request(`${proxy.url}/`)).status).toBe(401);
      const res = await request(`${proxy.url}/`, { headers: bearer(token) });
      expect(res.status).toBe(200);
      expect(res.body).toContain("login NAME password TOKEN");
    });
  });
});
