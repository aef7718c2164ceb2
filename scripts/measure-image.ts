/**
 * Measures the image: build context size, bundle size, the app's layer size over its base, and
 * start-to-ready time (from `podman run` to the first 200 on /readyz, median of several runs;
 * the same for the bundle run by node directly, without a container).
 *
 *   npx ts-node --transpile-only scripts/measure-image.ts [--runs 5] [--write]
 *
 * Uses podman with the test suite's configuration (test/support/container.ts). The base is
 * BASE_IMAGE when set (it must be pullable or present), else the locally assembled Node base;
 * the git stage's builder is GIT_BUILDER_IMAGE when set, else the local Node base plus the
 * host's git and ssh.
 * `--write` replaces the generated part of docs/image.md.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { Podman, ensureLocalGitBuilder, ensureLocalNodeBase, NONROOT_UID } from "../test/support/container";

const ROOT = path.resolve(__dirname, "..");
const IMAGE_DIR = path.join(ROOT, "image");
const DOC = path.join(ROOT, "docs", "image.md");
const START = "<!-- measure-image:start -->";
const END = "<!-- measure-image:end -->";

interface Measurements {
  readonly date: string;
  readonly node: string;
  readonly base: string;
  readonly bundleBytes: number;
  readonly bundleGzipBytes: number;
  readonly healthcheckBytes: number;
  readonly contextBytes: number;
  readonly contextFiles: readonly string[];
  readonly baseBytes: number;
  readonly imageBytes: number;
  readonly appLayerBytes: number;
  readonly containerReadyMs: readonly number[];
  readonly nodeReadyMs: readonly number[];
}

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

/** The files docker/podman send: image/.dockerignore excludes everything (`*`) but its `!` lines. */
function buildContext(): { files: string[]; bytes: number } {
  const ignore = readFileSync(path.join(IMAGE_DIR, ".dockerignore"), "utf8")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
  if (ignore[0] !== "*" || ignore.slice(1).some((l) => !l.startsWith("!") || /[*?[]/.test(l))) {
    throw new Error(
      "image/.dockerignore must be `*` followed by `!file` lines for this measurement to be exact",
    );
  }
  // The builder always sends the Dockerfile and .dockerignore too.
  const files = ["Dockerfile", ".dockerignore", ...ignore.slice(1).map((l) => l.slice(1))];
  return { files, bytes: files.reduce((n, f) => n + statSync(path.join(IMAGE_DIR, f)).size, 0) };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

async function firstOk(url: string, startedAt: number, timeoutMs: number): Promise<number> {
  while (performance.now() - startedAt < timeoutMs) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200) return performance.now() - startedAt;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms`);
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

const mb = (bytes: number): string => `${(bytes / 1_000_000).toFixed(2)} MB`;
const kb = (bytes: number): string => `${(bytes / 1000).toFixed(1)} kB`;

async function containerReadyTimes(podman: Podman, tag: string, runs: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const port = await freePort();
    const cache = mkdtempSync(path.join(os.tmpdir(), "gomirror-measure-cache-"));
    const name = `gomirror-measure-${process.pid}-${i}`;
    const args = podman.runArgs({
      image: tag,
      name,
      user: String(NONROOT_UID),
      env: {
        GOMIRROR_LISTEN: `127.0.0.1:${port}`,
        GOPROXY: "off",
        GOSUMDB: "off",
        GOMIRROR_LOG_LEVEL: "warn",
      },
      volumes: { [cache]: "/var/cache/gomirror" },
    });
    const startedAt = performance.now();
    // Not awaited: `podman run -d` returns once the container started, readiness is polled meanwhile.
    const run = spawn("podman", ["run", "--detach", ...args], { env: podman.env, stdio: "ignore" });
    try {
      times.push(await firstOk(`http://127.0.0.1:${port}/readyz`, startedAt, 30_000));
    } finally {
      await new Promise((r) => (run.exitCode === null ? run.on("exit", r) : r(undefined)));
      podman.remove(name);
      rmSync(cache, { recursive: true, force: true });
    }
  }
  return times;
}

async function nodeReadyTimes(runs: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const port = await freePort();
    const cache = mkdtempSync(path.join(os.tmpdir(), "gomirror-measure-cache-"));
    const startedAt = performance.now();
    const child = spawn(process.execPath, [path.join(IMAGE_DIR, "dist", "gomirror.js"), "serve"], {
      env: {
        PATH: process.env.PATH,
        GOMIRROR_LISTEN: `127.0.0.1:${port}`,
        GOMIRROR_STORAGE: cache,
        GOPROXY: "off",
        GOSUMDB: "off",
        GOMIRROR_LOG_LEVEL: "warn",
      },
      stdio: "ignore",
    });
    try {
      times.push(await firstOk(`http://127.0.0.1:${port}/readyz`, startedAt, 30_000));
    } finally {
      const exited = new Promise((r) => child.on("exit", r));
      child.kill("SIGTERM");
      await exited;
      rmSync(cache, { recursive: true, force: true });
    }
  }
  return times;
}

