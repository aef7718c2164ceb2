import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import path from "node:path";
import { buildMonorepo, type Monorepo, packBytes } from "../test/support/gitbig";
import { directEnv, goEnv } from "../test/support/gitcompare";
import { bundleGomirror, type ProxyProcess, sampleMemory, startProxyProcess } from "../test/support/gitproxy";
import { GIT_HOST } from "../test/support/gitrepos";
import { type GitServer, startGitServer } from "../test/support/gitserver";
import { removeTree } from "../test/support/gocmd";
import { findGo } from "../test/support/tools";
import { writeMarkedSection } from "./report";

/**
 * `npm run bench:monorepo`: private modules from a monorepo at scale, through gomirror side by
 * side with the go command's own direct fetch (GOPROXY=direct) of the same versions. The
 * repository is generated once (cached under node_modules/.cache): 1 GiB of incompressible
 * history, 5,000 tags over 20 nested modules, served by `git http-backend` on 127.0.0.1.
 *
 * For `list`, `.info`, `.zip` and the `.info` of an untagged commit (whose pseudo-version needs
 * the whole history), it times:
 * - the go command, direct, cold (fresh GOPATH) and warm (the same GOPATH again);
 * - gomirror over HTTP, cold (a fresh process, storage and git cache) and warm (asked again);
 * - the go command through gomirror, both cold;
 * and samples the RSS of gomirror and of the git processes it runs.
 *
 * Settings (environment): BENCH_RUNS (3), BENCH_HISTORY_RUNS (1), BENCH_MONOREPO_MIB (1024),
 * BENCH_MONOREPO_TAGS (5000), BENCH_MONOREPO_MODULES (20), BENCH_OUTPUT (BENCHMARKS.md).
 * `--write` puts the table into BENCHMARKS.md between the bench-monorepo markers.
 */

const ROOT = path.resolve(__dirname, "..");
const START = "<!-- bench-monorepo:begin (written by npm run bench:monorepo -- --write) -->";
const END = "<!-- bench-monorepo:end -->";

function intEnv(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new Error(`${name}=${raw}: want a whole number in ${min}..${max}`);
  return n;
}

const settings = {
  runs: intEnv("BENCH_RUNS", 3, 1, 20),
  historyRuns: intEnv("BENCH_HISTORY_RUNS", 1, 0, 10),
  mib: intEnv("BENCH_MONOREPO_MIB", 1024, 1, 16384),
  tags: intEnv("BENCH_MONOREPO_TAGS", 5000, 20, 100_000),
  modules: intEnv("BENCH_MONOREPO_MODULES", 20, 1, 100),
  output: path.resolve(ROOT, process.env.BENCH_OUTPUT ?? "BENCHMARKS.md"),
};

const log = (m: string) => process.stderr.write(`bench:monorepo: ${m}\n`);

interface Operation {
  readonly name: string;
  /** The go command's arguments for the same question. */
  readonly go: readonly string[];
  /** gomirror's URL path. */
  readonly http: string;
  readonly runs: number;
}

interface Row {
  readonly op: Operation;
  goCold: number[];
  goWarm: number[];
  mirrorCold: number[];
  mirrorWarm: number[];
  goViaMirror: number[];
}

/** Runs the go command; its wall time in ms. Throws with its output when it fails. */
async function timeGo(env: NodeJS.ProcessEnv, cwd: string, args: readonly string[]): Promise<number> {
  const started = performance.now();
  const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
    const child = spawn(findGo() as string, [...args], { env, cwd, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (b: Buffer) => (out = (out + b.toString()).slice(-4000)));
    child.stderr.on("data", (b: Buffer) => (out = (out + b.toString()).slice(-4000)));
    child.once("error", reject);
    child.once("close", (c) => resolve({ code: c, output: out }));
  });
  if (code !== 0) throw new Error(`go ${args.join(" ")} failed (${code}):\n${output}`);
  return performance.now() - started;
}

