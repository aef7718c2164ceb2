import { createHash } from "node:crypto";
import { lstatSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Logger } from "pino";
import { isNotFound, ProxyError } from "../errors";
import { isPseudoVersion } from "../module/pseudo";
import { canonical, isValid } from "../module/semver";
import type { Download, ModuleInfo, ModuleOrigin, ModuleSource } from "../sources/source";
import { ProcessSlots } from "./command";
import { type Credentials, credentialsFromEnv, noCredentials, parseNetrc, redactURL } from "./credentials";
import { discoverRepo, type RepoRoot } from "./discovery";
import {
  type GitHelpers,
  repoEnvironment,
  type SshSettings,
  type Transport,
  writeGitHelpers,
} from "./environment";
import { resolveLatest, resolvePrefix } from "./latest";
import { GitRepo } from "./repo";
import { type RewriteRule, rewriteURL } from "./rewrite";
import { RepoStore } from "./store";
import { checkRevision } from "./validate";
import { ModuleRepo, type ResolvedVersion } from "./versions";
import { buildModuleZip } from "./zip";

/**
 * A ModuleSource that reads modules straight from their git repositories with the git binary,
 * as the go command does: what `direct` means in the GOPROXY list, and where GOPRIVATE /
 * GONOPROXY paths come from. Answers are the go command's own (GOPROXY=direct): the same version
 * list, the same `.info` (Version, Time, Origin as the go command writes it into its module
 * cache), the same go.mod and a zip with the same h1: hash.
 *
 * Each remote is a bare repository in the work directory (the git cache), kept across restarts.
 * Only the repository's own host (and the go-get host of the module path) is ever contacted;
 * transports are https, http where a URL says so, and ssh with a known_hosts file. Identical
 * concurrent requests share one answer; fetches of one repository never run at once, and the
 * refs asked for meanwhile are fetched together.
 */
export interface GitSourceOptions {
  /** URL rewrites (GOMIRROR_GIT_REWRITE). @default none */
  readonly rewrite?: readonly RewriteRule[];
  /** Per-host credentials (NETRC / GOMIRROR_NETRC). @default none */
  readonly credentials?: Credentials;
  /**
   * The git cache: a bare repository per remote, kept across restarts, plus git's helper scripts.
   * Removed by close() only when the source created it.
   * @default a new directory under the OS temporary directory
   */
  readonly workDir?: string;
  /** SSH key and known_hosts for ssh:// remotes (GOMIRROR_GIT_SSH_KEY, GOMIRROR_GIT_KNOWN_HOSTS). @default none: ssh refused */
  readonly ssh?: SshSettings;
  /** Deadline of one git command (ls-remote, one fetch, one archive), in ms. @default 600000 */
  readonly timeoutMs?: number;
  /** Deadline of the go-get lookups for one module path, in ms. @default 30000 */
  readonly discoveryTimeoutMs?: number;
  /** How long a repository's ref listing is reused, in ms. @default 10000 */
  readonly refsTtlMs?: number;
  /** How long a module path's repository lookup (go-get) is reused, in ms. @default 600000 */
  readonly discoveryTtlMs?: number;
  /** Git processes running at once, over all repositories. @default 8 */
  readonly maxProcesses?: number;
  /** Hosts with github.com's `host/owner/repo` layout. @default ["github.com", "bitbucket.org"] */
  readonly knownHosts?: readonly string[];
  /** @default no logging */
  readonly logger?: Logger;
}

/** The subset of the proxy configuration the git source reads. */
export interface GitSourceConfig {
  readonly gitRewrite?: readonly RewriteRule[];
  readonly netrcPath?: string;
  readonly netrc?: string;
  readonly gitCacheDir?: string;
  readonly gitSshKey?: string;
  readonly gitKnownHosts?: string;
}

export class GitSource implements ModuleSource {
  /** Builds the source from the proxy's configuration (GOMIRROR_GIT_REWRITE, NETRC, GOMIRROR_NETRC). */
  /**
   * Builds the source from the proxy's configuration (GOMIRROR_GIT_REWRITE, NETRC, GOMIRROR_NETRC,
   * GOMIRROR_GIT_CACHE, GOMIRROR_GIT_SSH_KEY, GOMIRROR_GIT_KNOWN_HOSTS).
   */
  static fromConfig(
    config: GitSourceConfig,
    logger?: Logger,
    extra: Partial<GitSourceOptions> = {},
  ): GitSource {
    const credentials = config.netrc
      ? parseNetrc(config.netrc)
      : config.netrcPath
        ? credentialsFromEnv({ NETRC: config.netrcPath })
        : noCredentials;
    // A configured directory is the operator's; the default one, in a shared temporary
    // directory, must not be one someone else prepared.
    const workDir = config.gitCacheDir || ownedCacheDir(defaultCacheDir());
    return new GitSource({
      rewrite: config.gitRewrite ?? [],
      credentials,
      workDir,
      ssh: {
        ...(config.gitSshKey ? { keyFile: config.gitSshKey } : {}),
        ...(config.gitKnownHosts ? { knownHostsFile: config.gitKnownHosts } : {}),
      },
      ...(logger ? { logger } : {}),
      ...extra,
    });
  }

