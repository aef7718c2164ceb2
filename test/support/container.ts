import { execFile, execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { TEST_CACHE } from "./gohelper";
import { SYSTEM_TMPDIR_ENV } from "./run-tmpdir";

/**
 * podman for tests, with no registry: a local Node base assembled from the node binary running
 * the tests (under `npm test`, the Node of tools/node: the version the image ships), and helpers
 * to build, run, stop and inspect the project's image. podman is configured through files of
 * its own (CONTAINERS_CONF, CONTAINERS_STORAGE_CONF), never the machine's: runc with cgroupfs
 * and fixed ulimits works where crun cannot set rlimits or use hybrid cgroups. Image storage is
 * kept under node_modules/.cache so the base is assembled once; containers are removed by
 * `dispose()`.
 */

const execFileAsync = promisify(execFile);

/** The tag the local base is imported under: its major is that of the node running the tests. */
export const LOCAL_BASE_IMAGE = `localhost/gomirror-node-base:${process.versions.node.split(".")[0]}`;

/** The tag of the local stand-in for the Dockerfile's GIT_BUILDER_IMAGE: the Node base plus the host's git and ssh. */
export const LOCAL_GIT_BUILDER_IMAGE = `localhost/gomirror-git-builder:${process.versions.node.split(".")[0]}`;

/** The uid (and gid) the image runs as: distroless's `nonroot`. */
export const NONROOT_UID = 65532;

export interface PodmanOptions {
  /**
   * Directory for image storage (podman's graphroot).
   * @default node_modules/.cache/gomirror-test/podman/storage
   */
  readonly storageDir?: string;
}

export interface BuildOptions {
  /** The build context directory. */
  readonly context: string;
  /** @default <context>/Dockerfile */
  readonly dockerfile?: string;
  readonly tag: string;
  readonly buildArgs?: Readonly<Record<string, string>>;
  /** `--network` for RUN steps. @default "none" (a build must not need the network) */
  readonly network?: string;
}

export interface RunOptions {
  readonly image: string;
  /** A container name; also what `dispose()` removes. */
  readonly name: string;
  /** @default true */
  readonly readOnly?: boolean;
  /** `--user`. @default the image's own user */
  readonly user?: string;
  /** @default "host" (the server binds a loopback address through its listen setting) */
  readonly network?: string;
  readonly env?: Readonly<Record<string, string>>;
  /** host directory -> container path; mounted with `:U` so the image's user owns it. */
  readonly volumes?: Readonly<Record<string, string>>;
  /** Replaces the image's ENTRYPOINT. */
  readonly entrypoint?: string;
  /** Arguments after the image (the CMD). */
  readonly args?: readonly string[];
}

export interface ExecResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function podmanRunRoot(storageDir: string): string {
  // Run state belongs on a tmpfs-like place; it must stay at the same path for a given storage
  // dir, because podman's database remembers it: so in the machine's temp dir, not in the
  // test run's own (which is new for every run), and kept like the storage it belongs to.
  const key = createHash("sha256").update(storageDir).digest("hex").slice(0, 12);
  const tmp = process.env[SYSTEM_TMPDIR_ENV] ?? os.tmpdir();
  return path.join(tmp, `gomirror-podman-${process.getuid?.() ?? 0}-${key}`);
}

/** A podman command line bound to the test configuration. */
export class Podman {
  /** The environment every podman call runs with. */
  readonly env: NodeJS.ProcessEnv;
  private readonly confDir: string;
  private readonly containers = new Set<string>();
  private readonly images = new Set<string>();

  constructor(options: PodmanOptions = {}) {
    const storageDir = path.resolve(options.storageDir ?? path.join(TEST_CACHE, "podman", "storage"));
    const runRoot = podmanRunRoot(storageDir);
    mkdirSync(storageDir, { recursive: true });
    mkdirSync(runRoot, { recursive: true });
    this.confDir = mkdtempSync(path.join(os.tmpdir(), "gomirror-podman-conf-"));
    const containersConf = path.join(this.confDir, "containers.conf");
    const storageConf = path.join(this.confDir, "storage.conf");
    writeFileSync(
      containersConf,
      [
        "[containers]",
        'default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]',
        "[engine]",
        'runtime = "runc"',
        'cgroup_manager = "cgroupfs"',
        'events_logger = "file"',
        `tmp_dir = ${JSON.stringify(path.join(runRoot, "libpod"))}`,
        "",
      ].join("\n"),
    );
    writeFileSync(
      storageConf,
      [
        "[storage]",
        'driver = "overlay"',
        `graphroot = ${JSON.stringify(storageDir)}`,
        `runroot = ${JSON.stringify(path.join(runRoot, "storage"))}`,
        "",
      ].join("\n"),
    );
    this.env = { ...process.env, CONTAINERS_CONF: containersConf, CONTAINERS_STORAGE_CONF: storageConf };
  }

  /** Runs podman; throws with its stderr when it exits non-zero. */
  exec(args: readonly string[], timeoutMs = 120_000): string {
    try {
      return execFileSync("podman", args, {
        env: this.env,
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
        timeout: timeoutMs,
        maxBuffer: 64 * 1024 * 1024,
      });
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`podman ${args.join(" ")} failed: ${e.stderr?.trim() || e.message}`);
    }
  }

  /** Runs podman and returns its exit code and output, whatever the code. */
  async tryExec(args: readonly string[], timeoutMs = 120_000): Promise<ExecResult> {
    try {
      const { stdout, stderr } = await execFileAsync("podman", args, {
        env: this.env,
        encoding: "utf8",
        timeout: timeoutMs,
        maxBuffer: 64 * 1024 * 1024,
      });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code?: number | string; stdout?: string; stderr?: string; message: string };
      if (typeof e.code !== "number") throw new Error(`podman ${args.join(" ")}: ${e.message}`);
      return { code: e.code, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
    }
  }

  imageExists(tag: string): boolean {
    try {
      execFileSync("podman", ["image", "exists", tag], { env: this.env, stdio: "ignore" });
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Builds an image in docker format (OCI format would drop HEALTHCHECK). The image is removed
   * by `dispose()` unless `keep` is set.
   */
  build(options: BuildOptions, keep = false): string {
    // --layers=false: no intermediate images are kept, so repeated test builds leave nothing behind.
    const args = ["build", "--format", "docker", "--layers=false", "--network", options.network ?? "none"];
    args.push("-t", options.tag);
    args.push("-f", options.dockerfile ?? path.join(options.context, "Dockerfile"));
    for (const [k, v] of Object.entries(options.buildArgs ?? {})) args.push("--build-arg", `${k}=${v}`);
    args.push(options.context);
    this.exec(args, 300_000);
    if (!keep) this.images.add(options.tag);
    return options.tag;
  }

  /** `podman run` arguments for `options` (without `-d`/`--rm`). */
  runArgs(options: RunOptions): string[] {
    const args = ["--name", options.name, "--network", options.network ?? "host"];
    if (options.readOnly ?? true) args.push("--read-only");
    if (options.user) args.push("--user", options.user);
    for (const [k, v] of Object.entries(options.env ?? {})) args.push("--env", `${k}=${v}`);
    for (const [host, target] of Object.entries(options.volumes ?? {}))
      args.push("--volume", `${host}:${target}:U`);
    if (options.entrypoint) args.push("--entrypoint", options.entrypoint);
    args.push(options.image, ...(options.args ?? []));
    return args;
  }

  /** Starts a detached container; returns its id. */
  start(options: RunOptions): string {
    this.containers.add(options.name);
    return this.exec(["run", "--detach", ...this.runArgs(options)]).trim();
  }

  /** Runs a container to completion (then removes it) and returns its exit code and output. */
  runOnce(options: RunOptions, timeoutMs = 60_000): Promise<ExecResult> {
    return this.tryExec(["run", "--rm", ...this.runArgs(options)], timeoutMs);
  }

  /** `podman stop -t <seconds>`: the image's STOPSIGNAL, then SIGKILL after the grace time. */
  stop(name: string, graceSeconds = 10): void {
    this.exec(["stop", "--time", String(graceSeconds), name], (graceSeconds + 30) * 1000);
  }

  /** Sends a signal to the container's main process. */
  kill(name: string, signal = "TERM"): void {
    this.exec(["kill", "--signal", signal, name]);
  }

  /** Waits for the container to exit and returns its exit code. */
  async wait(name: string, timeoutMs = 30_000): Promise<number> {
    const result = await this.tryExec(["wait", name], timeoutMs);
    if (result.code !== 0) throw new Error(`podman wait ${name}: ${result.stderr.trim()}`);
    return Number(result.stdout.trim());
  }

  /** Runs the image's HEALTHCHECK once inside the container. */
  healthcheck(name: string): Promise<ExecResult> {
    return this.tryExec(["healthcheck", "run", name], 30_000);
  }

  logs(name: string): string {
    const result = execFileSync("podman", ["logs", name], {
      env: this.env,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
    return result;
  }

  /** `podman inspect` of a container, parsed. */
  inspectContainer(name: string): ContainerInspect {
    return (JSON.parse(this.exec(["container", "inspect", name])) as ContainerInspect[])[0];
  }

  /** `podman image inspect`, parsed. */
  inspectImage(tag: string): ImageInspect {
    return (JSON.parse(this.exec(["image", "inspect", tag])) as ImageInspect[])[0];
  }

  /** Removes one container (running or not). */
  remove(name: string): void {
    this.exec(["rm", "--force", "--volumes", "--time", "0", name]);
    this.containers.delete(name);
  }

  /** Removes every container started and every image built through this instance, and the config. */
  dispose(): void {
    for (const name of this.containers) {
      try {
        this.remove(name);
      } catch {
        // already gone
      }
    }
    for (const tag of this.images) {
      try {
        this.exec(["rmi", "--force", tag]);
      } catch {
        // already gone
      }
    }
    this.images.clear();
    rmSync(this.confDir, { recursive: true, force: true });
  }
}

/**
 * stderr without podman's complaints that it cannot reach systemd to schedule health checks
 * (there is no systemd here; tests run the checks themselves).
 */
export function withoutSystemdNoise(stderr: string): string {
  return stderr
    .split("\n")
    .filter((line) => !/level=error msg=".*systemd/.test(line))
    .join("\n");
}

/** The parts of `podman container inspect` the tests read. */
export interface ContainerInspect {
  readonly Id: string;
  readonly State: {
    readonly Status: string;
    readonly Running: boolean;
    readonly ExitCode: number;
    /** The last health check's verdict ("healthy", "unhealthy", "starting"); podman 4.3 names it Healthcheck. */
    readonly Healthcheck?: { readonly Status: string };
    readonly Health?: { readonly Status: string };
  };
  readonly Config: { readonly User: string };
}

/** The parts of `podman image inspect` the tests read. */
export interface ImageInspect {
  readonly Id: string;
  readonly Size: number;
  readonly Config: {
    readonly User?: string;
    readonly Env?: string[];
    readonly Entrypoint?: string[];
    readonly Cmd?: string[];
    readonly ExposedPorts?: Record<string, unknown>;
    readonly Labels?: Record<string, string>;
    readonly Volumes?: Record<string, unknown>;
    readonly StopSignal?: string;
  };
  /** Durations in nanoseconds. */
  readonly Healthcheck?: {
    readonly Test: string[];
    readonly Interval?: number;
    readonly Timeout?: number;
    readonly StartPeriod?: number;
    readonly Retries?: number;
  };
}

function sharedLibrariesOf(binary: string): string[] {
  const out = execFileSync("ldd", [binary], { encoding: "utf8" });
  const libs: string[] = [];
  for (const line of out.split("\n")) {
    const m = /=>\s+(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (m) libs.push(m[1]);
  }
  return libs;
}

const CA_BUNDLES = ["/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt"];

/**
 * Lays out a distroless-like root filesystem with a node binary (by default the one running the
 * tests): `/nodejs/bin/node` (off the default PATH, as in gcr.io/distroless/nodejs*), its
 * shared libraries and loader, the CA bundle, a passwd/group with `nonroot` = 65532, and a
 * world-writable /tmp. No shell: the Dockerfile must not need one.
 */
export function assembleNodeRootfs(dir: string, nodeBinary = process.execPath): void {
  const put = (src: string, dest: string): void => {
    const target = path.join(dir, dest);
    mkdirSync(path.dirname(target), { recursive: true });
    copyFileSync(src, target); // follows symlinks
    chmodSync(target, statSync(src).mode & 0o7777);
  };
  put(nodeBinary, "nodejs/bin/node");
  for (const lib of sharedLibrariesOf(nodeBinary)) put(lib, lib);
  const ca = CA_BUNDLES.find((f) => existsSync(f));
  if (!ca) throw new Error(`no CA bundle at ${CA_BUNDLES.join(" or ")}: install ca-certificates`);
  put(ca, "etc/ssl/certs/ca-certificates.crt");
  mkdirSync(path.join(dir, "etc"), { recursive: true });
  writeFileSync(
    path.join(dir, "etc", "passwd"),
    `root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:${NONROOT_UID}:${NONROOT_UID}:nonroot:/home/nonroot:/sbin/nologin\n`,
  );
  writeFileSync(path.join(dir, "etc", "group"), `root:x:0:\nnonroot:x:${NONROOT_UID}:\n`);
  for (const d of ["tmp", "var/tmp", "home/nonroot", "root"])
    mkdirSync(path.join(dir, d), { recursive: true });
  chmodSync(path.join(dir, "tmp"), 0o1777);
  chmodSync(path.join(dir, "var", "tmp"), 0o1777);
}

function fingerprintOf(nodeBinary: string): string {
  const st = statSync(nodeBinary);
  return createHash("sha256")
    .update(`${nodeBinary}\0${st.size}\0${st.mtimeMs}\0${process.version}\0rootfs-v1`)
    .digest("hex")
    .slice(0, 16);
}

/**
 * Makes sure `LOCAL_BASE_IMAGE` exists and was built from the node binary running the tests;
 * imports it when not (another binary or version changes the fingerprint, so the base follows
 * the tests' Node). Configured like the distroless `:nonroot` images: ENTRYPOINT
 * /nodejs/bin/node, user 65532.
 */
export function ensureLocalNodeBase(podman: Podman, tag = LOCAL_BASE_IMAGE): string {
  const fingerprint = fingerprintOf(process.execPath);
  if (podman.imageExists(tag)) {
    const labels = podman.inspectImage(tag).Config.Labels ?? {};
    if (labels["gomirror.test.base-fingerprint"] === fingerprint) return tag;
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), "gomirror-node-rootfs-"));
  try {
    assembleNodeRootfs(dir);
    const changes = [
      "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      "ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",
      `USER ${NONROOT_UID}`,
      "WORKDIR /home/nonroot",
      'ENTRYPOINT ["/nodejs/bin/node"]',
      `LABEL gomirror.test.base-fingerprint=${fingerprint}`,
    ];
    const tar = execFileSync("tar", ["-C", dir, "--numeric-owner", "--owner=0", "--group=0", "-c", "."], {
      maxBuffer: 1024 * 1024 * 1024,
    });
    const args = ["import"];
    for (const c of changes) args.push("--change", c);
    args.push("-", tag);
    execFileSync("podman", args, {
      env: podman.env,
      input: tar,
      stdio: ["pipe", "ignore", "pipe"],
      timeout: 120_000,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return tag;
}

/** What the Dockerfile's first stage gathers (image/git-rootfs.js), as the host has it. */
const HOST_GIT_FILES = ["/usr/lib/git-core/git", "/usr/lib/git-core/git-remote-http", "/usr/bin/ssh"];
const HOST_GIT_TEMPLATES = "/usr/share/git-core/templates";

/**
 * Makes sure `LOCAL_GIT_BUILDER_IMAGE` exists: the local Node base plus the host's git (its
 * HTTPS helper and templates), ssh and their libraries, laid out as Debian lays them out, so
 * that the Dockerfile's git stage finds them and needs no network.
 */
export function ensureLocalGitBuilder(podman: Podman, tag = LOCAL_GIT_BUILDER_IMAGE): string {
  const gitVersion = execFileSync("git", ["--version"], { encoding: "utf8" }).trim();
  const fingerprint = createHash("sha256")
    .update(`${fingerprintOf(process.execPath)}\0${gitVersion}\0git-builder-v1`)
    .digest("hex")
    .slice(0, 16);
  if (podman.imageExists(tag)) {
    const labels = podman.inspectImage(tag).Config.Labels ?? {};
    if (labels["gomirror.test.base-fingerprint"] === fingerprint) return tag;
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), "gomirror-git-builder-rootfs-"));
  try {
    assembleNodeRootfs(dir);
    const put = (src: string): void => {
      const target = path.join(dir, src);
      mkdirSync(path.dirname(target), { recursive: true });
      copyFileSync(src, target);
      chmodSync(target, statSync(src).mode & 0o7777);
    };
    for (const f of HOST_GIT_FILES) {
      put(f);
      for (const lib of sharedLibrariesOf(f)) put(lib);
    }
    cpSync(HOST_GIT_TEMPLATES, path.join(dir, HOST_GIT_TEMPLATES), { recursive: true, dereference: true });
    const tar = execFileSync("tar", ["-C", dir, "--numeric-owner", "--owner=0", "--group=0", "-c", "."], {
      maxBuffer: 1024 * 1024 * 1024,
    });
    const args = ["import"];
    for (const c of [
      "ENV PATH=/nodejs/bin:/usr/local/bin:/usr/bin:/bin",
      `LABEL gomirror.test.base-fingerprint=${fingerprint}`,
    ]) {
      args.push("--change", c);
    }
    args.push("-", tag);
    execFileSync("podman", args, {
      env: podman.env,
      input: tar,
      stdio: ["pipe", "ignore", "pipe"],
      timeout: 120_000,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return tag;
}
