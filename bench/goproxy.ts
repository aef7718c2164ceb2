import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { findGo } from "../test/support/tools";
import { freePort, start, waitUntilUp, type Started } from "./processes";

/**
 * goproxy/goproxy (github.com/goproxy/goproxy, `cmd/goproxy`) as the side-by-side column: the
 * binary named by BENCH_GOPROXY_BIN, else `goproxy` on PATH; no column without one. It is a
 * reference to measure against, never a dependency of the project.
 */

export interface GoproxyBinary {
  readonly path: string;
  readonly version: string;
}

/** The goproxy binary to compare with, or undefined. Throws when BENCH_GOPROXY_BIN does not run. */
export function findGoproxy(): GoproxyBinary | undefined {
  const given = process.env.BENCH_GOPROXY_BIN;
  const candidates = given ? [given] : ["goproxy"];
  for (const candidate of candidates) {
    try {
      // `goproxy --version` prints e.g. "goproxy version v0.21.0".
      const out = execFileSync(candidate, ["--version"], { encoding: "utf8", timeout: 10_000 }).trim();
      return { path: candidate, version: out.split("\n")[0] ?? out };
    } catch (err) {
      if (given) throw new Error(`BENCH_GOPROXY_BIN=${given} does not run: ${String(err)}`);
    }
  }
  return undefined;
}

export interface RunningGoproxy {
  readonly url: string;
  readonly proc: Started;
}

/**
 * Starts goproxy with its disk cacher in `dir`/cache, fetching from `upstream` (a GOPROXY URL).
 * It reads its upstream from the environment as the go command does, and calls the go command
 * for direct fetches: everything is explicit and offline (GOTOOLCHAIN=local, no checksum
 * database, a fresh HOME and GOPATH), so nothing reaches the internet.
 */
export async function startGoproxy(
  bin: GoproxyBinary,
  upstream: string,
  dir: string,
): Promise<RunningGoproxy> {
  const go = findGo();
  if (!go) throw new Error("goproxy needs the go command on PATH");
  for (const sub of ["cache", "tmp", "home"]) mkdirSync(path.join(dir, sub), { recursive: true });
  const home = path.join(dir, "home");
  const port = await freePort();
  const proc = start(
    "goproxy",
    bin.path,
    [
      "server",
      "--address",
      `127.0.0.1:${port}`,
      "--cacher-dir",
      path.join(dir, "cache"),
      "--temp-dir",
      path.join(dir, "tmp"),
    ],
    {
      env: {
        PATH: `${path.dirname(go)}:${process.env.PATH}`,
        HOME: home,
        GOPATH: path.join(home, "go"),
        GOMODCACHE: path.join(home, "go", "pkg", "mod"),
        GOCACHE: path.join(home, "gocache"),
        GOPROXY: upstream,
        GOSUMDB: "off",
        GONOSUMDB: "*",
        GOFLAGS: "-mod=mod",
        GOTOOLCHAIN: "local",
        GOTELEMETRY: "off",
      },
    },
  );
  const url = `http://127.0.0.1:${port}`;
  // goproxy has no health endpoint: any HTTP answer means it listens.
  await waitUntilUp(`${url}/`, proc, { anyStatus: true });
  return { url, proc };
}
