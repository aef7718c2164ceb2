import { stat } from "node:fs/promises";

/**
 * Notices when files change by polling their stat (device, inode, size, modification and change
 * times) rather than trusting fs.watch alone: a Kubernetes Secret or ConfigMap volume updates by
 * swapping a `..data` symlink, which inotify on the old file never reports, and stat follows the
 * link to the new file. Polling a few files every couple of seconds costs nothing.
 */

export interface FileWatch {
  /**
   * Looks once; calls `onChange` when any file differs from the last look (the first look always
   * does). Resolves after `onChange` finished, and rejects with its error.
   */
  check(): Promise<void>;
  /** Stops polling. */
  close(): void;
}

export interface FileWatchOptions {
  readonly paths: readonly string[];
  /** Reads and applies the files; a throw keeps whatever was applied before. */
  readonly onChange: () => Promise<void>;
  /** Told about a failed `onChange` during polling (the first `check()` rejects instead). */
  readonly onError: (err: unknown) => void;
  /** @default 2000 */
  readonly intervalMs?: number;
}

async function signature(path: string): Promise<string> {
  try {
    const s = await stat(path, { bigint: true });
    return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
  } catch (err) {
    return `error:${(err as NodeJS.ErrnoException).code ?? "unknown"}`;
  }
}

/** Starts polling; call `check()` once first to load the files. */
export function watchFiles(options: FileWatchOptions): FileWatch {
  let last: string | undefined;
  let running: Promise<void> | undefined;

  const check = (): Promise<void> => {
    running ??= (async () => {
      try {
        // Stat before reading: a change that lands during the read is seen on the next look.
        const now = (await Promise.all(options.paths.map(signature))).join("|");
        if (now === last) return;
        last = now;
        await options.onChange();
      } finally {
        running = undefined;
      }
    })();
    return running;
  };

  const timer = setInterval(() => {
    check().catch(options.onError);
  }, options.intervalMs ?? 2000);
  timer.unref();
  return { check, close: () => clearInterval(timer) };
}
