import cluster from "node:cluster";
import { availableParallelism } from "node:os";
import { loadConfig } from "../lib/proxy/config";
import { startProxy } from "../lib/proxy/server";

/**
 * Benchmark-only: the proxy in N node:cluster workers sharing one listening socket, to measure
 * what a cluster mode in bin/gomirror.ts would give. Same environment and flags as `gomirror
 * serve`; GOMIRROR_BENCH_WORKERS sets N (default: available parallelism).
 */

function workerCount(): number {
  const raw = process.env.GOMIRROR_BENCH_WORKERS;
  if (raw === undefined || raw === "") return availableParallelism();
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 64) {
    throw new Error(`GOMIRROR_BENCH_WORKERS=${JSON.stringify(raw)} is not a worker count; use 1..64`);
  }
  return n;
}

if (cluster.isPrimary) {
  const n = workerCount();
  let stopping = false;
  for (let i = 0; i < n; i++) cluster.fork();
  cluster.on("exit", (worker, code) => {
    if (!stopping) {
      process.stderr.write(`gomirror cluster: worker ${worker.process.pid} exited with ${code}; stopping\n`);
      stop();
    } else if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
  });
  const stop = (): void => {
    stopping = true;
    const workers = Object.values(cluster.workers ?? {});
    if (workers.length === 0) process.exit(0);
    for (const w of workers) w?.process.kill("SIGTERM");
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
} else {
  const config = loadConfig({ env: process.env, argv: process.argv.slice(2) });
  void startProxy(config).then((proxy) => {
    process.on("SIGTERM", () => void proxy.close().then(() => process.exit(0)));
    process.on("SIGINT", () => undefined); // the primary decides
  });
}
