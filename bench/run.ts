import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { availableParallelism, cpus, loadavg, tmpdir } from "node:os";
import path from "node:path";
import { startStaticUpstream, type StaticUpstream } from "../test/support/upstream";
import { findGo } from "../test/support/tools";
import { removeTree } from "../test/support/gocmd";
import { buildFixtures, urlPath, type BenchFixtures } from "./fixtures";
import { prepareRuntime, startGomirror, type Runtime } from "./gomirror";
import { timeGoModDownload } from "./gomod";
import { findGoproxy, startGoproxy, type GoproxyBinary } from "./goproxy";
import { runLoad, wrkVersion } from "./load";
import { findNginx, startNginx } from "./nginx";
import { prepareNodeFloor, startNodeFloor } from "./node-floor";
import { stopAll, type Started } from "./processes";
import { startLossyRelay, type LinkProfile } from "./relay";
import {
  renderReport,
  writeReport,
  type GoRow,
  type HitRow,
  type Measured,
  type RssRow,
  type ServerName,
  type HitCell,
} from "./report";
import { cpuSecondsOf, rssOf, sampleRss } from "./rss";

/**
 * `npm run bench`: gomirror's cached hits, memory and the go command through it, side by side
 * with nginx serving the same files (the physical limit), goproxy/goproxy (another Go module
 * proxy, when its binary is there) and a minimal node:http file server on the same files (what
 * the runtime costs before gomirror adds anything). Everything runs on 127.0.0.1, bounded in
 * time; every process started is stopped by PID at the end.
 *
 * The machine may be shared: the 1-minute load average is recorded before every measurement;
 * the benchmark waits for it to drop below BENCH_MAX_LOAD first, and runs a measurement again
 * when it was still above (the least loaded run is kept, the report says so).
 *
 * Settings (environment):
 *   BENCH_SECONDS      seconds per load run (default 10)
 *   BENCH_WARMUP       seconds of an unmeasured run of the same request before each (default 2)
 *   BENCH_CONNECTIONS  connections of the request-rate runs (default 64)
 *   BENCH_THREADS      wrk threads (default 2)
 *   BENCH_GO_RUNS      repetitions of each go command measurement on loopback (default 3)
 *   BENCH_NET_RUNS     repetitions of each bad-network measurement (default 1)
 *   BENCH_CLUSTER      GOMIRROR_WORKERS of an extra cluster column (default 0: none)
 *   BENCH_ONLY         comma list of parts: info,mod,zip100k,zip50m,zip500m,go,net (default all)
 *   BENCH_GOPROXY_BIN  the goproxy binary (default: `goproxy` on PATH; none: no column)
 *   BENCH_MAX_LOAD     1-minute load above which a measurement waits and is repeated
 *                      (default 0.75 per CPU)
 *   BENCH_COOLDOWN     seconds to wait for the load to drop before a measurement (default 60)
 *   BENCH_RETRIES      extra runs of a measurement taken above BENCH_MAX_LOAD (default 2)
 *   BENCH_CPU_PROF     directory: gomirror writes a V8 CPU profile of its cached-hit runs there
 *   BENCH_KEEP         keep the temporary directory
 *   BENCH_OUTPUT       the Markdown file to update (default BENCHMARKS.md at the repo root)
 */

const ROOT = path.resolve(__dirname, "..");

function numberEnv(name: string, fallback: number, min: number, max: number, integer = true): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min || n > max) {
    throw new Error(
      `${name}=${JSON.stringify(raw)} is not a ${integer ? "whole " : ""}number in ${min}..${max}`,
    );
  }
  return n;
}

const ALL_PARTS = ["info", "mod", "zip100k", "zip50m", "zip500m", "go", "net"];

