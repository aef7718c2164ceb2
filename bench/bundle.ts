import { randomBytes } from "node:crypto";
import { createWriteStream, mkdirSync, mkdtempSync, statSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import yazl from "yazl";
import { storageKeys } from "../lib/proxy/cache/keys";
import { removeTree } from "../test/support/gocmd";
import { prepareRuntime, type Runtime } from "./gomirror";
import { start, stopAll } from "./processes";
import { sampleRss } from "./rss";
import { writeMarkedSection } from "./report";

/**
 * `npm run bench:bundle`: memory of `gomirror export` and `gomirror import` on a big bundle.
 * It writes a mirror storage holding generated modules whose zips are BENCH_BUNDLE_ZIP_MB each
 * (stored, not deflated: their bytes are random, as a vendored binary's would be) until they
 * add up to BENCH_BUNDLE_BYTES, then runs, each as its own process (the esbuild bundle the image
 * ships), `gomirror export --storage` of all of them and `gomirror import` of that bundle into an
 * empty storage, sampling each process's RSS from /proc every 100 ms. The same is done at a
 * tenth of the size: a bounded process's peak does not grow with the bundle. GOSUMDB is off (no
 * checksum database here): every version is checked against the manifest only, which costs the
 * same reading and hashing as a verified one, and the proofs a verified one adds are kilobytes.
 *
 * Settings (environment): BENCH_BUNDLE_BYTES (5e9), BENCH_BUNDLE_ZIP_MB (100), BENCH_BUNDLE_DIR
 * (the temp directory; needs about three times the size free), BENCH_OUTPUT (BENCHMARKS.md).
 * `--write` puts the table into BENCHMARKS.md between the bench-bundle markers.
 */

const ROOT = path.resolve(__dirname, "..");
const START = "<!-- bench-bundle:begin (written by npm run bench:bundle -- --write) -->";
const END = "<!-- bench-bundle:end -->";

function numberEnv(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || n > max)
    throw new Error(`${name}=${raw}: want a number in ${min}..${max}`);
  return n;
}

const settings = {
  bytes: numberEnv("BENCH_BUNDLE_BYTES", 5e9, 1e6, 1e12),
  zipMb: numberEnv("BENCH_BUNDLE_ZIP_MB", 100, 1, 450),
  dir: process.env.BENCH_BUNDLE_DIR || tmpdir(),
  output: path.resolve(ROOT, process.env.BENCH_OUTPUT ?? "BENCHMARKS.md"),
};

const log = (m: string) => process.stderr.write(`bench:bundle: ${m}\n`);
const mb = (n: number): string => `${Math.round(n / 1e6)} MB`;

/** `bytes` of a repeated random block: cheap to make, and stored zips do not care. */
function filler(bytes: number): Readable {
  const block = randomBytes(4 << 20);
  let left = bytes;
  return new Readable({
    read() {
      if (left === 0) return void this.push(null);
      const n = Math.min(left, block.length);
      left -= n;
      // A counter in each block, so no two blocks of a zip are the same.
      const chunk = Buffer.from(block.subarray(0, n));
      chunk.writeUInt32LE(left >>> 0, 0);
      this.push(chunk);
    },
  });
}

/** A module version written into a disk storage as the cache stores one: .info, .mod, .zip. */
async function writeModule(
  storage: string,
  modulePath: string,
  version: string,
  zipBytes: number,
): Promise<number> {
  const file = (key: string): string => {
    const p = path.join(storage, key);
    mkdirSync(path.dirname(p), { recursive: true });
    return p;
  };
  const goMod = `module ${modulePath}\n\ngo 1.21\n`;
  writeFileSync(file(storageKeys.mod(modulePath, version)), goMod);
  writeFileSync(
    file(storageKeys.info(modulePath, version)),
    JSON.stringify({ Version: version, Time: "2026-01-01T00:00:00Z" }),
  );
  const zip = new yazl.ZipFile();
  const prefix = `${modulePath}@${version}/`;
  zip.addBuffer(Buffer.from(goMod), `${prefix}go.mod`, { mtime: new Date(0) });
  zip.addBuffer(Buffer.from("package data\n"), `${prefix}data.go`, { mtime: new Date(0) });
  zip.addReadStream(filler(zipBytes), `${prefix}testdata/blob.bin`, {
    compress: false,
    mtime: new Date(0),
    size: zipBytes,
  });
  zip.end();
  const zipFile = file(storageKeys.zip(modulePath, version));
  await pipeline(zip.outputStream as Readable, createWriteStream(zipFile));
  return statSync(zipFile).size;
}

interface Measured {
  readonly seconds: number;
  readonly peakRss: number;
  readonly output: string;
}

