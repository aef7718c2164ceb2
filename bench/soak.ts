import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import path from "node:path";
import { Pool } from "undici";
import { startGomirrorProcess, type GomirrorProcess } from "../test/support/gomirror-process";
import { imageTuning } from "../test/support/image-tuning";
import { prepareRuntime } from "./gomirror";
import {
  goMod,
  info,
  MODULES,
  modulePath,
  moduleZip,
  startSoakUpstream,
  type SoakUpstream,
} from "./soak-upstream";

/**
 * `npm run soak`: gomirror (the bundle the image ships) under mixed load for a long while, its
 * upstream misbehaving now and then: cached hits, cold zips small and large, lists, clients that
 * hang up mid-zip, bad requests. Every complete body is checked byte for byte; at the end so is
 * every stored file. Reports failures, RSS and open file descriptors (start, peak, end, and each
 * minute); exits 1 when the process died, a body or stored file was wrong, a 500 was answered, or a
 * request failed where no fault was injected.
 *
 * Settings (environment):
 *   SOAK_SECONDS       how long the load runs (default 600)
 *   SOAK_CONNECTIONS   concurrent clients (default 32)
 *   SOAK_FAULT_RATE    share of upstream answers that misbehave (default 0.05)
 *   SOAK_SEED          seed of the upstream's and the clients' choices (default 1)
 */

function numberEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  const n = raw === undefined || raw === "" ? fallback : Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name}=${JSON.stringify(raw)} is not a number`);
  return n;
}

const settings = {
  seconds: numberEnv("SOAK_SECONDS", 600),
  connections: numberEnv("SOAK_CONNECTIONS", 32),
  faultRate: numberEnv("SOAK_FAULT_RATE", 0.05),
  seed: numberEnv("SOAK_SEED", 1),
};

function log(message: string): void {
  process.stderr.write(`soak: ${message}\n`);
}

/** The soak's tallies. */
interface Tally {
  requests: number;
  ok: number;
  /**
   * Answered 502/503 or cut short on a file the upstream had answered wrongly, as it should (or,
   * for a list, passed on the versions a garbage answer held: none).
   */
  refusedAfterFault: number;
  /** Any failure on a file the upstream never answered wrongly. */
  unexpected: number;
  wrongBodies: number;
  status500: number;
  badRequests: number;
  clientAborts: number;
  statuses: Record<number, number>;
  examples: string[];
}

interface Sample {
  readonly seconds: number;
  readonly rss: number;
  readonly fds: number;
}

const MiB = 1024 * 1024;

async function main(): Promise<void> {
  const work = mkdtempSync(path.join(tmpdir(), "gomirror-soak-"));
  mkdirSync(path.join(work, "tmp"));
  let upstream: SoakUpstream | undefined;
  let mirror: GomirrorProcess | undefined;
  try {
    upstream = await startSoakUpstream(settings.faultRate, settings.seed);
    const runtime = await prepareRuntime(work, { minify: true });
    mirror = await startGomirrorProcess(
      {
        NODE_ENV: "production",
        // The memory settings of the image (NODE_OPTIONS, MALLOC_*), as the process runs there.
        ...imageTuning(),
        GOPROXY: upstream.url,
        GOSUMDB: "off",
        GOMIRROR_STORAGE: path.join(work, "storage"),
        GOMIRROR_UPSTREAM_TIMEOUT: "2",
        GOMIRROR_CACHE_TTL: "0",
        GOMIRROR_LOG_LEVEL: "warn",
        GOMIRROR_SPOOL_MAX: "256MiB",
        // A fault here is one bad answer among good ones: the breaker would skip the upstream for
        // 30 s after three and fail the good ones meanwhile (its behaviour has its own tests).
        GOMIRROR_UPSTREAM_MAX_FAILS: "0",
        TMPDIR: path.join(work, "tmp"),
      },
      runtime.nodeArgs,
    );
    log(
      `gomirror ${runtime.description}, pid ${mirror.pid}; load for ${settings.seconds} s, ${settings.connections} clients, fault rate ${settings.faultRate}, load ${loadavg()[0].toFixed(2)}`,
    );
    const result = await soak(mirror, upstream, path.join(work, "storage"));
    await mirror.stop();
    const leftovers = readdirSync(path.join(work, "tmp"));
    const report = {
      seconds: settings.seconds,
      connections: settings.connections,
      faultRate: settings.faultRate,
      exit: mirror.exit,
      crashed: result.crashed,
      ...result.tally,
      wrongStored: result.wrongStored,
      storedFiles: result.storedFiles,
      spoolLeftovers: leftovers.length,
      upstream: { requests: upstream.requests, faults: upstream.faults },
      ...summarize(result.samples),
    };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    const failed =
      result.crashed ||
      mirror.exit !== "code 0" ||
      result.tally.wrongBodies > 0 ||
      result.wrongStored > 0 ||
      result.tally.status500 > 0 ||
      result.tally.unexpected > 0 ||
      leftovers.length > 0;
    if (failed) {
      log(`FAILED; last output of gomirror:\n${mirror.output().slice(-4000)}`);
      process.exitCode = 1;
    }
  } finally {
    await mirror?.stop();
    await upstream?.close();
    rmSync(work, { recursive: true, force: true });
  }
}

async function soak(
  mirror: GomirrorProcess,
  upstream: SoakUpstream,
  storageDir: string,
): Promise<{ tally: Tally; samples: Sample[]; crashed: boolean; wrongStored: number; storedFiles: number }> {
  const started = Date.now();
  const samples: Sample[] = [];
  const sample = (): void => {
    if (!mirror.exited)
      samples.push({
        seconds: Math.round((Date.now() - started) / 1000),
        rss: mirror.rss(),
        fds: mirror.openFiles(),
      });
  };
  sample();
  const sampler = setInterval(sample, 5000);

  let state = (settings.seed * 2654435761) >>> 0 || 1;
  const random = (): number => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4294967296;
  };
  const pick = (n: number): number => Math.floor(random() * n);
  const tally: Tally = {
    requests: 0,
    ok: 0,
    refusedAfterFault: 0,
    unexpected: 0,
    wrongBodies: 0,
    status500: 0,
    badRequests: 0,
    clientAborts: 0,
    statuses: {},
    examples: [],
  };
  /** Versions of each module answered whole at least once: their files are cached now. */
  const warm: number[][] = Array.from({ length: MODULES }, () => []);
  const nextCold: number[] = Array.from({ length: MODULES }, () => 0);
  const pool = new Pool(mirror.url, { connections: settings.connections, pipelining: 1 });
  const deadline = started + settings.seconds * 1000;

  const failure = (file: string, what: string): void => {
    if (upstream.faulted.has(file)) tally.refusedAfterFault++;
    else {
      tally.unexpected++;
      if (tally.examples.length < 20) tally.examples.push(`${file}: ${what}`);
    }
  };

  const request = async (file: string, expected: Buffer | undefined, abort = false): Promise<boolean> => {
    tally.requests++;
    let res;
    try {
      res = await pool.request({ path: `/${file}`, method: "GET" });
    } catch (err) {
      failure(file, `request failed: ${String(err)}`);
      return false;
    }
    tally.statuses[res.statusCode] = (tally.statuses[res.statusCode] ?? 0) + 1;
    if (res.statusCode === 500) tally.status500++;
    if (abort) {
      // A client that hangs up after the first chunk.
      for await (const _chunk of res.body) break;
      res.body.destroy();
      tally.clientAborts++;
      return false;
    }
    let body: Buffer;
    try {
      body = Buffer.from(await res.body.arrayBuffer());
    } catch (err) {
      failure(file, `body cut short (${String(err)})`);
      return false;
    }
    if (expected === undefined) {
      if (res.statusCode === 400 || res.statusCode === 404) tally.badRequests++;
      else failure(file, `answered ${res.statusCode} to a bad request`);
      return false;
    }
    if (res.statusCode !== 200) {
      failure(file, `answered ${res.statusCode}: ${body.toString("utf8").slice(0, 200)}`);
      return false;
    }
    if (!body.equals(expected)) {
      // A list is whatever lines the upstream sent that are versions (as the go command reads
      // one): from an upstream that answered garbage, that can be none. Nothing else may differ.
      if (file.endsWith("/@v/list") && upstream.faulted.has(file)) {
        tally.refusedAfterFault++;
        return false;
      }
      tally.wrongBodies++;
      if (tally.examples.length < 20) tally.examples.push(`${file}: WRONG BODY (${body.length} bytes)`);
      return false;
    }
    tally.ok++;
    return true;
  };

  const client = async (): Promise<void> => {
    while (Date.now() < deadline && !mirror.exited) {
      const k = pick(MODULES);
      const base = modulePath(k);
      const roll = random();
      if (roll < 0.35 && warm[k].length > 0) {
        const n = warm[k][pick(warm[k].length)];
        await request(`${base}/@v/v1.0.${n}.zip`, await moduleZip(k, n));
      } else if (roll < 0.5 && warm[k].length > 0) {
        const n = warm[k][pick(warm[k].length)];
        if (random() < 0.5) await request(`${base}/@v/v1.0.${n}.mod`, goMod(k));
        else await request(`${base}/@v/v1.0.${n}.info`, info(n));
      } else if (roll < 0.75) {
        // A version nobody asked for yet: its files come from the upstream.
        const n = nextCold[k]++;
        const zipOk = await request(`${base}/@v/v1.0.${n}.zip`, await moduleZip(k, n));
        const modOk = await request(`${base}/@v/v1.0.${n}.mod`, goMod(k));
        if (zipOk && modOk && (await request(`${base}/@v/v1.0.${n}.info`, info(n)))) warm[k].push(n);
      } else if (roll < 0.87) {
        if (random() < 0.5) {
          await request(
            `${base}/@v/list`,
            Buffer.from(Array.from({ length: 20 }, (_, i) => `v1.0.${i}\n`).join("")),
          );
        } else await request(`${base}/@latest`, info(19));
      } else if (roll < 0.95) {
        const n = warm[k].length > 0 && random() < 0.5 ? warm[k][pick(warm[k].length)] : nextCold[k]++;
        await request(`${base}/@v/v1.0.${n}.zip`, await moduleZip(k, n), true);
      } else {
        await request(
          [`${base}/@v/v1.0.0.bogus`, `example.test/%2e%2e/%2e%2e/etc/@v/list`, `${base}/@v/-x.info`, "nope"][
            pick(4)
          ],
          undefined,
        );
      }
    }
  };

  let lastReport = started;
  const reporter = setInterval(() => {
    const last = samples[samples.length - 1];
    if (Date.now() - lastReport >= 60_000 && last) {
      lastReport = Date.now();
      log(
        `${last.seconds} s: ${tally.requests} requests, ${tally.ok} ok, ${tally.refusedAfterFault} refused after faults, ${tally.unexpected} unexpected, rss ${(last.rss / MiB).toFixed(0)} MiB, ${last.fds} fds`,
      );
    }
  }, 1000);
  await Promise.all(Array.from({ length: settings.connections }, client));
  clearInterval(reporter);
  await pool.close();
  const crashed = mirror.exited;
  // Idle for a moment: what a quiet process holds.
  await new Promise((resolve) => setTimeout(resolve, 5000));
  clearInterval(sampler);
  sample();

  const stored = await checkStored(storageDir);
  return { tally, samples, crashed, ...stored };
}

/** RSS (MiB) and open descriptors at the start, at their peak, at the end, and each minute. */
function summarize(samples: readonly Sample[]): object {
  const mib = (bytes: number): number => Math.round((bytes / MiB) * 10) / 10;
  const first = samples[0];
  const last = samples[samples.length - 1];
  return {
    rssMiB: { start: mib(first.rss), peak: mib(Math.max(...samples.map((s) => s.rss))), end: mib(last.rss) },
    fds: { start: first.fds, peak: Math.max(...samples.map((s) => s.fds)), end: last.fds },
    perMinute: samples
      .filter((s, i) => i === 0 || Math.floor(s.seconds / 60) > Math.floor(samples[i - 1].seconds / 60))
      .map((s) => ({ seconds: s.seconds, rssMiB: mib(s.rss), fds: s.fds })),
  };
}

/** Every stored .zip, .mod and .info compared with what the upstream serves when it is right. */
async function checkStored(storageDir: string): Promise<{ wrongStored: number; storedFiles: number }> {
  let wrongStored = 0;
  let storedFiles = 0;
  const walk = async (dir: string, rel: string): Promise<void> => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const key = rel === "" ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) await walk(path.join(dir, entry.name), key);
      const m = /^example\.test\/soak\/m(\d+)\/@v\/v1\.0\.(\d+)\.(zip|mod|info)$/.exec(key);
      if (!m) continue;
      storedFiles++;
      const [k, n] = [Number(m[1]), Number(m[2])];
      const want = m[3] === "zip" ? await moduleZip(k, n) : m[3] === "mod" ? goMod(k) : info(n);
      if (!readFileSync(path.join(dir, entry.name)).equals(want)) wrongStored++;
    }
  };
  await walk(storageDir, "");
  return { wrongStored, storedFiles };
}

void main();