  private readonly workDir: string;
  private readonly ownsWorkDir: boolean;
  private readonly helpers: GitHelpers;
  private readonly slots: ProcessSlots;
  private readonly repos = new Map<string, GitRepo>();
  private readonly roots = new Map<string, { at: number; root: Promise<RepoRoot> }>();
  private readonly inflight = new Map<string, Promise<unknown>>();
  private closed = false;

  constructor(private readonly options: GitSourceOptions = {}) {
    if (options.workDir) {
      mkdirSync(options.workDir, { recursive: true, mode: 0o700 });
      this.workDir = options.workDir;
      this.ownsWorkDir = false;
    } else {
      this.workDir = mkdtempSync(path.join(os.tmpdir(), "gomirror-git-"));
      this.ownsWorkDir = true;
    }
    this.helpers = writeGitHelpers(path.join(this.workDir, "home"));
    mkdirSync(path.join(this.workDir, "repos"), { recursive: true });
    this.slots = new ProcessSlots(options.maxProcesses ?? 8);
  }

  async list(modulePath: string): Promise<string[]> {
    return this.run("list", modulePath, "", (m) => m.versions());
  }

  async info(modulePath: string, query: string): Promise<ModuleInfo> {
    checkRevision(query);
    return this.run("info", modulePath, query, async (m) => {
      if (query === "latest") return this.toInfo(m, await resolveLatest(m));
      try {
        return this.toInfo(m, await m.stat(query));
      } catch (err) {
        // `v1` / `v1.2`: not a tag or branch of that name, so a version prefix query.
        if (
          isNotFound(err) &&
          isValid(query) &&
          canonical(query) !== query &&
          !query.includes("-") &&
          !query.includes("+")
        ) {
          const match = await resolvePrefix(m, query);
          if (match) return this.toInfo(m, match);
        }
        throw err;
      }
    });
  }

  async latest(modulePath: string): Promise<ModuleInfo> {
    return this.run("latest", modulePath, "", async (m) => this.toInfo(m, await resolveLatest(m)));
  }

  async mod(modulePath: string, version: string): Promise<Buffer> {
    checkRevision(version);
    return this.run("mod", modulePath, version, (m) => m.goMod(version));
  }

  async zip(modulePath: string, version: string): Promise<Download> {
    checkRevision(version);
    return this.run("zip", modulePath, version, (m) => buildModuleZip(m, version, os.tmpdir()));
  }