/** GETs a gomirror URL to the end of its body; the time in ms. */
async function timeGet(url: string): Promise<number> {
  const started = performance.now();
  const res = await fetch(url);
  const body = Buffer.from(await res.arrayBuffer());
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status} ${body.toString().slice(0, 500)}`);
  return performance.now() - started;
}

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const ms = (xs: readonly number[]) =>
  xs.length ? `${median(xs) < 100 ? median(xs).toFixed(1) : median(xs).toFixed(0)} ms` : "-";
const mb = (n: number) => `${(n / 1e6).toFixed(0)} MB`;

async function main(): Promise<void> {
  if (!findGo()) throw new Error("go >= 1.23 is needed (GOMIRROR_TEST_GO or /usr/lib/go-1.23/bin/go)");
  const cache = path.join(
    ROOT,
    "node_modules",
    ".cache",
    "gomirror-bench",
    `monorepo-${settings.mib}m-${settings.tags}t-${settings.modules}m`,
  );
  const repos = path.join(cache, "repos");
  let mono: Monorepo;
  const meta = path.join(cache, "monorepo.json");
  if (existsSync(meta)) {
    mono = JSON.parse(readFileSync(meta, "utf8")) as Monorepo;
  } else {
    log(
      `generating the monorepo (${settings.mib} MiB, ${settings.tags} tags, ${settings.modules} modules) in ${cache}`,
    );
    rmSync(cache, { recursive: true, force: true });
    mkdirSync(repos, { recursive: true });
    mono = await buildMonorepo(repos, GIT_HOST, {
      modules: settings.modules,
      tags: settings.tags,
      historyBytes: settings.mib * 1024 * 1024,
      untagged: 3,
    });
    writeFileSync(meta, JSON.stringify(mono));
  }
  const pack = packBytes(path.join(repos, "mono.git"));
  const work = mkdtempSync(path.join(tmpdir(), "gomirror-bench-monorepo-"));
  let server: GitServer | undefined;
  const proxies = new Set<ProxyProcess>();
  try {
    server = await startGitServer({ projectRoot: repos });
    const bundle = await bundleGomirror(path.join(work, "bundle"));
    const mod = `${mono.root}/mod07`;
    const version = `v1.0.${Math.floor(settings.tags / settings.modules / 2)}`;
    const ops: Operation[] = [
      {
        name: "list",
        go: ["list", "-m", "-versions", "-json", `${mod}@latest`],
        http: `${mod}/@v/list`,
        runs: settings.runs,
      },
      {
        name: ".info",
        go: ["list", "-m", "-json", `${mod}@${version}`],
        http: `${mod}/@v/${version}.info`,
        runs: settings.runs,
      },
      {
        name: ".zip",
        go: ["mod", "download", "-json", `${mod}@${version}`],
        http: `${mod}/@v/${version}.zip`,
        runs: settings.runs,
      },
      {
        name: ".info of an untagged commit (whole history)",
        go: ["list", "-m", "-json", `${mono.root}/mod00@${mono.untagged[0].slice(0, 12)}`],
        http: `${mono.root}/mod00/@v/${mono.untagged[0].slice(0, 12)}.info`,
        runs: settings.historyRuns,
      },
    ].filter((o) => o.runs > 0);
    const moduleDir = path.join(work, "app");
    mkdirSync(moduleDir);
    writeFileSync(path.join(moduleDir, "go.mod"), "module example.test/bench\n\ngo 1.21\n");
    const fresh = (name: string) => mkdtempSync(path.join(work, `${name}-`));
    const startMirror = async (): Promise<ProxyProcess> => {
      const p = await startProxyProcess(bundle, {
        GOPROXY: "direct",
        GONOPROXY: GIT_HOST,
        GOSUMDB: "off",
        GOMIRROR_STORAGE: fresh("storage"),
        GOMIRROR_GIT_CACHE: fresh("git-cache"),
        GOMIRROR_GIT_REWRITE: `https://${GIT_HOST}/=${server?.url}/`,
      });
      proxies.add(p);
      return p;
    };
    const stopMirror = async (p: ProxyProcess) => {
      await p.stop();
      proxies.delete(p);
    };
    let peak = 0;
    let peakGit = 0;
    const rows: Row[] = [];
    for (const op of ops) {
      const row: Row = { op, goCold: [], goWarm: [], mirrorCold: [], mirrorWarm: [], goViaMirror: [] };
      rows.push(row);
      for (let r = 0; r < op.runs; r++) {
        log(`${op.name}: run ${r + 1} of ${op.runs}`);
        const gopath = fresh("gopath");
        const direct = directEnv(gopath, server.url, GIT_HOST, [GIT_HOST]);
        row.goCold.push(await timeGo(direct, moduleDir, op.go));
        row.goWarm.push(await timeGo(direct, moduleDir, op.go));
        removeTree(gopath);

        const mirror = await startMirror();
        const sampler = sampleMemory(mirror.pid);
        row.mirrorCold.push(await timeGet(`${mirror.url}/${op.http}`));
        for (let w = 0; w < 5; w++) row.mirrorWarm.push(await timeGet(`${mirror.url}/${op.http}`));
        const seen = sampler.stop();
        peak = Math.max(peak, seen.peak);
        peakGit = Math.max(peakGit, seen.peakChildren);
        await stopMirror(mirror);

        const viaMirror = await startMirror();
        const viaGopath = fresh("gopath");
        const env = goEnv(viaGopath, { GOPROXY: viaMirror.url, GONOSUMDB: GIT_HOST, GOPRIVATE: "" });
        row.goViaMirror.push(await timeGo(env, moduleDir, op.go));
        removeTree(viaGopath);
        await stopMirror(viaMirror);
      }
    }
    const table = report(rows, { pack, peak, peakGit, version, mod });
    console.log(table);
    if (process.argv.includes("--write")) await writeSection(table);
  } finally {
    await Promise.allSettled([...proxies].map((p) => p.kill()));
    await server?.close();
    removeTree(work);
  }
}

