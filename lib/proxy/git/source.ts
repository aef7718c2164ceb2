import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Logger } from "pino";
import { isNotFound, ProxyError } from "../errors";
import { isPseudoVersion } from "../module/pseudo";
import { canonical, compare, isValid, prerelease } from "../module/semver";
import type { Download, ModuleInfo, ModuleOrigin, ModuleSource } from "../sources/source";
import { type Credentials, credentialsFromEnv, noCredentials, parseNetrc, redactURL } from "./credentials";
import { discoverRepo, type RepoRoot } from "./discovery";
import { type RewriteRule, rewriteURL } from "./rewrite";
import { GitRepo } from "./repo";
import { checkRevision } from "./validate";
import { ModuleRepo, type ResolvedVersion } from "./versions";
import { buildModuleZip } from "./zip";

/**
 * A ModuleSource that reads modules straight from their git repositories over smart HTTP(S),
 * with no git binary and no shell: what `direct` means in the GOPROXY list, and where
 * GOPRIVATE / GONOPROXY paths come from. Answers are the go command's own (GOPROXY=direct): the
 * same version list, the same `.info` (Version, Time, Origin as the go command writes it into
 * its module cache), the same go.mod and a zip with the same h1: hash.
 *
 * Only the repository's own host (and the go-get host of the module path) is ever contacted.
 * Operations on one repository are serialized; identical concurrent requests share one answer.
 */
export interface GitSourceOptions {
  /** URL rewrites (GOMIRROR_GIT_REWRITE). @default none */
  readonly rewrite?: readonly RewriteRule[];
  /** Per-host credentials (NETRC / GOMIRROR_NETRC). @default none */
  readonly credentials?: Credentials;
  /**
   * Directory for the per-repository object stores and zips being built; removed by close()
   * when the source created it.
   * @default a new directory under the OS temporary directory
   */
  readonly workDir?: string;
  /** Deadline of one network operation (ls-remote, one fetch), in ms. @default 120000 */
  readonly timeoutMs?: number;
  /** Deadline of the go-get lookups for one module path, in ms. @default 30000 */
  readonly discoveryTimeoutMs?: number;
  /** Largest pack one fetch may download, in bytes. @default 512 MiB */
  readonly maxPackBytes?: number;
  /** Largest ref advertisement, in bytes. @default 32 MiB */
  readonly maxRefsBytes?: number;
  /** How long a repository's ref listing is reused, in ms. @default 10000 */
  readonly refsTtlMs?: number;
  /** How long a module path's repository lookup (go-get) is reused, in ms. @default 600000 */
  readonly discoveryTtlMs?: number;
  /** A repository's object store is removed after this long unused, in ms. @default 900000 */
  readonly idleMs?: number;
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
}

interface RepoEntry {
  readonly repo: GitRepo;
  readonly dir: string;
  tail: Promise<unknown>;
  busy: number;
  lastUsed: number;
}

