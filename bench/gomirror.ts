import { imageTuning } from "../test/support/image-tuning";
import path from "node:path";
import { freePort, start, waitUntilUp, type Started } from "./processes";

/** How gomirror runs in the benchmark: a separate node process, like in production. */
export interface Runtime {
  /** What the table says, e.g. "esbuild bundle (minified, as image/dist)". */
  readonly description: string;
  /** node arguments before gomirror's own (`serve`). */
  readonly nodeArgs: readonly string[];
}

const ROOT = path.resolve(__dirname, "..");

interface BuildBundle {
  buildBundle(options: { root: string; outdir: string; minify?: boolean }): Promise<unknown>;
}

/**
 * Bundles the current sources as scripts/bundle.mjs does for the image (scripts/build-bundle.cjs,
 * built from this tree so it is never stale; unminified for profiling); falls back to ts-node in
 * transpile-only mode when esbuild is unavailable.
 */
export async function prepareRuntime(workDir: string, options: { minify: boolean }): Promise<Runtime> {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- a plain CommonJS build script
    const { buildBundle } = require("../scripts/build-bundle.cjs") as BuildBundle;
    const outdir = path.join(workDir, "dist");
    await buildBundle({ root: ROOT, outdir, minify: options.minify });
    return {
      description: options.minify
        ? "esbuild bundle of bin/gomirror.ts (minified, as scripts/bundle.mjs builds image/dist)"
        : "esbuild bundle of bin/gomirror.ts (not minified, so the CPU profile has names)",
      nodeArgs: [path.join(outdir, "gomirror.js")],
    };
  } catch (err) {
    process.stderr.write(`bench: esbuild bundle failed (${String(err)}); running gomirror with ts-node\n`);
    const tsNode = ["-r", "ts-node/register/transpile-only"];
    return {
      description: "ts-node --transpile-only (no bundle: esbuild failed)",
      nodeArgs: [...tsNode, path.join(ROOT, "bin", "gomirror.ts")],
    };
  }
}

export interface GomirrorOptions {
  readonly runtime: Runtime;
  readonly upstream: string;
  readonly storage: string;
  /** GOMIRROR_WORKERS: server processes sharing the port. @default 1 */
  readonly workers?: number;
  /** Write a V8 CPU profile into this directory when the process exits. */
  readonly cpuProfDir?: string;
}

export interface RunningGomirror {
  readonly url: string;
  readonly proc: Started;
}

export async function startGomirror(options: GomirrorOptions): Promise<RunningGomirror> {
  const port = await freePort();
  const profile = options.cpuProfDir ? ["--cpu-prof", `--cpu-prof-dir=${options.cpuProfDir}`] : [];
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    NODE_ENV: "production",
    GOPROXY: options.upstream,
    GOSUMDB: "off",
    GOMIRROR_LISTEN: `127.0.0.1:${port}`,
    GOMIRROR_STORAGE: options.storage,
    GOMIRROR_LOG_LEVEL: "warn",
    ...imageTuning(),
  };
  if (options.workers) env.GOMIRROR_WORKERS = String(options.workers);
  const name = options.workers ? `gomirror (${options.workers} workers)` : "gomirror";
  const proc = start(name, process.execPath, [...profile, ...options.runtime.nodeArgs, "serve"], {
    cwd: ROOT,
    env,
  });
  const url = `http://127.0.0.1:${port}`;
  await waitUntilUp(`${url}/healthz`, proc);
  return { url, proc };
}
