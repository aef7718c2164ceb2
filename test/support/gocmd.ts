import { spawn } from "node:child_process";
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { offlineGoEnv, TEST_CACHE } from "./gohelper";
import { findGo } from "./tools";

/**
 * Running the real go command against a proxy under test, isolated and offline: a fresh
 * GOPATH (so a fresh module cache) per workspace, GOTOOLCHAIN=local, an explicit GOPROXY and
 * GOSUMDB, HOME inside the workspace, telemetry off. The go command is spawned asynchronously,
 * so a proxy running inside the test's own process keeps answering while it runs.
 */

export interface GoResult {
  /** Exit code; null when the process was killed (timeout) or died of a signal. */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** True when the run hit its timeout and was killed. */
  readonly timedOut: boolean;
}

export interface GoWorkspaceOptions {
  /** GOPROXY for every run, e.g. the proxy under test's URL. */
  readonly goproxy: string;
  /** GOSUMDB. @default "off" */
  readonly gosumdb?: string;
  /**
   * Use a build cache private to this workspace instead of the suite's shared one. The shared
   * build cache holds only compiled packages, never module downloads, so the proxy is asked
   * exactly the same questions either way; a private one costs a full standard library compile
   * (tens of seconds on a small machine).
   * @default false
   */
  readonly privateBuildCache?: boolean;
  /** Extra environment for every run (wins over the defaults). */
  readonly env?: Readonly<Record<string, string>>;
  /** Per-run timeout. @default 120000 */
  readonly timeoutMs?: number;
}

export interface GoRunOptions {
  /** Working directory. @default the workspace's main module directory */
  readonly cwd?: string;
  /** Extra environment for this run. */
  readonly env?: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
}

export interface MainModuleOptions {
  /** Module path of the main module. @default "example.test/app" */
  readonly modulePath?: string;
  /** Packages main.go imports; each must export `func Hello() string`, which main prints, one per line. */
  readonly imports?: readonly string[];
  /** `require` lines (module and version) to put into go.mod up front. */
  readonly requires?: readonly { readonly module: string; readonly version: string }[];
  /** The go directive. @default "1.21" */
  readonly goVersion?: string;
}

export interface GoWorkspace {
  /** The workspace's temporary directory (HOME). */
  readonly dir: string;
  readonly gopath: string;
  readonly gomodcache: string;
  /** Directory of the main module (empty until writeMainModule; runs use it as cwd). */
  readonly moduleDir: string;
  /** The environment runs get (before per-run additions). */
  env(): NodeJS.ProcessEnv;
  /** Run `go <args>`. Never throws for a failing go command; look at `code`. */
  run(args: readonly string[], options?: GoRunOptions): Promise<GoResult>;
  /** Write go.mod and main.go of a tiny program into `moduleDir`. */
  writeMainModule(options?: MainModuleOptions): void;
  /** Remove the workspace (module cache files are read-only; this handles it). */
  cleanup(): void;
}

/** A fresh, isolated place to run the go command. Call `cleanup()` when the test is done. */
export function createGoWorkspace(options: GoWorkspaceOptions): GoWorkspace {
  const go = findGo();
  if (!go)
    throw new Error("go >= 1.23 is required; run the test inside describeWithTools({ go: true }, ...)");
  const dir = mkdtempSync(path.join(tmpdir(), "gomirror-go-"));
  const gopath = path.join(dir, "gopath");
  const moduleDir = path.join(dir, "app");
  mkdirSync(gopath, { recursive: true });
  mkdirSync(moduleDir, { recursive: true });
  const base = offlineGoEnv(gopath);
  const env = (): NodeJS.ProcessEnv => ({
    ...base,
    HOME: dir,
    GOPROXY: options.goproxy,
    GOSUMDB: options.gosumdb ?? "off",
    GOCACHE: options.privateBuildCache ? path.join(dir, "gocache") : path.join(TEST_CACHE, "gocache"),
    GOENV: "off",
    GOWORK: "off",
    GOTMPDIR: "",
    ...options.env,
  });

  return {
    dir,
    gopath,
    gomodcache: base.GOMODCACHE as string,
    moduleDir,
    env,
    run(args, runOptions = {}) {
      return runGo(go, args, {
        cwd: runOptions.cwd ?? moduleDir,
        env: { ...env(), ...runOptions.env },
        timeoutMs: runOptions.timeoutMs ?? options.timeoutMs ?? 120_000,
      });
    },
    writeMainModule(mainOptions = {}) {
      writeMainModule(moduleDir, mainOptions);
    },
    cleanup() {
      removeTree(dir);
    },
  };
}