export class GitSource implements ModuleSource {
  /** Builds the source from the proxy's configuration (GOMIRROR_GIT_REWRITE, NETRC, GOMIRROR_NETRC). */
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
    return new GitSource({
      rewrite: config.gitRewrite ?? [],
      credentials,
      ...(logger ? { logger } : {}),
      ...extra,
    });
  }

  private readonly workDir: string;
  private readonly ownsWorkDir: boolean;
  private readonly repos = new Map<string, RepoEntry>();
  private readonly roots = new Map<string, { at: number; root: Promise<RepoRoot> }>();
  private readonly inflight = new Map<string, Promise<unknown>>();
  private closed = false;
  private generation = 0;

  constructor(private readonly options: GitSourceOptions = {}) {
    if (options.workDir) {
      mkdirSync(options.workDir, { recursive: true });
      this.workDir = options.workDir;
      this.ownsWorkDir = false;
    } else {
      this.workDir = mkdtempSync(path.join(os.tmpdir(), "gomirror-git-"));
      this.ownsWorkDir = true;
    }
  }

  async list(modulePath: string): Promise<string[]> {
    return this.run("list", modulePath, "", (m) => m.versions());
  }

  async info(modulePath: string, query: string): Promise<ModuleInfo> {
    checkRevision(query);
    return this.run("info", modulePath, query, async (m) => {
      if (query === "latest") return this.toInfo(m, await this.latestOf(m));
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
          const match = highest((await m.versions()).filter((v) => isVersionPrefix(query, v)));
          if (match) return this.toInfo(m, await m.stat(match));
        }
        throw err;
      }
    });
  }

  async latest(modulePath: string): Promise<ModuleInfo> {
    return this.run("latest", modulePath, "", async (m) => this.toInfo(m, await this.latestOf(m)));
  }

  async mod(modulePath: string, version: string): Promise<Buffer> {
    checkRevision(version);
    return this.run("mod", modulePath, version, (m) => m.goMod(version));
  }

  async zip(modulePath: string, version: string): Promise<Download> {
    checkRevision(version);
    return this.run("zip", modulePath, version, (m) =>
      buildModuleZip(m, version, path.join(this.workDir, "zips")),
    );
  }

  /** Removes the object stores (and the work directory when this source created it). */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.repos.values()].map((e) => e.tail));
    if (this.ownsWorkDir) rmSync(this.workDir, { recursive: true, force: true });
    else for (const e of this.repos.values()) rmSync(e.dir, { recursive: true, force: true });
    this.repos.clear();
  }

  /** Highest release, else highest pre-release, else the default branch head's pseudo-version. */
  private async latestOf(m: ModuleRepo): Promise<ResolvedVersion> {
    const best = highest(await m.versions());
    return best ? m.stat(best) : m.latestCommit();
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

  /** Runs `fn` on the module's repository: single-flight per request, serialized per repository. */
  private run<T>(op: string, modulePath: string, arg: string, fn: (m: ModuleRepo) => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new ProxyError("internal", "the git source is closed"));
    const key = `${op}\0${modulePath}\0${arg}`;
    const running = this.inflight.get(key);
    if (running) return running as Promise<T>;
    const started = Date.now();
    const p = (async () => {
      const root = await this.rootOf(modulePath);
      const entry = this.repoFor(root);
      const m = new ModuleRepo(entry.repo, root.root, modulePath, root.subdir);
      entry.busy++;
      const result = entry.tail.then(
        () => fn(m),
        () => fn(m),
      );
      entry.tail = result.catch(() => undefined);
      try {
        return await result;
      } finally {
        entry.busy--;
        entry.lastUsed = Date.now();
      }
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
        void this.sweep();
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

  private repoFor(root: RepoRoot): RepoEntry {
    const known = this.repos.get(root.repoURL);
    if (known) return known;
    const rewritten = new URL(rewriteURL(root.repoURL, this.options.rewrite ?? []));
    const urlCredential =
      rewritten.username || rewritten.password
        ? { login: decodeURIComponent(rewritten.username), password: decodeURIComponent(rewritten.password) }
        : undefined;
    rewritten.username = "";
    rewritten.password = "";
    // A fresh name per entry: a swept entry's directory may still be being removed.
    const dir = path.join(
      this.workDir,
      "repos",
      `${createHash("sha256").update(root.repoURL).digest("hex").slice(0, 24)}-${++this.generation}`,
    );
    const logger = this.options.logger;
    const repo = new GitRepo({
      url: root.repoURL,
      fetchURL: rewritten.toString(),
      ...(urlCredential ? { urlCredential } : {}),
      credentials: this.options.credentials ?? noCredentials,
      dir,
      timeoutMs: this.options.timeoutMs ?? 120_000,
      maxPackBytes: this.options.maxPackBytes ?? 512 << 20,
      maxRefsBytes: this.options.maxRefsBytes ?? 32 << 20,
      refsTtlMs: this.options.refsTtlMs ?? 10_000,
      onNetwork: (e) => logger?.debug({ event: "git_network", ...e }),
    });
    const entry: RepoEntry = { repo, dir, tail: Promise.resolve(), busy: 0, lastUsed: Date.now() };
    this.repos.set(root.repoURL, entry);
    logger?.debug({ event: "git_repo", url: redactURL(root.repoURL), root: root.root });
    return entry;
  }

  /** Drops object stores of repositories unused for `idleMs`. */
  private async sweep(): Promise<void> {
    const idle = this.options.idleMs ?? 900_000;
    const now = Date.now();
    for (const [url, e] of this.repos) {
      if (e.busy === 0 && now - e.lastUsed > idle) {
        this.repos.delete(url);
        await rm(e.dir, { recursive: true, force: true });
      }
    }
  }
}

/** Highest release, else highest pre-release (`+incompatible` ones count as releases). */
function highest(versions: readonly string[]): string | undefined {
  let best: string | undefined;
  for (const v of versions) {
    if (prerelease(v) !== "") continue;
    if (!best || compare(v, best) > 0) best = v;
  }
  if (best) return best;
  for (const v of versions) if (!best || compare(v, best) > 0) best = v;
  return best;
}

/** Whether `v` matches the version prefix query `q` (`v1` matches v1.x.y, `v1.2` matches v1.2.y). */
function isVersionPrefix(q: string, v: string): boolean {
  return v.startsWith(`${q}.`);
}

/** A commit time as Go's time.Time marshals to JSON in UTC: `2024-01-03T10:00:00Z`. */
function goTime(t: Date): string {
  return t.toISOString().replace(/\.000Z$/, "Z");
}