function report(m: Measurements): string {
  const target = (ok: boolean): string => (ok ? "met" : "**missed**");
  const cMed = median(m.containerReadyMs);
  const nMed = median(m.nodeReadyMs);
  return [
    `Measured ${m.date} with node ${m.node} on ${os.cpus().length} CPUs, base \`${m.base}\`.`,
    "",
    "| what | measured | target |",
    "|---|---|---|",
    `| build context (${m.contextFiles.join(", ")}) | ${mb(m.contextBytes)} | |`,
    `| bundle \`image/dist/gomirror.js\` | ${mb(m.bundleBytes)} (${mb(m.bundleGzipBytes)} gzipped) | < 5 MB: ${target(m.bundleBytes < 5_000_000)} |`,
    `| health probe \`image/dist/healthcheck.js\` | ${kb(m.healthcheckBytes)} | |`,
    `| app layers over the base: git, ssh and their libraries, the bundle, the probe (image ${mb(m.imageBytes)} - base ${mb(m.baseBytes)}) | ${mb(m.appLayerBytes)} | < 40 MB: ${target(m.appLayerBytes < 40_000_000)} |`,
    `| start to ready, container (\`podman run\` to first 200 on /readyz), median of ${m.containerReadyMs.length} | ${cMed.toFixed(0)} ms | < 1 s: ${target(cMed < 1000)} |`,
    `| start to ready, bundle under node alone, median of ${m.nodeReadyMs.length} | ${nMed.toFixed(0)} ms | |`,
    "",
    `Container runs (ms): ${m.containerReadyMs.map((t) => t.toFixed(0)).join(", ")}; node runs (ms): ${m.nodeReadyMs.map((t) => t.toFixed(0)).join(", ")}.`,
  ].join("\n");
}

async function main(): Promise<void> {
  const runs = Number(option("runs", "5"));
  if (!Number.isInteger(runs) || runs < 1 || runs > 50) throw new Error(`--runs ${runs}: want 1 to 50`);

  const bundled = spawnSync(process.execPath, [path.join(ROOT, "scripts", "bundle.mjs")], {
    stdio: "inherit",
  });
  if (bundled.status !== 0) throw new Error("scripts/bundle.mjs failed");
  const bundle = readFileSync(path.join(IMAGE_DIR, "dist", "gomirror.js"));
  const context = buildContext();

  const podman = new Podman();
  const tag = `localhost/gomirror-measure:${process.pid}`;
  try {
    const base = process.env.BASE_IMAGE || ensureLocalNodeBase(podman);
    const gitBuilder = process.env.GIT_BUILDER_IMAGE || ensureLocalGitBuilder(podman);
    podman.build({
      context: IMAGE_DIR,
      tag,
      buildArgs: { BASE_IMAGE: base, GIT_BUILDER_IMAGE: gitBuilder },
      network: process.env.BASE_IMAGE || process.env.GIT_BUILDER_IMAGE ? "host" : "none",
    });
    const baseBytes = podman.inspectImage(base).Size;
    const imageBytes = podman.inspectImage(tag).Size;
    const m: Measurements = {
      date: new Date().toISOString().slice(0, 16).replace("T", " ") + " UTC",
      node: process.version,
      base: process.env.BASE_IMAGE ? base : `${base} (host node, assembled locally)`,
      bundleBytes: bundle.length,
      bundleGzipBytes: gzipSync(bundle).length,
      healthcheckBytes: statSync(path.join(IMAGE_DIR, "dist", "healthcheck.js")).size,
      contextBytes: context.bytes,
      contextFiles: context.files,
      baseBytes,
      imageBytes,
      appLayerBytes: imageBytes - baseBytes,
      containerReadyMs: await containerReadyTimes(podman, tag, runs),
      nodeReadyMs: await nodeReadyTimes(runs),
    };
    const text = report(m);
    console.log(text);
    if (process.argv.includes("--write")) {
      const doc = readFileSync(DOC, "utf8");
      const a = doc.indexOf(START);
      const b = doc.indexOf(END);
      if (a < 0 || b < a) throw new Error(`${DOC} has no ${START} ... ${END} section to replace`);
      writeFileSync(DOC, `${doc.slice(0, a + START.length)}\n${text}\n${doc.slice(b)}`);
      console.log(`wrote ${path.relative(ROOT, DOC)}`);
    }
  } finally {
    podman.dispose();
  }
}

main().catch((err: Error) => {
  console.error(`measure-image: ${err.message}`);
  process.exit(1);
});