function runGo(
  go: string,
  args: readonly string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<GoResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(go, args, { cwd: opts.cwd, env: opts.env, stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, opts.timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(new Error(`could not start ${go} ${args.join(" ")}: ${e.message}`));
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      const stderr = Buffer.concat(err).toString("utf8");
      resolve({
        code,
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: timedOut ? `${stderr}\n[killed after ${opts.timeoutMs} ms]` : stderr,
        timedOut,
      });
    });
  });
}

/** Write go.mod and a main.go printing the Hello() of each imported package, one per line. */
export function writeMainModule(dir: string, options: MainModuleOptions = {}): void {
  const modulePath = options.modulePath ?? "example.test/app";
  const imports = options.imports ?? [];
  const requires = options.requires ?? [];
  const req =
    requires.length > 0
      ? `\nrequire (\n${requires.map((r) => `\t${r.module} ${r.version}\n`).join("")})\n`
      : "";
  writeFileSync(
    path.join(dir, "go.mod"),
    `module ${modulePath}\n\ngo ${options.goVersion ?? "1.21"}\n${req}`,
  );
  const aliases = imports.map((_, i) => `p${i}`);
  const importLines = ['\t"fmt"', ...imports.map((p, i) => `\t${aliases[i]} "${p}"`)].join("\n");
  const calls = aliases.map((a) => `\tfmt.Println(${a}.Hello())\n`).join("");
  writeFileSync(
    path.join(dir, "main.go"),
    `package main\n\nimport (\n${importLines}\n)\n\nfunc main() {\n${calls}}\n`,
  );
}

/** rm -rf that first makes read-only directories (the module cache's) writable again. */
export function removeTree(dir: string): void {
  const makeWritable = (p: string): void => {
    let st;
    try {
      st = lstatSync(p);
    } catch {
      return;
    }
    if (!st.isDirectory()) return;
    try {
      chmodSync(p, 0o755);
    } catch {
      // not ours to change; rmSync reports what is left
    }
    for (const entry of readdirSync(p)) makeWritable(path.join(p, entry));
  };
  makeWritable(dir);
  rmSync(dir, { recursive: true, force: true });
}

/** Throw with the go command's output when it did not succeed (a readable test failure). */
export function expectGoSuccess(res: GoResult, what: string): void {
  if (res.code !== 0) {
    throw new Error(`${what} failed (exit ${String(res.code)}):\n${res.stderr}\n${res.stdout}`);
  }
}

/** The JSON objects of a `go ... -json` output, which prints them one after another. */
export function parseGoJson<T = Record<string, unknown>>(stdout: string): T[] {
  const values: T[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < stdout.length; i++) {
    const ch = stdout[i];
    if (inString) {
      if (ch === "\\") i++;
      else if (ch === '"') inString = false;
    } else if (ch === '"') {
      inString = true;
    } else if (ch === "{") {
      if (depth++ === 0) start = i;
    } else if (ch === "}" && --depth === 0) {
      values.push(JSON.parse(stdout.slice(start, i + 1)) as T);
    }
  }
  if (depth !== 0)
    throw new Error(`go -json output ends inside an object: ${stdout.slice(start, start + 200)}`);
  return values;
}
