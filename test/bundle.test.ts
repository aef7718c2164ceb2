import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { buildRepos, GIT_HOST } from "./support/gitrepos";
import { startGitServer, type GitServer } from "./support/gitserver";
import { describeWithTools } from "./support/tools";
import { VERSION } from "../lib/proxy/version";
import { startS3TestServer, type S3TestServer } from "./proxy/storage/s3rver-harness";

/**
 * The server bundle (scripts/build-bundle.cjs) parses neither the AWS SDK nor undici at start:
 * each is carried in the file as compressed text and compiled on first use. These tests build
 * the bundle and run it the way the image does: with S3 storage, with an upstream proxy, and
 * with the git source.
 */

const ROOT = path.resolve(__dirname, "..");

interface Metafile {
  outputs: Record<string, { inputs: Record<string, unknown> }>;
  inputs: Record<string, unknown>;
}
interface Built {
  metafile: Metafile;
  groups: Record<string, { packages: string[]; text: string; metafile: Metafile }>;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a plain CommonJS build script
const { buildBundle } = require("../scripts/build-bundle.cjs") as {
  buildBundle(options: { root: string; outdir: string; minify?: boolean }): Promise<Built>;
};

/** Runs `gomirror serve` from the bundle and resolves with its URL once it listens. */
function serve(bundle: string, env: Record<string, string>): { child: ChildProcess; url: Promise<string> } {
  const child = spawn(process.execPath, [bundle, "serve"], {
    env: { PATH: process.env.PATH, HOME: tmpdir(), GOMIRROR_LISTEN: "127.0.0.1:0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const url = new Promise<string>((resolve, reject) => {
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      out += chunk;
      const m = /"event":"listening","url":"([^"]+)"/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
    child.on("exit", (code) => reject(new Error(`gomirror exited with ${code}:\n${out}`)));
  });
  return { child, url };
}

async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
}

