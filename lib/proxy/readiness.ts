import type { Logger } from "pino";
import type { SpoolDirectory } from "./cache/spool-directory";
import type { Storage } from "./storage/storage";

/** The object the readiness probe writes; module paths hold a dot in their first element, so no module's files are here. */
export const READINESS_PROBE_KEY = "gomirror-readiness-probe";
/** How long a probe's result stands: load balancers ask often, a write each time would cost. */
const PROBE_CACHE_MS = 5000;

export interface ReadinessOptions {
  readonly storage: Storage;
  readonly spools: SpoolDirectory;
  readonly logger: Logger;
}

/**
 * Whether the proxy can take traffic: the storage takes a write and the spool directory takes a
 * file (a read-only or full volume fails here before downloads start failing). The result of a
 * probe stands for a few seconds, and concurrent askers share one probe.
 */
export function readinessProbe(options: ReadinessOptions): () => Promise<boolean> {
  const { storage, spools, logger } = options;
  let last: { at: number; ok: Promise<boolean> } | undefined;
  const probe = async (): Promise<boolean> => {
    const failures = await Promise.allSettled([
      storage.put(READINESS_PROBE_KEY, Buffer.from(`${new Date().toISOString()}\n`)),
      spools.probe(),
    ]);
    const [store, spool] = failures;
    if (store.status === "rejected") {
      logger.error({ event: "storage_unready", err: String(store.reason) }, "storage cannot be written");
    }
    if (spool.status === "rejected") {
      logger.error(
        { event: "spool_unready", dir: spools.root, err: String(spool.reason) },
        "the spool directory cannot be written",
      );
    }
    return store.status === "fulfilled" && spool.status === "fulfilled";
  };
  return () => {
    const now = Date.now();
    if (!last || now - last.at >= PROBE_CACHE_MS) last = { at: now, ok: probe() };
    return last.ok;
  };
}
