import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pino from "pino";
import { addToken } from "../../../lib/proxy/auth/token-store";
import { loadConfig } from "../../../lib/proxy/config";
import { ProxyMetrics } from "../../../lib/proxy/metrics";
import { startProxy, type RunningProxy } from "../../../lib/proxy/server";
import { DiskStorage } from "../../../lib/proxy/storage/disk";
import { IndexLog } from "../../../lib/proxy/sync/index-log";
import { FakeSource } from "../../support/fake-source";

describe("/index, behind the token gate", () => {
  let dir: string;
  let proxy: RunningProxy;
  let full: string;
  let teamA: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "gomirror-feed-"));
    const tokens = path.join(dir, "tokens");
    full = (await addToken(tokens, "ops")).token;
    teamA = (await addToken(tokens, "team-a", "corp.example/a/*")).token;
    const storage = new DiskStorage(path.join(dir, "storage"));
    const log = new IndexLog(storage);
    for (const p of ["example.test/pub", "corp.example/a/lib", "corp.example/b/lib", "example.test/pub2"]) {
      await log.append(p, "v1.0.0");
    }
    const config = loadConfig({
      env: {
        GOPROXY: "off",
        GOSUMDB: "off",
        GOPRIVATE: "corp.example",
        GOMIRROR_AUTH_FILE: tokens,
        GOMIRROR_ANONYMOUS: "public",
        GOMIRROR_LISTEN: "127.0.0.1:0",
        GOMIRROR_STORAGE: path.join(dir, "storage"),
      },
      argv: [],
    });
    proxy = await startProxy(config, {
      storage,
      direct: new FakeSource(),
      logger: pino({ level: "silent" }),
      metrics: new ProxyMetrics(),
    });
  });
  afterAll(async () => {
    await proxy.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const feed = async (
    query: string,
    token?: string,
  ): Promise<{ status: number; paths: string[]; body: string }> => {
    const res = await fetch(`${proxy.url}/index${query}`, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
    const body = await res.text();
    const paths =
      res.status === 200
        ? body
            .split("\n")
            .filter(Boolean)
            .map((l) => (JSON.parse(l) as { Path: string }).Path)
        : [];
    return { status: res.status, paths, body };
  };

  it("lists private paths only to tokens whose scopes hold them", async () => {
    expect((await feed("", full)).paths).toEqual([
      "example.test/pub",
      "corp.example/a/lib",
      "corp.example/b/lib",
      "example.test/pub2",
    ]);
    expect((await feed("", teamA)).paths).toEqual([
      "example.test/pub",
      "corp.example/a/lib",
      "example.test/pub2",
    ]);
    expect((await feed("")).paths).toEqual(["example.test/pub", "example.test/pub2"]);
    expect((await feed("", "gmt_bogus_token")).status).toBe(401);
  });

  it("pages with since (inclusive) and limit, and refuses what it cannot read", async () => {
    const first = await feed("?limit=1", full);
    expect(first.paths).toEqual(["example.test/pub"]);
    const line = JSON.parse(first.body) as { Timestamp: string };
    expect(Object.keys(line)).toEqual(["Path", "Version", "Timestamp"]);
    const next = await feed(`?since=${encodeURIComponent(line.Timestamp)}&limit=2`, full);
    expect(next.paths).toEqual(["example.test/pub", "corp.example/a/lib"]);
    expect((await feed("?since=yesterday", full)).status).toBe(400);
    expect((await feed("?limit=0", full)).status).toBe(400);
  });
});