describe("the server bundle", () => {
  let dir: string;
  let bundle: string;
  let built: Built;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "gomirror-bundle-"));
    built = await buildBundle({ root: ROOT, outdir: path.join(dir, "dist"), minify: true });
    bundle = path.join(dir, "dist", "gomirror.js");
  }, 120_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("does not parse the AWS SDK or undici at start, and carries them", () => {
    const parsed = Object.keys(built.metafile.outputs[path.relative(ROOT, bundle)]!.inputs);
    expect(parsed.filter((p) => /node_modules\/(@aws-sdk|@smithy|undici)\//.test(p))).toEqual([]);
    expect(parsed.some((p) => p.startsWith("lib/proxy/storage/s3.ts"))).toBe(true);
    expect(parsed.some((p) => p.startsWith("lib/proxy/sources/upstream.ts"))).toBe(true);
    const carried = (name: string) => Object.keys(built.groups[name]!.metafile.inputs);
    expect(carried("aws").some((p) => p.includes("node_modules/@aws-sdk/client-s3/"))).toBe(true);
    expect(carried("undici").some((p) => p.includes("node_modules/undici/lib/dispatcher/agent.js"))).toBe(
      true,
    );
    // One byte per character for V8, and the carried code not readable as code.
    const text = readFileSync(bundle, "latin1");
    expect(text).not.toMatch(/[^\x00-\xff]/);
    expect(text).not.toContain("S3ServiceException");
  });

  it("knows its version, and writes readable log lines with GOMIRROR_LOG_FORMAT=pretty", async () => {
    expect(execFileSync(process.execPath, [bundle, "--version"], { encoding: "utf8" })).toBe(
      `gomirror ${VERSION}\n`,
    );
    const storage = mkdtempSync(path.join(tmpdir(), "gomirror-bundle-pretty-"));
    const child = spawn(process.execPath, [bundle, "serve"], {
      env: {
        PATH: process.env.PATH,
        GOMIRROR_LISTEN: "127.0.0.1:0",
        GOMIRROR_STORAGE: storage,
        GOMIRROR_LOG_FORMAT: "pretty",
        GOPROXY: "off",
        GOSUMDB: "off",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    try {
      let out = "";
      await new Promise<void>((resolve, reject) => {
        child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
          out += chunk;
          if (/^ {4}auth /m.test(out)) resolve();
        });
        child.on("exit", (code) => reject(new Error(`gomirror exited with ${code}:\n${out}`)));
      });
      expect(out).toMatch(
        new RegExp(`^\\d\\d:\\d\\d:\\d\\d INFO  gomirror ${VERSION} listening on http://127`, "m"),
      );
      expect(out).not.toMatch(/^\{/m);
    } finally {
      await stop(child);
      rmSync(storage, { recursive: true, force: true });
    }
  }, 60_000);

  describe("with S3 storage", () => {
    let s3: S3TestServer;
    let child: ChildProcess | undefined;
    beforeAll(async () => {
      s3 = await startS3TestServer();
    });
    afterAll(async () => {
      await stop(child);
      await s3.close();
    });

    it("compiles the AWS SDK on first use and reaches the bucket with it", async () => {
      const run = serve(bundle, {
        GOPROXY: "off",
        GOSUMDB: "off",
        GOMIRROR_STORAGE: `s3://${s3.bucket}/cache`,
        GOMIRROR_S3_ENDPOINT: s3.endpoint,
        GOMIRROR_S3_FORCE_PATH_STYLE: "true",
        GOMIRROR_S3_REGION: "us-east-1",
        AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
      });
      child = run.child;
      // Readiness lists the bucket through the SDK.
      const ready = await fetch(`${await run.url}/readyz`);
      expect(ready.status).toBe(200);
    }, 60_000);
  });

  describe("with an upstream proxy", () => {
    let upstream: Server;
    let child: ChildProcess | undefined;
    const asked: string[] = [];
    beforeAll(async () => {
      upstream = createServer((req, res) => {
        asked.push(req.url ?? "");
        if (req.url === "/example.com/lazy/@v/list") res.end("v1.0.0\nv1.1.0\n");
        else res.writeHead(404).end("not found\n");
      });
      await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
    });
    afterAll(async () => {
      await stop(child);
      await new Promise((resolve) => upstream.close(resolve));
    });

    it("compiles undici on first use and fetches from the upstream with it", async () => {
      const { port } = upstream.address() as AddressInfo;
      const run = serve(bundle, {
        GOPROXY: `http://127.0.0.1:${port}`,
        GOSUMDB: "off",
        GOMIRROR_STORAGE: path.join(dir, "upstream-cache"),
      });
      child = run.child;
      const res = await fetch(`${await run.url}/example.com/lazy/@v/list`);
      expect(res.status).toBe(200);
      expect(await res.text()).toBe("v1.0.0\nv1.1.0\n");
      expect(asked).toEqual(["/example.com/lazy/@v/list"]);
    }, 60_000);
  });

  describeWithTools({ bins: ["git"] }, "with the git source", () => {
    let work: string;
    let git: GitServer;
    let child: ChildProcess | undefined;
    beforeAll(async () => {
      work = mkdtempSync(path.join(tmpdir(), "gomirror-bundle-git-"));
      git = await startGitServer({ projectRoot: buildRepos(work).root });
    });
    afterAll(async () => {
      await stop(child);
      await git.close();
      rmSync(work, { recursive: true, force: true });
    });

    it("lists a module's tags through the git binary", async () => {
      const run = serve(bundle, {
        GOPROXY: "direct",
        GOSUMDB: "off",
        GOPRIVATE: GIT_HOST,
        GOMIRROR_GIT_REWRITE: `https://${GIT_HOST}/=${git.url}/`,
        GOMIRROR_STORAGE: path.join(work, "cache"),
      });
      child = run.child;
      const res = await fetch(`${await run.url}/${GIT_HOST}/hello.git/@v/list`);
      expect(res.status).toBe(200);
      expect((await res.text()).split("\n")).toContain("v1.0.0");
    }, 60_000);
  });
});
