import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { loadConfig } from "../../lib/proxy/config";
import { startProxy } from "../../lib/proxy/server";
import { removeTree } from "../support/gocmd";

/**
 * gomirror started in the test's own process, configured the way an operator does it: through
 * the same environment variables the CLI reads, with a fresh storage directory.
 */
export interface TestMirror {
  readonly url: string;
  /** The storage directory (GOMIRROR_STORAGE). */
  readonly storage: string;
  /** Stop the server; with `keepStorage` the cache directory stays for another instance. */
  close(options?: { keepStorage?: boolean }): Promise<void>;
}

export interface TestMirrorOptions {
  /** GOPROXY of gomirror itself: its upstream list. */
  readonly goproxy: string;
  /** Reuse a storage directory (e.g. of a closed instance). @default a fresh temporary directory */
  readonly storage?: string;
  /** More settings, by their environment variable names. */
  readonly env?: Readonly<Record<string, string>>;
}

export async function startTestMirror(options: TestMirrorOptions): Promise<TestMirror> {
  const storage = options.storage ?? mkdtempSync(path.join(tmpdir(), "gomirror-storage-"));
  const config = loadConfig({
    env: {
      GOPROXY: options.goproxy,
      GOSUMDB: "off",
      GOMIRROR_STORAGE: storage,
      // Beside the storage, not the default one in the temp directory that outlives a process.
      GOMIRROR_GIT_CACHE: `${storage}.git-cache`,
      GOMIRROR_LISTEN: "127.0.0.1:0",
      // GOMIRROR_TEST_LOG_LEVEL=debug shows the server's logs while debugging a test
      GOMIRROR_LOG_LEVEL: process.env.GOMIRROR_TEST_LOG_LEVEL ?? "silent",
      ...options.env,
    },
    argv: [],
  });
  const proxy = await startProxy(config);
  return {
    url: proxy.url.replace(/\/+$/, ""),
    storage,
    async close(closeOptions = {}) {
      await proxy.close();
      removeTree(`${storage}.git-cache`);
      if (!closeOptions.keepStorage) removeTree(storage);
    },
  };
}
