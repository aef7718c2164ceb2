import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg, tmpdir } from "node:os";
import path from "node:path";
import { startStaticUpstream, type StaticUpstream } from "../test/support/upstream";
import { findGo } from "../test/support/tools";
import { removeTree } from "../test/support/gocmd";
import { buildFixtures, urlPath, type BenchFixtures } from "./fixtures";
import { prepareRuntime, startGomirror, type RunningGomirror, type Runtime } from "./gomirror";
import { timeGoModDownload } from "./gomod";
import { runLoad, wrkVersion, type LoadResult } from "./load";
import { findNginx, startNginx, type RunningNginx } from "./nginx";
import { stopAll } from "./processes";
import { renderReport, writeReport, type GoRow, type LoadRow } from "./report";
import { sampleRss } from "./rss";

/**
 * `npm run bench`: gomirror's cached-hit throughput, latency and memory against nginx serving
 * the same files, and the real go command downloading 50 modules through it. Everything runs
 * on 127.0.0.1, bounded in time; every process started is stopped by PID at the end.
 *
 * Settings (environment):
 *   BENCH_SECONDS      seconds per load run (default 10)
 *   BENCH_CONNECTIONS  concurrent keep-alive connections (default 64)
 *   BENCH_THREADS      wrk threads (default 2)
 *   BENCH_GO_RUNS      repetitions of each go command measurement (default 3; 0 skips them)
 *   BENCH_CLUSTER      GOMIRROR_WORKERS of the cluster column (default: nproc; 0 skips it)
 *   BENCH_ONLY         comma list of rows to run: info,mod,zip100k,zip50m (default all)
 *   BENCH_CPU_PROF     directory: gomirror writes a V8 CPU profile of the .info run there
 *   BENCH_OUTPUT       the Markdown file to update (default BENCHMARKS.md at the repo root)
 */

const ROOT = path.resolve(__dirname, "..");

function intEnv(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new Error(`${name}=${JSON.stringify(raw)} is not a whole number in ${min}..${max}`);
  }
  return n;
}

const settings = {
  seconds: intEnv("BENCH_SECONDS", 10, 1, 120),
  connections: intEnv("BENCH_CONNECTIONS", 64, 1, 1024),
  threads: intEnv("BENCH_THREADS", 2, 1, 16),
  goRuns: intEnv("BENCH_GO_RUNS", 3, 0, 10),
  cluster: intEnv("BENCH_CLUSTER", availableParallelism(), 0, 16),
  only: (process.env.BENCH_ONLY ?? "info,mod,zip100k,zip50m").split(",").map((s) => s.trim()),
  cpuProfDir: process.env.BENCH_CPU_PROF ? path.resolve(process.env.BENCH_CPU_PROF) : undefined,
  output: path.resolve(ROOT, process.env.BENCH_OUTPUT ?? "BENCHMARKS.md"),
};

const TARGET_SMALL_RPS = 30_000;

function log(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}

function toolVersion(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 5000 })
      .trim()
      .split("\n")[0];
  } catch (err) {
    const e = err as { stderr?: string };
    return (e.stderr ?? "").trim().split("\n")[0] || "unknown";
  }
}

async function bodyHash(url: string): Promise<{ status: number; sha256: string; bytes: number }> {
  const res = await fetch(url);
  const data = Buffer.from(await res.arrayBuffer());
  return { status: res.status, sha256: createHash("sha256").update(data).digest("hex"), bytes: data.length };
}

/** Fills gomirror's cache with every file measured and checks nginx serves the same bytes. */
async function warmAndCompare(
  gm: RunningGomirror,
  nginx: RunningNginx | undefined,
  paths: string[],
): Promise<void> {
  for (const p of paths) {
    const first = await bodyHash(gm.url + p);
    if (first.status !== 200) throw new Error(`gomirror answered ${first.status} for ${p} while warming up`);
    const hit = await bodyHash(gm.url + p);
    if (hit.sha256 !== first.sha256) throw new Error(`gomirror's cached ${p} differs from its first answer`);
    if (nginx) {
      const ref = await bodyHash(nginx.url + p);
      if (ref.status !== 200 || ref.sha256 !== hit.sha256) {
        throw new Error(`nginx answered ${ref.status} with other bytes than gomirror for ${p}`);
      }
    }
  }
}

/** A row while it is being measured (the cluster column is filled in last). */
interface MeasuredRow {
  gomirror: LoadResult;
  nginx?: LoadResult;
  cluster?: LoadResult;
  load: { gomirror: number; nginx?: number; cluster?: number };
}