function report(
  rows: readonly Row[],
  facts: { pack: number; peak: number; peakGit: number; version: string; mod: string },
): string {
  const warmGoal = rows.every((r) => median(r.mirrorWarm) < 50);
  const zip = rows.find((r) => r.op.name === ".zip");
  const zipGoal = zip ? median(zip.mirrorCold) <= median(zip.goCold) : undefined;
  return [
    `Measured ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC with node ${process.version} on ` +
      `${cpus().length} CPUs (load average ${loadavg()[0].toFixed(1)} at the end), git served by \`git http-backend\` ` +
      `on 127.0.0.1. Repository: ${mb(facts.pack)} pack, ${settings.tags} tags, ${settings.modules} nested modules; ` +
      `asked for \`${facts.mod}\` at ${facts.version}. Medians of ${settings.runs} runs (${settings.historyRuns} for the ` +
      "whole-history row); warm gomirror is the median of 5 requests after each cold one.",
    "",
    "| operation | go direct, cold | go direct, warm | gomirror, cold | gomirror, warm | go through gomirror, cold |",
    "|---|---|---|---|---|---|",
    ...rows.map(
      (r) =>
        `| ${r.op.name} | ${ms(r.goCold)} | ${ms(r.goWarm)} | ${ms(r.mirrorCold)} | ${ms(r.mirrorWarm)} | ${ms(r.goViaMirror)} |`,
    ),
    "",
    `Peak RSS of gomirror: **${mb(facts.peak)}**; of the git processes it ran, at once: ${mb(facts.peakGit)}.`,
    `Goals: warm answers under 50 ms: ${warmGoal ? "met" : "**missed**"}; cold \`.zip\` no slower than the go ` +
      `command's direct fetch: ${zipGoal === undefined ? "-" : zipGoal ? "met" : "**missed**"}.`,
  ].join("\n");
}

async function writeSection(table: string): Promise<void> {
  await writeMarkedSection(settings.output, START, END, `\n${table}\n`);
  log(`wrote ${path.relative(ROOT, settings.output)}`);
}

main().catch((err: Error) => {
  console.error(`bench:monorepo: ${err.stack ?? err.message}`);
  process.exit(1);
});