/** Runs `gomirror <args>` as its own process, sampling its RSS; rejects when it fails. */
async function measure(runtime: Runtime, args: readonly string[], env: NodeJS.ProcessEnv): Promise<Measured> {
  const began = performance.now();
  const proc = start("gomirror", process.execPath, [...runtime.nodeArgs, ...args], {
    env: { PATH: process.env.PATH, GOMIRROR_LOG_LEVEL: "warn", ...env },
  });
  const sampler = sampleRss(proc.pid, 100);
  let out = "";
  proc.child.stdout?.on("data", (b: Buffer) => (out += b.toString("utf8")));
  const code = await new Promise<number | null>((resolve) => proc.child.once("exit", (c) => resolve(c)));
  const { peak } = sampler.stop();
  await proc.stop();
  if (code !== 0) throw new Error(`gomirror ${args[0]} exited with ${code}:\n${proc.output()}`);
  return { seconds: (performance.now() - began) / 1000, peakRss: peak, output: out.trim() };
}

interface Row {
  readonly versions: number;
  readonly bundleBytes: number;
  readonly exported: Measured;
  readonly imported: Measured;
}

async function run(runtime: Runtime, work: string, totalBytes: number): Promise<Row> {
  const zipBytes = Math.min(settings.zipMb * 1e6, totalBytes);
  const count = Math.max(1, Math.round(totalBytes / zipBytes));
  const dir = mkdtempSync(path.join(work, `b${count}-`));
  const source = path.join(dir, "source");
  const list: string[] = [];
  log(`writing ${count} modules of ${mb(zipBytes)} into ${source}`);
  for (let i = 0; i < count; i++) {
    const modulePath = `example.test/bench/bundle/m${String(i).padStart(4, "0")}`;
    await writeModule(source, modulePath, "v1.0.0", zipBytes);
    list.push(`${modulePath}@v1.0.0`);
  }
  writeFileSync(path.join(dir, "versions.txt"), `${list.join("\n")}\n`);
  const env = { GOPROXY: "off", GOSUMDB: "off", TMPDIR: dir, HOME: dir };
  const bundle = path.join(dir, "bundle.tar");
  log(`export of ${count} versions`);
  const exported = await measure(
    runtime,
    ["export", "--out", bundle, "--storage", source, path.join(dir, "versions.txt")],
    env,
  );
  log(exported.output);
  removeTree(source);
  log("import into an empty storage");
  const imported = await measure(runtime, ["import", bundle, "--storage", path.join(dir, "imported")], env);
  log(imported.output);
  const bundleBytes = statSync(bundle).size;
  removeTree(dir);
  return { versions: count, bundleBytes, exported, imported };
}

function report(rows: readonly Row[], runtime: Runtime): string {
  const rate = (bytes: number, m: Measured): string => `${Math.round(bytes / 1e6 / m.seconds)} MB/s`;
  return [
    `Measured ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC with node ${process.version} on ` +
      `${cpus().length} CPUs (load average ${loadavg()[0].toFixed(1)} at the end); gomirror as the ` +
      `${runtime.description}; zips of ${settings.zipMb} MB (stored, random bytes); GOSUMDB=off; ` +
      "RSS of each process sampled every 100 ms from /proc.",
    "",
    "| bundle | versions | export: time | export: peak RSS | import: time | import: peak RSS |",
    "|---|---|---|---|---|---|",
    ...rows.map(
      (r) =>
        `| ${mb(r.bundleBytes)} | ${r.versions} | ${r.exported.seconds.toFixed(0)} s (${rate(r.bundleBytes, r.exported)}) | ` +
        `**${mb(r.exported.peakRss)}** | ${r.imported.seconds.toFixed(0)} s (${rate(r.bundleBytes, r.imported)}) | ` +
        `**${mb(r.imported.peakRss)}** |`,
    ),
  ].join("\n");
}

async function writeSection(table: string): Promise<void> {
  await writeMarkedSection(settings.output, START, END, `\n${table}\n`);
  log(`wrote ${path.relative(ROOT, settings.output)}`);
}

async function main(): Promise<void> {
  const work = mkdtempSync(path.join(settings.dir, "gomirror-bench-bundle-"));
  const stop = (): void => void stopAll().finally(() => process.exit(130));
  process.once("SIGINT", stop);
  try {
    const runtime = await prepareRuntime(work, { minify: true });
    const rows: Row[] = [];
    for (const bytes of [settings.bytes / 10, settings.bytes]) rows.push(await run(runtime, work, bytes));
    const table = report(rows, runtime);
    console.log(table);
    if (process.argv.includes("--write")) await writeSection(table);
  } finally {
    await stopAll();
    removeTree(work);
  }
}

main().catch((err: Error) => {
  console.error(`bench:bundle: ${err.stack ?? err.message}`);
  process.exit(1);
});