const settings = {
  seconds: numberEnv("BENCH_SECONDS", 10, 1, 120),
  warmupSeconds: numberEnv("BENCH_WARMUP", 2, 1, 60),
  connections: numberEnv("BENCH_CONNECTIONS", 64, 1, 1024),
  threads: numberEnv("BENCH_THREADS", 2, 1, 16),
  goRuns: numberEnv("BENCH_GO_RUNS", 3, 1, 10),
  netRuns: numberEnv("BENCH_NET_RUNS", 1, 1, 10),
  cluster: numberEnv("BENCH_CLUSTER", 0, 0, 16),
  only: new Set((process.env.BENCH_ONLY ?? ALL_PARTS.join(",")).split(",").map((s) => s.trim())),
  maxLoad: numberEnv("BENCH_MAX_LOAD", availableParallelism() * 0.75, 0, 1000, false),
  cooldownSeconds: numberEnv("BENCH_COOLDOWN", 60, 0, 3600),
  retries: numberEnv("BENCH_RETRIES", 2, 0, 10),
  cpuProfDir: process.env.BENCH_CPU_PROF ? path.resolve(process.env.BENCH_CPU_PROF) : undefined,
  output: path.resolve(ROOT, process.env.BENCH_OUTPUT ?? "BENCHMARKS.md"),
};
for (const part of settings.only) {
  if (!ALL_PARTS.includes(part))
    throw new Error(`BENCH_ONLY: unknown part ${part} (known: ${ALL_PARTS.join(",")})`);
}

/** The bad networks of the cold rows (issue 13): added round trip and segment loss. */
const NETWORKS: readonly LinkProfile[] = [
  { rttMs: 100, loss: 0.01 },
  { rttMs: 100, loss: 0.05 },
  { rttMs: 300, loss: 0.01 },
  { rttMs: 300, loss: 0.05 },
];

/** Time for a server to settle after its warm-up before its idle memory is read. */
const IDLE_SETTLE_MS = 2000;

function log(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function toolVersion(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 5000 })
      .trim()
      .split("\n")[0]!;
  } catch (err) {
    const e = err as { stderr?: string };
    return (e.stderr ?? "").trim().split("\n")[0] || "unknown";
  }
}

/** Waits (at most BENCH_COOLDOWN) for the 1-minute load to drop to BENCH_MAX_LOAD; returns it. */
async function coolDown(): Promise<number> {
  const deadline = Date.now() + settings.cooldownSeconds * 1000;
  let said = false;
  while (loadavg()[0]! > settings.maxLoad && Date.now() < deadline) {
    if (!said)
      log(`  1-minute load ${loadavg()[0]!.toFixed(1)} > ${settings.maxLoad}: waiting for it to drop`);
    said = true;
    await sleep(2000);
  }
  return loadavg()[0]!;
}

/**
 * Runs a measurement with the load recorded before it; repeats it (up to BENCH_RETRIES times)
 * while that load was above BENCH_MAX_LOAD, keeping the least loaded run.
 */
async function calmly<T>(what: string, run: () => Promise<T>): Promise<Measured<T>> {
  let best: { value: T; load: number } | undefined;
  let attempts = 0;
  for (;;) {
    const load = await coolDown();
    attempts++;
    log(`${what} (load ${load.toFixed(1)})`);
    const value = await run();
    if (!best || load < best.load) best = { value, load };
    if (load <= settings.maxLoad || attempts > settings.retries) break;
    log(`  load ${load.toFixed(1)} was above ${settings.maxLoad}: running it again`);
  }
  return { ...best, attempts, loaded: best.load > settings.maxLoad };
}

/** Status and sha256 of a body, hashed as it streams (a 500 MB zip is never held whole). */
async function bodyHash(url: string): Promise<{ status: number; sha256: string }> {
  const res = await fetch(url);
  const hash = createHash("sha256");
  if (res.body) for await (const chunk of res.body) hash.update(chunk);
  return { status: res.status, sha256: hash.digest("hex") };
}

/** A memory reading taken now, with the load it was taken at. */
function rssNow(pid: number): Measured<number> {
  const load = loadavg()[0]!;
  return { value: rssOf(pid), load, attempts: 1, loaded: load > settings.maxLoad };
}

/** Asks `server` for every path twice (fill, then hit) and checks it serves the reference bytes. */
async function warm(name: string, url: string, paths: readonly string[], reference: Map<string, string>) {
  for (const p of paths) {
    for (let i = 0; i < 2; i++) {
      const got = await bodyHash(url + p);
      if (got.status !== 200) throw new Error(`${name} answered ${got.status} for ${p} while warming up`);
      const want = reference.get(p);
      if (want === undefined) reference.set(p, got.sha256);
      else if (want !== got.sha256) throw new Error(`${name} served other bytes than the others for ${p}`);
    }
  }
}

