import { execFile, execFileSync } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { offlineGoEnv } from "./gohelper";
import { parseGoJson } from "./gocmd";
import { findGo } from "./tools";

/**
 * What the git end-to-end tests compare gomirror with: the go command's own fetch straight from
 * a loopback git server (GOPROXY=direct), made to reach made-up hosts through git's insteadOf
 * (for git) and HTTP_PROXY (for go-get pages), in a fresh GOPATH per fetch.
 */

const run = promisify(execFile);

/** One entry of `go mod download -json`. */
export interface GoDownload {
  Path: string;
  Version?: string;
  Query?: string;
  Error?: string;
  Info?: string;
  GoMod?: string;
  Zip?: string;
  Sum?: string;
  GoModSum?: string;
}

/** The environment of an offline go command with GOPROXY/GOSUMDB and more from `extra`. */
export function goEnv(gopath: string, extra: Record<string, string>): NodeJS.ProcessEnv {
  return {
    ...offlineGoEnv(gopath),
    GOFLAGS: "-mod=mod",
    GOSUMDB: "off",
    GIT_TERMINAL_PROMPT: "0",
    GIT_CONFIG_NOSYSTEM: "1",
    ...extra,
  };
}

/**
 * The go command fetching directly: `hosts` are private (no proxy, no checksum database) and
 * reached over plain HTTP through the loopback server acting as HTTP proxy (for go-get pages);
 * git is pointed at the server by an env-only insteadOf for `https://<gitHost>/`.
 */
export function directEnv(
  gopath: string,
  serverURL: string,
  gitHost: string,
  hosts: string[],
): NodeJS.ProcessEnv {
  return goEnv(gopath, {
    GOPROXY: "direct",
    GOPRIVATE: hosts.join(","),
    GOINSECURE: hosts.join(","),
    HTTP_PROXY: serverURL,
    NO_PROXY: "127.0.0.1",
    GIT_CONFIG_COUNT: "1",
    GIT_CONFIG_KEY_0: `url.${serverURL}/.insteadOf`,
    GIT_CONFIG_VALUE_0: `https://${gitHost}/`,
  });
}

/** `go mod download -json <args>`, keyed `path@query` (or `path@version`); failures are entries with Error. */
export async function goDownload(
  env: NodeJS.ProcessEnv,
  cwd: string,
  args: string[],
): Promise<Map<string, GoDownload>> {
  let stdout: string;
  try {
    ({ stdout } = await run(findGo() as string, ["mod", "download", "-json", ...args], {
      env,
      cwd,
      timeout: 240_000,
      maxBuffer: 1 << 24,
    }));
  } catch (err) {
    // Exit status 1 when some downloads failed; the JSON still describes each.
    stdout = (err as { stdout?: string }).stdout ?? "";
    if (!stdout) throw err;
  }
  const out = new Map<string, GoDownload>();
  for (const d of parseGoJson<GoDownload>(stdout)) out.set(`${d.Path}@${d.Query ?? d.Version}`, d);
  return out;
}

/**
 * The go command's answer for each `path@query` of `targets`, one fresh GOPATH per target (made
 * by `envAt` under `gopathRoot`): the Origin the go command writes depends on what its local
 * clone already holds, so only a first fetch is a fair reference. `cwd` holds a main module.
 */
export async function directDownloads(
  envAt: (gopath: string) => NodeJS.ProcessEnv,
  gopathRoot: string,
  cwd: string,
  targets: readonly string[],
): Promise<Map<string, GoDownload>> {
  const out = new Map<string, GoDownload>();
  for (const [i, target] of targets.entries()) {
    const one = await goDownload(envAt(path.join(gopathRoot, `gopath-direct-${i}`)), cwd, [target]);
    for (const [k, d] of one) out.set(k, d);
  }
  return out;
}

/** `go list -m -versions -retracted` of each path (every tagged version, retracted ones too). */
export async function goVersions(
  env: NodeJS.ProcessEnv,
  cwd: string,
  paths: string[],
): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const p of paths) {
    const { stdout } = await run(
      findGo() as string,
      ["list", "-m", "-versions", "-retracted", "-json", `${p}@latest`],
      { env, cwd, timeout: 120_000 },
    );
    out.set(p, (JSON.parse(stdout) as { Versions?: string[] }).Versions ?? []);
  }
  return out;
}

/** The `h1:` hash of a zip (checked by x/mod's zip rules, with its valid files) or of a go.mod. */
export function hashFile(
  githash: string,
  kind: "zip" | "mod",
  file: string,
  modPath = "",
  version = "",
): { h1?: string; err?: string; valid?: string[] } {
  const args = kind === "zip" ? ["zip", file, modPath, version] : ["mod", file];
  return JSON.parse(execFileSync(githash, args, { encoding: "utf8", maxBuffer: 1 << 26 })) as {
    h1?: string;
    err?: string;
    valid?: string[];
  };
}