interface Target {
  readonly key: string;
  readonly what: string;
  readonly path: string;
  readonly target?: number;
  readonly timeoutSeconds: number;
}

async function measure(
  url: string,
  t: Target,
  workDir: string,
): Promise<{ result: LoadResult; load: number }> {
  const load = loadavg()[0];
  log(`${t.what} at ${url} (load ${load.toFixed(1)})`);
  const result = await runLoad(workDir, {
    url: url + t.path,
    connections: settings.connections,
    threads: settings.threads,
    seconds: settings.seconds,
    timeoutSeconds: t.timeoutSeconds,
  });
  log(
    `  ${Math.round(result.requestsPerSecond)} req/s, p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms, errors ${result.errors}`,
  );
  return { result, load };
}

async function goRuns(
  fx: BenchFixtures,
  upstream: StaticUpstream,
  runtime: Runtime,
  workDir: string,
): Promise<{ cold: number[]; warm: number[] }> {
  const cold: number[] = [];
  const warm: number[] = [];
  for (let i = 0; i < settings.goRuns; i++) {
    const gm = await startGomirror({
      runtime,
      upstream: upstream.url,
      storage: path.join(workDir, `cold-${i}`),
    });
    try {
      cold.push(await timeGoModDownload(gm.url, fx.many));
      warm.push(await timeGoModDownload(gm.url, fx.many));
      log(`go mod download run ${i + 1}: cold ${cold[i].toFixed(2)} s, warm ${warm[i].toFixed(2)} s`);
    } finally {
      await gm.proc.stop();
    }
  }
  return { cold, warm };
}