interface HitServer {
  readonly name: ServerName;
  readonly url: string;
  readonly proc: Started;
}

interface Target {
  readonly key: string;
  readonly what: string;
  readonly path: string;
  readonly connections: number;
  readonly unit: "req/s" | "MB/s";
  readonly timeoutSeconds: number;
}

async function measureHits(server: HitServer, t: Target, workDir: string): Promise<Measured<HitCell>> {
  // Not measured: lets a JIT (gomirror's V8) settle on this request, as it would in service.
  await runLoad(workDir, {
    url: server.url + t.path,
    connections: t.connections,
    threads: settings.threads,
    seconds: settings.warmupSeconds,
    timeoutSeconds: t.timeoutSeconds,
  });
  return calmly(`${t.what} from ${server.name}`, async () => {
    const cpu0 = cpuSecondsOf(server.proc.pid);
    const result = await runLoad(workDir, {
      url: server.url + t.path,
      connections: t.connections,
      threads: settings.threads,
      seconds: settings.seconds,
      timeoutSeconds: t.timeoutSeconds,
    });
    const cpuSeconds = cpuSecondsOf(server.proc.pid) - cpu0;
    log(
      `  ${Math.round(result.requestsPerSecond)} req/s, ${Math.round(result.bytesPerSecond / 1e6)} MB/s, ` +
        `p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms, errors ${result.errors}, ${cpuSeconds.toFixed(1)} CPU s`,
    );
    return { result, cpuSeconds };
  });
}

/** Peak RSS of `server` while `connections` clients stream `p` for BENCH_SECONDS. */
async function measureStreamingRss(server: HitServer, p: string, what: string, workDir: string) {
  return calmly(`RSS of ${server.name} while ${settings.connections} clients stream ${what}`, async () => {
    const sampler = sampleRss(server.proc.pid);
    await runLoad(workDir, {
      url: server.url + p,
      connections: settings.connections,
      threads: settings.threads,
      seconds: settings.seconds,
      timeoutSeconds: 120,
    });
    const { peak } = sampler.stop();
    log(`  peak ${(peak / 1e6).toFixed(0)} MB`);
    return peak;
  });
}

interface GoColumns {
  direct?: number[];
  nginx?: number[];
  goproxy?: number[];
  gomirror?: number[];
}