  /**
   * Waits for the requests in progress, then removes the work directory when this source created
   * it (a configured git cache stays for the next start).
   */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.inflight.values()]);
    if (this.ownsWorkDir) rmSync(this.workDir, { recursive: true, force: true });
    this.repos.clear();
  }

  private toInfo(m: ModuleRepo, r: ResolvedVersion): ModuleInfo {
    // The Origin as the go command writes it into its module cache (modfetch writeDiskStat):
    // no TagPrefix/TagSum, and no Ref for a pseudo-version.
    const origin: ModuleOrigin = {
      VCS: "git",
      URL: m.code.url,
      ...(m.codeDir !== "" ? { Subdir: m.codeDir } : {}),
      Hash: r.rev.name,
      ...(r.rev.ref && !isPseudoVersion(r.version) ? { Ref: r.rev.ref } : {}),
    };
    return { Version: r.version, Time: goTime(r.rev.time), Origin: origin };
  }

  /** Runs `fn` on the module's repository; identical concurrent requests share one run. */
  private run<T>(op: string, modulePath: string, arg: string, fn: (m: ModuleRepo) => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new ProxyError("internal", "the git source is closed"));
    const key = `${op}\0${modulePath}\0${arg}`;
    const running = this.inflight.get(key);
    if (running) return running as Promise<T>;
    const started = Date.now();
    const p = (async () => {
      const root = await this.rootOf(modulePath);
      return fn(new ModuleRepo(this.repoFor(root), root.root, modulePath, root.subdir));
    })();
    this.inflight.set(key, p);
    p.then(
      () =>
        this.options.logger?.debug({
          event: "git_source",
          op,
          module: modulePath,
          query: arg,
          durationMs: Date.now() - started,
        }),
      (err: unknown) =>
        this.options.logger?.[isNotFound(err) ? "debug" : "warn"]({
          event: isNotFound(err) ? "git_source" : "upstream_error",
          upstream: "direct",
          op,
          module: modulePath,
          query: arg,
          durationMs: Date.now() - started,
          error: err instanceof Error ? err.message : String(err),
        }),
    );
    void p
      .finally(() => {
        this.inflight.delete(key);
      })
      .catch(() => undefined);
    return p;
  }

  private rootOf(modulePath: string): Promise<RepoRoot> {
    const ttl = this.options.discoveryTtlMs ?? 600_000;
    const cached = this.roots.get(modulePath);
    if (cached && Date.now() - cached.at < ttl) return cached.root;
    const root = discoverRepo(modulePath, {
      rewrite: this.options.rewrite ?? [],
      credentials: this.options.credentials ?? noCredentials,
      timeoutMs: this.options.discoveryTimeoutMs ?? 30_000,
      ...(this.options.knownHosts ? { knownHosts: this.options.knownHosts } : {}),
    });
    this.roots.set(modulePath, { at: Date.now(), root });
    root.catch(() => this.roots.delete(modulePath));
    return root;
  }

  private repoFor(root: RepoRoot): GitRepo {
    const known = this.repos.get(root.repoURL);
    if (known) return known;
    const rewritten = new URL(rewriteURL(root.repoURL, this.options.rewrite ?? []));
    const transport = transportOf(rewritten, root.repoURL);
    if (transport === "ssh" && (!this.options.ssh?.knownHostsFile || !this.options.ssh.keyFile)) {
      throw new ProxyError(
        "forbidden",
        `${redactURL(root.repoURL)} is reached over ssh, which needs GOMIRROR_GIT_SSH_KEY and GOMIRROR_GIT_KNOWN_HOSTS`,
      );
    }
    const userInfo =
      rewritten.username || rewritten.password
        ? { login: decodeURIComponent(rewritten.username), password: decodeURIComponent(rewritten.password) }
        : undefined;
    // ssh keeps its user name (git@host); HTTP(S) user info becomes a credential, never part of the URL.
    if (transport !== "ssh") {
      rewritten.username = "";
      rewritten.password = "";
    }
    const fetchURL = rewritten.toString();
    const credential =
      transport === "ssh"
        ? undefined
        : (userInfo ??
          this.options.credentials?.forHost(rewritten.host) ??
          this.options.credentials?.forHost(new URL(root.repoURL).host));
    const logger = this.options.logger;
    const timeoutMs = this.options.timeoutMs ?? 600_000;
    const store = new RepoStore({
      dir: path.join(this.workDir, "repos", createHash("sha256").update(fetchURL).digest("hex").slice(0, 32)),
      fetchURL,
      url: root.repoURL,
      env: repoEnvironment({
        helpers: this.helpers,
        transport,
        ...(credential ? { credential: { origin: rewritten.origin, ...credential } } : {}),
        ...(transport === "ssh" && this.options.ssh ? { ssh: this.options.ssh } : {}),
      }),
      slots: this.slots,
      timeoutMs,
      onRepair: (e) => logger?.warn({ event: "git_cache_repaired", ...e }, "repaired a git cache entry"),
    });
    const repo = new GitRepo({
      url: root.repoURL,
      store,
      slots: this.slots,
      timeoutMs,
      refsTtlMs: this.options.refsTtlMs ?? 10_000,
      onNetwork: (e) => logger?.debug({ event: "git_network", ...e }),
    });
    this.repos.set(root.repoURL, repo);
    logger?.debug({ event: "git_repo", url: redactURL(root.repoURL), root: root.root });
    return repo;
  }
}

/** The transport git uses for a URL: https, http only where a URL (discovered or rewritten) says so, or ssh. */
function transportOf(url: URL, discovered: string): Transport {
  switch (url.protocol) {
    case "https:":
      return "https";
    case "http:":
      return "http";
    case "ssh:":
      return "ssh";
    default:
      throw new ProxyError(
        "forbidden",
        `${redactURL(discovered)} is reached through ${url.protocol} (only https, http and ssh are allowed)`,
      );
  }
}

/** The default git cache: one per user under the OS temporary directory, kept across restarts. */
function defaultCacheDir(): string {
  return path.join(os.tmpdir(), `gomirror-git-${os.userInfo().uid}`);
}

/** `dir`, created if needed; refused when another user could have prepared it (a symlink, someone else's). */
export function ownedCacheDir(dir: string): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  const uid = process.getuid?.();
  if (!st.isDirectory() || (uid !== undefined && st.uid !== uid) || (st.mode & 0o022) !== 0) {
    throw new ProxyError(
      "internal",
      `the git cache ${dir} must be a directory of this user (uid ${uid ?? "?"}) that no one else can write; ` +
        "fix it or set GOMIRROR_GIT_CACHE",
    );
  }
  return dir;
}

/** A commit time as Go's time.Time marshals to JSON in UTC: `2024-01-03T10:00:00Z`. */
function goTime(t: Date): string {
  return t.toISOString().replace(/\.000Z$/, "Z");
}