async function main(): Promise<void> {
  const wrk = wrkVersion();
  if (!wrk) {
    throw new Error(
      "wrk is not installed: install the Debian package (apt-get install -y wrk), then run again",
    );
  }
  if (!findGo()) throw new Error("go >= 1.23 is needed to build the fixtures (see .ci/install-system.sh)");
  const nginxBin = findNginx();
  if (!nginxBin) log("nginx is not installed: running without the reference column");

  const workDir = mkdtempSync(path.join(tmpdir(), "gomirror-bench-"));
  scratch = workDir;
  let upstream: StaticUpstream | undefined;
  const notes: string[] = [];
  try {
    log(`fixtures in ${workDir}`);
    const fx = buildFixtures(workDir);
    upstream = await startStaticUpstream({ root: fx.root });
    const runtime = await prepareRuntime(workDir, { minify: !settings.cpuProfDir });
    log(`gomirror runs as: ${runtime.description}`);

    // The go command first, while nothing else loads the machine.
    const goRows: GoRow[] = [];
    if (settings.goRuns > 0) {
      const { cold, warm } = await goRuns(fx, upstream, runtime, workDir);
      goRows.push({ what: "gomirror, cold (empty cache, static upstream on loopback)", seconds: cold });
      goRows.push({ what: "gomirror, warm (cache filled)", seconds: warm });
    }

    const cache = path.join(workDir, "cache");
    const gm = await startGomirror({
      runtime,
      upstream: upstream.url,
      storage: cache,
      cpuProfDir: settings.cpuProfDir,
    });
    log(`gomirror pid ${gm.proc.pid} at ${gm.url}`);
    // Fill the cache first: nginx serves the directory gomirror has written.
    const benchPaths = [
      urlPath(fx.small, "info"),
      urlPath(fx.small, "mod"),
      urlPath(fx.small, "zip"),
      urlPath(fx.large, "zip"),
    ];
    const goPaths = fx.many.flatMap((m) => [urlPath(m, "info"), urlPath(m, "mod"), urlPath(m, "zip")]);
    await warmAndCompare(gm, undefined, [...benchPaths, ...goPaths]);
    const expectedLarge = createHash("sha256").update(readFileSync(fx.large.zipFile)).digest("hex");
    if ((await bodyHash(gm.url + urlPath(fx.large, "zip"))).sha256 !== expectedLarge) {
      throw new Error("gomirror's cached 50 MB zip differs from the upstream's file");
    }
    const nginx = nginxBin ? await startNginx(nginxBin, path.join(workDir, "nginx"), cache) : undefined;
    if (nginx) {
      log(`nginx pid ${nginx.proc.pid} at ${nginx.url}, root ${cache}`);
      await warmAndCompare(gm, nginx, benchPaths);
    }

    if (nginx && settings.goRuns > 0) {
      const seconds: number[] = [];
      for (let i = 0; i < settings.goRuns; i++) seconds.push(await timeGoModDownload(nginx.url, fx.many));
      goRows.push({ what: "nginx over gomirror's cache directory, warm (reference)", seconds });
    }

    const targets: Target[] = [
      { key: "info", what: ".info", path: benchPaths[0], target: TARGET_SMALL_RPS, timeoutSeconds: 10 },
      { key: "mod", what: ".mod", path: benchPaths[1], target: TARGET_SMALL_RPS, timeoutSeconds: 10 },
      {
        key: "zip100k",
        what: `${(fx.small.zipSize / 1000).toFixed(0)} KB .zip`,
        path: benchPaths[2],
        timeoutSeconds: 10,
      },
      {
        key: "zip50m",
        what: `${(fx.large.zipSize / 1e6).toFixed(0)} MB .zip`,
        path: benchPaths[3],
        timeoutSeconds: 60,
      },
    ].filter((t) => settings.only.includes(t.key));

    const rows: { t: Target; row: MeasuredRow }[] = [];
    let rssPeakBytes: number | undefined;
    let rssSamples: number | undefined;
    for (const t of targets) {
      const sampler = t.key === "zip50m" ? sampleRss(gm.proc.pid) : undefined;
      const g = await measure(gm.url, t, workDir);
      if (sampler) ({ peak: rssPeakBytes, samples: rssSamples } = sampler.stop());
      const n = nginx ? await measure(nginx.url, t, workDir) : undefined;
      rows.push({
        t,
        row: { gomirror: g.result, nginx: n?.result, load: { gomirror: g.load, nginx: n?.load } },
      });
    }
    await gm.proc.stop();
    if (settings.cpuProfDir)
      notes.push(`CPU profile of the single-process run written to ${settings.cpuProfDir}.`);

    let clusterRssPeakBytes: number | undefined;
    if (settings.cluster > 0) {
      const cl = await startGomirror({
        runtime,
        upstream: upstream.url,
        storage: cache,
        workers: settings.cluster,
      });
      try {
        for (const { t, row } of rows) {
          const sampler = t.key === "zip50m" ? sampleRss(cl.proc.pid) : undefined;
          const c = await measure(cl.url, t, workDir);
          if (sampler) clusterRssPeakBytes = sampler.stop().peak;
          row.cluster = c.result;
          row.load.cluster = c.load;
        }
      } finally {
        await cl.proc.stop();
      }
      notes.push(
        `"gomirror cluster" is gomirror with GOMIRROR_WORKERS=${settings.cluster}: node:cluster workers ` +
          "sharing the listening socket.",
      );
    }
    if (nginx) await nginx.proc.stop();

    notes.push(
      `wrk: ${settings.connections} connections, ${settings.threads} threads, ${settings.seconds} s per run; ` +
        "wrk, gomirror and nginx share the same cores, so each server gets what wrk leaves.",
    );
    const loadRows: LoadRow[] = rows.map(({ t, row }) => ({
      what: t.what,
      gomirror: row.gomirror,
      nginx: row.nginx,
      cluster: row.cluster,
      load: row.load,
      target: t.target,
    }));
    const markdown = renderReport({
      command:
        process.env.npm_lifecycle_event === "bench"
          ? "npm run bench"
          : `ts-node ${path.relative(ROOT, __filename)}`,
      date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
      machine: [
        `nproc ${availableParallelism()} (${cpus()[0]?.model ?? "unknown CPU"})`,
        `node ${process.version}`,
        toolVersion(findGo() as string, ["version"]),
        nginx?.version ?? "nginx: not installed",
        wrk,
        `load average at the end: ${loadavg()
          .map((l) => l.toFixed(2))
          .join(", ")} (the machine is shared with other jobs)`,
      ],
      gomirrorRuntime: runtime.description,
      loadRows,
      rssPeakBytes,
      rssSamples,
      clusterRssPeakBytes,
      goRows,
      notes,
    });
    process.stdout.write(`${markdown}\n`);
    await writeReport(settings.output, markdown);
    log(`wrote ${settings.output}`);
  } finally {
    await stopAll();
    await upstream?.close();
    if (!process.env.BENCH_KEEP) removeTree(workDir);
    scratch = undefined;
  }
}

/** The scratch directory, removed also when the run is interrupted. */
let scratch: string | undefined;

let interrupted = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (interrupted) return;
    interrupted = true;
    log(`${signal}: stopping every process started`);
    void stopAll().finally(() => {
      if (scratch && !process.env.BENCH_KEEP) removeTree(scratch);
      process.exit(130);
    });
  });
}

main().catch(async (err: unknown) => {
  await stopAll();
  process.stderr.write(`bench failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