async function goRows(
  fx: BenchFixtures,
  upstream: StaticUpstream,
  runtime: Runtime,
  goproxy: GoproxyBinary | undefined,
  workDir: string,
): Promise<GoRow[]> {
  const rows: GoRow[] = [];
  let n = 0;
  const scratch = () => path.join(workDir, `go-${++n}`);

  /**
   * Cold (and optionally warm) downloads through a fresh server of each kind. `via` gives each
   * measurement its way to the upstream (the same for every kind within a run) and ends it.
   */
  async function coldAndWarm(
    runs: number,
    withWarm: boolean,
    via: <T>(run: number, measure: (upstreamUrl: string) => Promise<T>) => Promise<T>,
  ) {
    const cold: GoColumns = { direct: [], gomirror: [], ...(goproxy ? { goproxy: [] } : {}) };
    const warm: GoColumns = { gomirror: [], ...(goproxy ? { goproxy: [] } : {}) };
    const loads: number[] = [];
    for (let i = 0; i < runs; i++) {
      const direct = await via(i, (up) =>
        calmly(`go mod download straight from the upstream`, () => timeGoModDownload(up, fx.many)),
      );
      cold.direct!.push(direct.value);
      loads.push(direct.load);
      await via(i, async (up) => {
        const gm = await startGomirror({ runtime, upstream: up, storage: scratch() });
        try {
          const c = await calmly("go mod download through gomirror, cold", () =>
            timeGoModDownload(gm.url, fx.many),
          );
          cold.gomirror!.push(c.value);
          loads.push(c.load);
          if (withWarm) warm.gomirror!.push(await timeGoModDownload(gm.url, fx.many));
        } finally {
          await gm.proc.stop();
        }
      });
      if (goproxy) {
        await via(i, async (up) => {
          const gp = await startGoproxy(goproxy, up, scratch());
          try {
            const c = await calmly("go mod download through goproxy, cold", () =>
              timeGoModDownload(gp.url, fx.many),
            );
            cold.goproxy!.push(c.value);
            loads.push(c.load);
            if (withWarm) warm.goproxy!.push(await timeGoModDownload(gp.url, fx.many));
          } finally {
            await gp.proc.stop();
          }
        });
      }
      log(
        `  run ${i + 1}: direct ${direct.value.toFixed(2)} s, gomirror ${cold.gomirror!.at(-1)!.toFixed(2)} s`,
      );
    }
    return { cold, warm, loads };
  }

  if (settings.only.has("go")) {
    const { cold, warm, loads } = await coldAndWarm(settings.goRuns, true, (_run, measure) =>
      measure(upstream.url),
    );
    rows.push({ what: "cold (empty cache), upstream on loopback", kind: "cold", columns: cold, loads });
    rows.push({ what: "warm (cache filled)", kind: "warm", columns: warm, loads: [] });
  }
  if (settings.only.has("net")) {
    for (const [p, profile] of NETWORKS.entries()) {
      const total = { connections: 0, synsLost: 0, segments: 0, segmentsLost: 0 };
      // A fresh relay per measurement, seeded by network and run: every kind of client meets
      // the same sequence of losses.
      const { cold, loads } = await coldAndWarm(settings.netRuns, false, async (run, measure) => {
        const relay = await startLossyRelay(upstream.url, profile, 1000 * (p + 1) + run);
        try {
          return await measure(relay.url);
        } finally {
          await relay.close();
          for (const k of Object.keys(total) as (keyof typeof total)[]) total[k] += relay.stats[k];
        }
      });
      rows.push({
        what: `cold, upstream +${profile.rttMs} ms round trip, ${profile.loss * 100}% loss`,
        kind: "network",
        columns: cold,
        loads,
        note: `${total.connections} connections; ${total.synsLost} SYNs and ${total.segmentsLost} of ${total.segments} segments lost`,
      });
    }
  }
  return rows;
}

