import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { loadConfig } from "../../lib/proxy/config";
import { createLogger } from "../../lib/proxy/logger";
import { ProxyMetrics } from "../../lib/proxy/metrics";
import { startProxy, type ProxyDeps, type RunningProxy } from "../../lib/proxy/server";

/** Every JSON log line a proxy wrote, parsed. */
export class LogLines extends Writable {
  readonly lines: Record<string, unknown>[] = [];
  override _write(chunk: Buffer, _enc: string, done: () => void): void {
    for (const line of chunk.toString().split("\n")) if (line) this.lines.push(JSON.parse(line));
    done();
  }
  /** The lines with this `event`. */
  events(event: string): Record<string, unknown>[] {
    return this.lines.filter((l) => l.event === event);
  }
}

/** gomirror in the test's process, with its logs and metrics at hand and its own storage directory. */
export interface TestProxy {
  readonly url: string;
  readonly proxy: RunningProxy;
  readonly logs: LogLines;
  readonly metrics: ProxyMetrics;
  /** GOMIRROR_STORAGE (a directory, unless `env` says otherwise). */
  readonly storage: string;
  /** The value of a counter or gauge of the proxy's metrics for these labels (0 when absent). */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  close(): Promise<void>;
}

/** Starts gomirror on 127.0.0.1 with GOSUMDB=off and a fresh storage unless `env` says otherwise. */
export async function startTestProxy(env: Record<string, string>, deps: ProxyDeps = {}): Promise<TestProxy> {
  const storage = mkdtempSync(path.join(tmpdir(), "gomirror-test-storage-"));
  const logs = new LogLines();
  const metrics = new ProxyMetrics();
  let proxy: RunningProxy;
  try {
    const config = loadConfig({
      env: {
        GOSUMDB: "off",
        GOMIRROR_LISTEN: "127.0.0.1:0",
        GOMIRROR_STORAGE: storage,
        // Beside the storage, not the default one in the temp directory that outlives a process.
        GOMIRROR_GIT_CACHE: `${storage}.git-cache`,
        GOMIRROR_SHUTDOWN_GRACE: "2",
        ...env,
      },
      argv: [],
    });
    proxy = await startProxy(config, { logger: createLogger("info", logs), metrics, ...deps });
  } catch (err) {
    // A proxy that refused to start leaves nothing behind either.
    rmSync(storage, { recursive: true, force: true });
    throw err;
  }
  return {
    url: proxy.url,
    proxy,
    logs,
    metrics,
    storage,
    async metric(name, labels = {}) {
      const metric = metrics.registry.getSingleMetric(name);
      if (!metric) throw new Error(`no metric ${name}`);
      const { values } = await metric.get();
      const match = values.find((v) =>
        Object.entries(labels).every(
          ([k, want]) => String((v.labels as Record<string, unknown>)[k]) === want,
        ),
      );
      return match?.value ?? 0;
    },
    async close() {
      await proxy.close();
      rmSync(storage, { recursive: true, force: true });
      rmSync(`${storage}.git-cache`, { recursive: true, force: true });
    },
  };
}

/** Writes `files` (relative path to content) under `root`, making directories as needed. */
export function writeFiles(root: string, files: Record<string, string | Buffer>): void {
  for (const [rel, data] of Object.entries(files)) {
    const file = path.join(root, rel);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, data);
  }
}
