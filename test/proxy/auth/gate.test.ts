import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { AccessPolicy } from "../../../lib/proxy/auth/access";
import { createAccessGate } from "../../../lib/proxy/auth/gate";
import { FailureLimiter } from "../../../lib/proxy/auth/rate-limit";
import { addToken, revokeToken } from "../../../lib/proxy/auth/token-store";
import { loadConfig } from "../../../lib/proxy/config";
import { ProxyMetrics } from "../../../lib/proxy/metrics";
import { startProxy, type RunningProxy } from "../../../lib/proxy/server";
import { DiskStorage } from "../../../lib/proxy/storage/disk";
import { FakeSource } from "../../support/fake-source";
import { basicAuth, bearer, request, type TestRequest } from "../../support/http-client";
import { LogCapture } from "../../support/log-capture";

/**
 * The gate in front of a running proxy, over HTTP: a public upstream that records the headers it
 * gets, private modules (GONOPROXY=corp.example) from a fake git source, a fake /sumdb/ handler.
 * Other loopback addresses (127.0.0.2, ...) stand in for other clients.
 */

interface UpstreamRequest {
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
}

async function startRecordingUpstream(): Promise<{
  url: string;
  requests: UpstreamRequest[];
  close(): Promise<void>;
}> {
  const requests: UpstreamRequest[] = [];
  const server = http.createServer((req, res) => {
    requests.push({ url: req.url ?? "", headers: req.headers });
    if (req.url === "/example.test/pub/@v/list") {
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("v1.0.0\n");
      return;
    }
    res.writeHead(404, { "content-type": "text/plain" });
    res.end("not found\n");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .map((f) => path.join(dir, f))
    .filter((f) => statSync(f).isFile());
}

const PRIVATE_MODULES = {
  "corp.example/a/x": { versions: ["v1.0.0"], mods: { "v1.0.0": "module corp.example/a/x\n" } },
  "corp.example/b/y": { versions: ["v1.0.0"], mods: { "v1.0.0": "module corp.example/b/y\n" } },
};

describe("the access gate of a running proxy", () => {
  let work: string;
  let tokenFile: string;
  let upstream: Awaited<ReturnType<typeof startRecordingUpstream>>;
  let git: FakeSource;
  let sumdbCalls: string[];
  let log: LogCapture;
  let proxy: RunningProxy;
  let all: string;
  let teamA: string;
  /** Every token handed out, to prove none of them is ever written anywhere. */
  const secrets: string[] = [];

  async function start(env: Record<string, string> = {}): Promise<RunningProxy> {
    const config = loadConfig({
      env: {
        GOPROXY: upstream.url,
        GONOPROXY: "corp.example",
        GOSUMDB: "off",
        GOMIRROR_LISTEN: "127.0.0.1:0",
        GOMIRROR_STORAGE: path.join(work, "cache"),
        GOMIRROR_AUTH_FILE: tokenFile,
        ...env,
      },
      argv: [],
    });
    return startProxy(config, {
      logger: log.logger,
      metrics: new ProxyMetrics(),
      storage: new DiskStorage(config.storage),
      direct: git,
      sumdb: async (rest) => {
        sumdbCalls.push(rest);
        return { type: "text/plain", cache: "no-store", body: "sumdb answer\n" };
      },
    });
  }

  /** Every answer the proxy gave, headers and body. */
  const answers: string[] = [];
  const get = async (target: string, options: TestRequest = {}) => {
    const res = await request(`${proxy.url}${target}`, options);
    answers.push(JSON.stringify(res));
    return res;
  };

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), "gomirror-gate-"));
    tokenFile = path.join(work, "tokens");
    all = (await addToken(tokenFile, "ci")).token;
    teamA = (await addToken(tokenFile, "team-a", "corp.example/a/*")).token;
    secrets.push(all, teamA);
    upstream = await startRecordingUpstream();
    git = new FakeSource(PRIVATE_MODULES);
    sumdbCalls = [];
    log = new LogCapture("info");
    proxy = await start();
  });
  afterAll(async () => {
    await proxy?.close();
    await upstream?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it("answers 401 with a Basic challenge to a client without a token, on every protected path", async () => {
    for (const target of [
      "/example.test/pub/@v/list",
      "/corp.example/a/x/@v/list",
      "/sumdb/sum.golang.org/supported",
      "/metrics",
      "/nonsense",
      "/example.test/pub/@v/bad%zz.info",
    ]) {
      const res = await get(target);
      expect({ target, status: res.status, challenge: res.headers["www-authenticate"] }).toEqual({
        target,
        status: 401,
        challenge: 'Basic realm="gomirror"',
      });
      expect(res.body).toContain("this proxy needs a token");
    }
    expect(upstream.requests).toEqual([]);
  });

  it("keeps /healthz and /readyz open", async () => {
    expect((await get("/healthz")).status).toBe(200);
    expect((await get("/readyz")).status).toBe(200);
  });

  it("accepts a token as Bearer or as the Basic password, whatever the login", async () => {
    expect((await get("/example.test/pub/@v/list", { headers: bearer(all) })).body).toBe("v1.0.0\n");
    const basic = await get("/example.test/pub/@v/list", { headers: basicAuth("whoever", all) });
    expect([basic.status, basic.body]).toEqual([200, "v1.0.0\n"]);
    expect((await get("/metrics", { headers: bearer(all) })).status).toBe(200);
  });

  it("answers 401 to a wrong token, naming no token", async () => {
    const res = await get("/example.test/pub/@v/list", { headers: bearer(`${all.slice(0, -2)}xx`) });
    expect(res.status).toBe(401);
    expect(res.headers["www-authenticate"]).toBe('Basic realm="gomirror"');
    expect(res.body).toBe("unauthorized: the token was not accepted (unknown, revoked or mistyped)\n");
  });

  it("serves a scoped token its private paths and public modules", async () => {
    const mod = await get("/corp.example/a/x/@v/v1.0.0.mod", { headers: bearer(teamA) });
    expect([mod.status, mod.body]).toEqual([200, "module corp.example/a/x\n"]);
    expect((await get("/example.test/pub/@v/list", { headers: bearer(teamA) })).status).toBe(200);
  });

  it("answers 403 for a private path outside the token's scopes, before any source is asked", async () => {
    git.calls.length = 0;
    for (const target of [
      "/corp.example/b/y/@v/list",
      "/corp.example/b/y/@latest",
      "/corp.example/b/y/@v/v1.0.0.info",
      "/corp.example/b/y/@v/v1.0.0.mod",
      "/corp.example/b/y/@v/v1.0.0.zip",
      "/sumdb/sum.golang.org/lookup/corp.example/b/y@v1.0.0",
    ]) {
      const res = await get(target, { headers: bearer(teamA) });
      expect({ target, status: res.status }).toEqual({ target, status: 403 });
      expect(res.body).toBe(
        'forbidden: token "team-a" may not read corp.example/b/y: it is outside the token\'s scopes\n',
      );
    }
    expect(git.calls).toEqual([]);
    expect(sumdbCalls).toEqual([]);
    expect(upstream.requests.filter((r) => r.url.includes("corp.example"))).toEqual([]);
    // An unlimited token reads it.
    expect((await get("/corp.example/b/y/@v/v1.0.0.mod", { headers: bearer(all) })).status).toBe(200);
    expect(
      (await get("/sumdb/sum.golang.org/lookup/corp.example/a/x@v1.0.0", { headers: bearer(teamA) })).status,
    ).toBe(200);
    expect(sumdbCalls).toEqual(["sum.golang.org/lookup/corp.example/a/x@v1.0.0"]);
  });

  it("limits failed attempts per address with 429 and Retry-After, while other addresses keep working", async () => {
    const attacker = { localAddress: "127.0.0.3" };
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) {
      statuses.push(
        (await get("/example.test/pub/@v/list", { ...attacker, headers: bearer(`gmt_${i}`) })).status,
      );
    }
    expect(statuses).toEqual([...Array<number>(10).fill(401), 429, 429]);
    const limited = await get("/example.test/pub/@v/list", { ...attacker, headers: bearer(all) });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    expect(limited.body).toMatch(/too many failed authentication attempts/);
    // The same token from another address is fine, and so is a client without credentials' 401.
    expect(
      (await get("/example.test/pub/@v/list", { localAddress: "127.0.0.4", headers: bearer(all) })).status,
    ).toBe(200);
    expect((await get("/example.test/pub/@v/list", attacker)).status).toBe(401);
    expect(log.events("auth_rate_limited")).toEqual([
      expect.objectContaining({ clientIp: "127.0.0.3", limitedAs: "127.0.0.3" }),
    ]);
  });

  it("logs the token's name on every request line and counts requests by token name and outcome", async () => {
    const lines = log.events("request");
    const ok = lines.find((l) => l.url === "/corp.example/a/x/@v/v1.0.0.mod");
    expect(ok).toMatchObject({ status: 200, tokenName: "team-a", clientIp: "127.0.0.1" });
    const refused = lines.find((l) => l.url === "/corp.example/b/y/@v/list");
    expect(refused).toMatchObject({ status: 403, tokenName: "team-a", outcome: "forbidden" });
    const metrics = await proxy.metrics.registry.metrics();
    const count = (token: string, outcome: string): number => {
      const m = new RegExp(
        `gomirror_auth_requests_total\\{token="${token.replace(/[()]/g, "\\$&")}",outcome="${outcome}"\\} (\\d+)`,
      ).exec(metrics);
      return m ? Number(m[1]) : 0;
    };
    expect(count("team-a", "forbidden")).toBe(6);
    expect(count("team-a", "ok")).toBeGreaterThanOrEqual(3);
    expect(count("ci", "ok")).toBeGreaterThanOrEqual(4);
    expect(count("(none)", "unauthenticated")).toBeGreaterThanOrEqual(6);
    expect(count("(invalid)", "unauthenticated")).toBeGreaterThanOrEqual(11);
    expect(count("(invalid)", "rate_limited")).toBe(3);
  });

  it("takes a revoked token away within seconds", async () => {
    // Waiting on the proxy's own "loaded" log lines rather than on refused requests: those would
    // count as failed attempts and soon get this address rate-limited.
    const reloaded = async (loadsBefore: number): Promise<number> => {
      const started = Date.now();
      while (log.events("auth_file_loaded").length === loadsBefore) {
        if (Date.now() - started > 8000) throw new Error("the token file was not re-read within 8 s");
        await new Promise((r) => setTimeout(r, 100));
      }
      return Date.now() - started;
    };
    let loads = log.events("auth_file_loaded").length;
    const doomed = (await addToken(tokenFile, "doomed")).token;
    secrets.push(doomed);
    expect(await reloaded(loads)).toBeLessThan(8000);
    expect((await get("/example.test/pub/@v/list", { headers: bearer(doomed) })).status).toBe(200);
    loads = log.events("auth_file_loaded").length;
    await revokeToken(tokenFile, "doomed");
    expect(await reloaded(loads)).toBeLessThan(8000);
    expect((await get("/example.test/pub/@v/list", { headers: bearer(doomed) })).status).toBe(401);
    expect((await get("/example.test/pub/@v/list", { headers: bearer(all) })).status).toBe(200);
  }, 20_000);

  it("writes no token to logs, metrics, storage, responses or upstream requests", async () => {
    const texts = [
      log.text,
      await proxy.metrics.registry.metrics(),
      ...filesUnder(path.join(work, "cache")).map((f) => readFileSync(f, "latin1")),
      JSON.stringify(upstream.requests),
      ...answers,
    ];
    for (const secret of secrets) {
      const encoded = Buffer.from(`whoever:${secret}`).toString("base64");
      for (const text of texts) {
        expect(text.includes(secret.slice(21))).toBe(false);
        expect(text.includes(encoded)).toBe(false);
      }
    }
    expect(log.text).not.toMatch(/authorization/i);
    expect(upstream.requests.length).toBeGreaterThan(0);
    expect(upstream.requests.filter((r) => r.headers.authorization !== undefined)).toEqual([]);
  });
});

describe("a fault inside the gate", () => {
  it("answers 500 and lets nothing through", async () => {
    const log = new LogCapture("info");
    const gate = createAccessGate({
      auth: {
        tokens: {
          verify: () => {
            throw new Error("token table exploded");
          },
        },
        policy: new AccessPolicy("", "none"),
        limiter: new FailureLimiter(),
      },
      logger: log.logger,
      metrics: new ProxyMetrics(),
    });
    let reached = 0;
    const server = http.createServer(
      gate.wrap((_req, res) => {
        reached++;
        res.end("handled\n");
      }),
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const res = await request(`${url}/example.test/m/@v/list`, { headers: bearer("gmt_x") });
      expect([res.status, res.body]).toEqual([500, "internal error\n"]);
      expect(reached).toBe(0);
      expect(log.events("auth_error")).toEqual([
        expect.objectContaining({ err: "Error: token table exploded" }),
      ]);
      // The server is still up.
      expect((await request(`${url}/healthz`)).status).toBe(200);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