async function main(): Promise<void> {
  const wrk = wrkVersion();
  if (!wrk) throw new Error("wrk is not installed: apt-get install -y wrk, then run again");
  const go = findGo();
  if (!go) throw new Error("go >= 1.23 is needed to build the fixtures (see .ci/install-system.sh)");
  const nginxBin = findNginx();
  if (!nginxBin) log("nginx is not installed: running without the physical-limit column");
  const goproxyBin = findGoproxy();
  if (!goproxyBin) log("no goproxy binary (BENCH_GOPROXY_BIN, or goproxy on PATH): no goproxy column");

  const workDir = mkdtempSync(path.join(tmpdir(), "gomirror-bench-"));
  scratch = workDir;
  let upstream: StaticUpstream | undefined;
  const notes: string[] = [];
  try {
    log(`fixtures in ${workDir}`);
    const fx = buildFixtures(workDir, { huge: settings.only.has("zip500m") });
    upstream = await startStaticUpstream({ root: fx.root });
    const runtime = await prepareRuntime(workDir, { minify: !settings.cpuProfDir });
    const floor = await prepareNodeFloor(workDir);
    log(`gomirror runs as: ${runtime.description}`);

    // The go command first, while nothing else runs.
    const go_ = await goRows(fx, upstream, runtime, goproxyBin, workDir);

    const benchPaths = {
      info: urlPath(fx.small, "info"),
      mod: urlPath(fx.small, "mod"),
      zip100k: urlPath(fx.small, "zip"),
      zip50m: urlPath(fx.large, "zip"),
      zip500m: fx.huge ? urlPath(fx.huge, "zip") : undefined,
    };
    const goPaths = fx.many.flatMap((m) => [urlPath(m, "info"), urlPath(m, "mod"), urlPath(m, "zip")]);
    const warmPaths = [
      benchPaths.info,
      benchPaths.mod,
      benchPaths.zip100k,
      benchPaths.zip50m,
      ...(benchPaths.zip500m ? [benchPaths.zip500m] : []),
      ...goPaths,
    ];
    const reference = new Map<string, string>();

    // Each server is warmed through itself (its cache filled from the upstream, then a hit of
    // every file) and measured idle. gomirror, goproxy and the node:http server are then
    // restarted on their filled caches, as a long-running mirror is: the cached-hit runs measure
    // those processes.
    const atStart: RssRow["cells"] = {};
    const idle: RssRow["cells"] = {};
    const restarted: RssRow["cells"] = {};
    const cache = path.join(workDir, "cache");
    const goproxyDir = path.join(workDir, "goproxy");
    let gm = await startGomirror({ runtime, upstream: upstream.url, storage: cache });
    atStart.gomirror = rssNow(gm.proc.pid);
    await warm("gomirror", gm.url, warmPaths, reference);
    const nginx = nginxBin ? await startNginx(nginxBin, path.join(workDir, "nginx"), cache) : undefined;
    let goproxy = goproxyBin ? await startGoproxy(goproxyBin, upstream.url, goproxyDir) : undefined;
    let node = floor ? await startNodeFloor(floor, cache) : undefined;
    if (node) {
      atStart.node = rssNow(node.proc.pid);
      await warm("node:http", node.url, warmPaths, reference);
    }
    if (nginx) {
      atStart.nginx = rssNow(nginx.proc.pid);
      await warm("nginx", nginx.url, warmPaths, reference);
    }
    if (goproxy) {
      atStart.goproxy = rssNow(goproxy.proc.pid);
      await warm("goproxy", goproxy.url, warmPaths, reference);
    }
    await sleep(IDLE_SETTLE_MS);
    if (nginx) idle.nginx = rssNow(nginx.proc.pid);
    if (goproxy) idle.goproxy = rssNow(goproxy.proc.pid);
    if (node) idle.node = rssNow(node.proc.pid);
    idle.gomirror = rssNow(gm.proc.pid);

    await gm.proc.stop();
    gm = await startGomirror({
      runtime,
      upstream: upstream.url,
      storage: cache,
      cpuProfDir: settings.cpuProfDir,
    });
    await warm("gomirror", gm.url, warmPaths, reference);
    if (goproxy && goproxyBin) {
      await goproxy.proc.stop();
      goproxy = await startGoproxy(goproxyBin, upstream.url, goproxyDir);
      await warm("goproxy", goproxy.url, warmPaths, reference);
    }
    if (node && floor) {
      await node.proc.stop();
      node = await startNodeFloor(floor, cache);
      await warm("node:http", node.url, warmPaths, reference);
    }
    await sleep(IDLE_SETTLE_MS);
    const servers: HitServer[] = [];
    if (nginx) servers.push({ name: "nginx", url: nginx.url, proc: nginx.proc });
    if (goproxy) servers.push({ name: "goproxy", url: goproxy.url, proc: goproxy.proc });
    if (node) servers.push({ name: "node", url: node.url, proc: node.proc });
    servers.push({ name: "gomirror", url: gm.url, proc: gm.proc });
    for (const s of servers) restarted[s.name] = rssNow(s.proc.pid);

    if (nginx && settings.only.has("go")) {
      const warmRow = go_.find((r) => r.kind === "warm");
      const seconds: number[] = [];
      for (let i = 0; i < settings.goRuns; i++) seconds.push(await timeGoModDownload(nginx.url, fx.many));
      if (warmRow) warmRow.columns.nginx = seconds;
    }

    const candidates: Target[] = [
      {
        key: "info",
        what: ".info",
        path: benchPaths.info,
        connections: settings.connections,
        unit: "req/s",
        timeoutSeconds: 10,
      },
      {
        key: "mod",
        what: ".mod",
        path: benchPaths.mod,
        connections: settings.connections,
        unit: "req/s",
        timeoutSeconds: 10,
      },
      {
        key: "zip100k",
        what: `${(fx.small.zipSize / 1000).toFixed(0)} KB .zip`,
        path: benchPaths.zip100k,
        connections: settings.connections,
        unit: "req/s",
        timeoutSeconds: 10,
      },
      {
        key: "zip50m",
        what: `${(fx.large.zipSize / 1e6).toFixed(0)} MB .zip (8 connections)`,
        path: benchPaths.zip50m,
        connections: 8,
        unit: "MB/s",
        timeoutSeconds: 60,
      },
    ];
    const targets = candidates.filter((t) => settings.only.has(t.key));

    const hits: HitRow[] = [];
    for (const t of targets) {
      const cells: Partial<Record<ServerName, Measured<HitCell>>> = {};
      for (const s of servers) cells[s.name] = await measureHits(s, t, workDir);
      hits.push({ key: t.key, what: t.what, unit: t.unit, cells });
    }

    const rss: RssRow[] = [
      { what: "RSS at start, before any request", cells: atStart, key: "start" },
      {
        what: "RSS idle after warm-up (every file fetched through the server, then a hit)",
        cells: idle,
        key: "idle",
      },
      {
        what: "RSS idle, restarted on the filled cache, after a hit of every file (nginx: not restarted)",
        cells: restarted,
        key: "restarted",
      },
    ];
    if (settings.only.has("zip50m")) {
      const cells: RssRow["cells"] = {};
      for (const s of servers)
        cells[s.name] = await measureStreamingRss(s, benchPaths.zip50m, "the 50 MB zip", workDir);
      rss.push({
        what: `RSS, ${settings.connections} clients streaming the 50 MB zip`,
        cells,
        key: "stream50m",
      });
    }
    if (benchPaths.zip500m) {
      const cells: RssRow["cells"] = {};
      for (const s of servers)
        cells[s.name] = await measureStreamingRss(s, benchPaths.zip500m, "the 500 MB zip", workDir);
      rss.push({
        what: `RSS, ${settings.connections} clients streaming the 500 MB zip`,
        cells,
        key: "stream500m",
      });
    }
    await gm.proc.stop();
    if (settings.cpuProfDir)
      notes.push(`CPU profile of gomirror's cached-hit runs written to ${settings.cpuProfDir}.`);

    let cluster: HitRow[] | undefined;
    if (settings.cluster > 0) {
      const cl = await startGomirror({
        runtime,
        upstream: upstream.url,
        storage: cache,
        workers: settings.cluster,
      });
      try {
        cluster = [];
        for (const t of targets) {
          const m = await measureHits({ name: "gomirror", url: cl.url, proc: cl.proc }, t, workDir);
          cluster.push({ key: t.key, what: t.what, unit: t.unit, cells: { gomirror: m } });
        }
      } finally {
        await cl.proc.stop();
      }
    }
    await Promise.all([nginx?.proc.stop(), goproxy?.proc.stop(), node?.proc.stop()]);

    notes.push(
      `wrk: ${settings.connections} connections (8 for the 50 MB zip), ${settings.threads} threads, ` +
        `${settings.seconds} s per run; wrk and the servers share the same ${availableParallelism()} cores.`,
      `A measurement waits (up to ${settings.cooldownSeconds} s) for the 1-minute load average to drop to ` +
        `${settings.maxLoad} and runs again (up to ${settings.retries} times) when it was above; the least loaded ` +
        "run is kept. Figures taken above that load are marked *loaded*.",
    );
    const markdown = renderReport({
      command:
        process.env.npm_lifecycle_event === "bench"
          ? "npm run bench"
          : `ts-node ${path.relative(ROOT, __filename)}`,
      date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
      machine: [
        `nproc ${availableParallelism()} (${cpus()[0]?.model ?? "unknown CPU"})`,
        `node ${process.version}`,
        toolVersion(go, ["version"]),
        nginx?.version ?? "nginx: not installed",
        goproxyBin
          ? `goproxy/goproxy: ${goproxyBin.version} (${goproxyBin.path})`
          : "goproxy/goproxy: not given",
        wrk,
        `load average at the end: ${loadavg()
          .map((l) => l.toFixed(2))
          .join(", ")}`,
      ],
      gomirrorRuntime: runtime.description,
      hits,
      rss,
      go: go_,
      cluster: cluster && { workers: settings.cluster, rows: cluster },
      maxLoad: settings.maxLoad,
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
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
