import fs from "node:fs";
import { mkdir, stat as fsStat } from "node:fs/promises";
import * as git from "isomorphic-git";
import { ProxyError } from "../errors";
import { type Credential, type Credentials, redactURL } from "./credentials";
import { HttpBudget } from "./http";
import { checkRefName } from "./validate";

/**
 * One remote git repository, seen the way the go command's codehost.gitRepo sees it: the
 * remote's refs (an ls-remote), `stat` of a revision (tag, branch, HEAD, hash or hash prefix),
 * files at a revision, and the history questions pseudo-versions ask. Objects are fetched into a
 * bare repository in this repo's cache directory, as little as possible: a shallow fetch of one
 * ref for a tag or branch, the whole history only for a commit that is not a ref tip or for
 * pseudo-version bases.
 *
 * Not safe for concurrent use: the GitSource serializes the operations on one repository.
 */

/** What the go command calls a RevInfo: a resolved commit. */
export interface RevInfo {
  /** Full commit hash. */
  readonly name: string;
  /** First 12 hex digits (the pseudo-version's revision). */
  readonly short: string;
  /** Committer time. */
  readonly time: Date;
  /** The tag name asked for when it names this commit, else the hash. */
  readonly version: string;
  /** Tags pointing at this commit (annotated tags peeled), sorted. */
  readonly tags: readonly string[];
  /** The ref the revision was resolved through (`refs/tags/v1.0.0`, `refs/heads/main`, `HEAD`). */
  readonly ref?: string;
}

export interface GitRepoOptions {
  /** The repository URL as discovered (also what `.info` Origin.URL reports). */
  readonly url: string;
  /** The URL actually contacted (after GOMIRROR_GIT_REWRITE, without user info). */
  readonly fetchURL: string;
  /** Credential from user info in the rewritten URL. */
  readonly urlCredential?: Credential;
  readonly credentials: Credentials;
  /** The bare repository directory (created on first use). */
  readonly dir: string;
  /** Deadline of one network operation (ls-remote, one fetch), in ms. */
  readonly timeoutMs: number;
  /** Largest response of one fetch (the pack), in bytes. */
  readonly maxPackBytes: number;
  /** Largest ref advertisement, in bytes. */
  readonly maxRefsBytes: number;
  /** How long a ref listing stays fresh, in ms. */
  readonly refsTtlMs: number;
  /** Called for each network operation (for logs and metrics); never given secrets. */
  readonly onNetwork?: (event: { op: string; url: string; durationMs: number; error?: string }) => void;
}

/** Fewest hex digits accepted as a commit-hash prefix (cmd/go codehost minHashDigits). */
export const MIN_HASH_DIGITS = 7;
/** Depth meaning "everything" in the git protocol (git's INFINITE_DEPTH). */
const INFINITE_DEPTH = 0x7fffffff;

const HEX = /^[0-9a-f]+$/;

export class GitRepo {
  private refsCache?: { at: number; refs: Map<string, string> };
  private fetchedAll = false;
  private initialized = false;
  private readonly cache = {};
  private readonly ancestorCache = new Map<string, Set<string>>();

  constructor(private readonly options: GitRepoOptions) {}

  get url(): string {
    return this.options.url;
  }

  /** The remote's refs: `HEAD`, `refs/heads/*`, `refs/tags/*` (annotated tags peeled) to commit hashes. */
  async refs(): Promise<Map<string, string>> {
    const cached = this.refsCache;
    if (cached && Date.now() - cached.at < this.options.refsTtlMs) return cached.refs;
    const refs = await this.network("ls-remote", this.options.maxRefsBytes, async (http) => {
      const info = await git.getRemoteInfo2({ http, url: this.options.fetchURL, protocolVersion: 1 });
      const out = new Map<string, string>();
      for (const r of info.refs ?? []) {
        if (r.ref === "HEAD" || r.ref.startsWith("refs/heads/") || r.ref.startsWith("refs/tags/")) {
          if (r.ref.endsWith("^{}")) continue;
          out.set(r.ref, r.peeled ?? r.oid);
        }
      }
      return out;
    });
    this.refsCache = { at: Date.now(), refs };
    return refs;
  }

  /** Tags starting with `prefix`, sorted by name, with their commit hashes. */
  async tags(prefix: string): Promise<{ name: string; hash: string }[]> {
    const refs = await this.refs();
    const out: { name: string; hash: string }[] = [];
    for (const [ref, hash] of refs) {
      if (ref.startsWith("refs/tags/") && ref.slice(10).startsWith(prefix))
        out.push({ name: ref.slice(10), hash });
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Resolves a revision as the go command's gitRepo.stat does; not-found when it does not exist. */
  async stat(rev: string): Promise<RevInfo> {
    checkRefName(rev);
    const refs = await this.refs();
    let ref: string | undefined;
    let hash: string | undefined;
    let version = rev;
    if (refs.has(`refs/tags/${rev}`)) {
      ref = `refs/tags/${rev}`;
      hash = refs.get(ref);
    } else if (refs.has(`refs/heads/${rev}`)) {
      ref = `refs/heads/${rev}`;
      hash = refs.get(ref);
      version = hash as string;
    } else if (rev === "HEAD" && refs.has("HEAD")) {
      ref = "HEAD";
      hash = refs.get(ref);
      version = hash as string;
    } else if (rev.length >= MIN_HASH_DIGITS && rev.length <= 40 && HEX.test(rev)) {
      for (const [k, h] of refs) {
        if (!h.startsWith(rev)) continue;
        if (hash !== undefined && hash !== h) {
          throw new ProxyError("not-found", `ambiguous revision ${rev} in ${redactURL(this.url)}`);
        }
        if (ref === undefined || ref > k) ref = k;
        hash = h;
      }
      if (hash === undefined && rev.length === 40) hash = rev;
    } else {
      throw new ProxyError("not-found", `unknown revision ${rev} in ${redactURL(this.url)}`);
    }

    let commit: string | undefined;
    if (hash !== undefined && (await this.hasCommit(hash))) commit = hash;
    if (commit === undefined && ref !== undefined && hash !== undefined) {
      await this.fetchRef(ref);
      if (await this.hasCommit(hash)) commit = hash;
    }
    if (commit === undefined) {
      await this.fetchAll();
      commit = await this.expand(hash ?? rev);
    }
    if (commit === undefined)
      throw new ProxyError("not-found", `unknown revision ${rev} in ${redactURL(this.url)}`);

    const c = await git.readCommit({ fs, gitdir: this.options.dir, oid: commit, cache: this.cache });
    const tags: string[] = [];
    for (const [k, h] of refs) if (h === commit && k.startsWith("refs/tags/")) tags.push(k.slice(10));
    tags.sort();
    if (version.length < 40 && HEX.test(version) && commit.startsWith(version)) version = commit;
    if (!tags.includes(version)) version = commit;
    return {
      name: commit,
      short: commit.slice(0, 12),
      time: new Date(c.commit.committer.timestamp * 1000),
      version,
      tags,
      ...(ref !== undefined && ref !== commit ? { ref } : {}),
    };
  }

  /** The default branch's head (the remote's HEAD). */
  async latest(): Promise<RevInfo> {
    const refs = await this.refs();
    const head = refs.get("HEAD");
    if (!head) throw new ProxyError("not-found", `${redactURL(this.url)} has no commits`);
    const info = await this.stat(head);
    return { ...info, ref: "HEAD" };
  }

  /**
   * The blob at `file` in commit `hash` (any blob: a symlink's target text too, as
   * `git cat-file blob` gives), or undefined when there is none. Larger than `max`: too-large.
   */
  async readFile(hash: string, file: string, max: number): Promise<Buffer | undefined> {
    let blob: Uint8Array;
    try {
      ({ blob } = await git.readBlob({
        fs,
        gitdir: this.options.dir,
        oid: hash,
        filepath: file,
        cache: this.cache,
      }));
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw this.internal(`reading ${file} at ${hash}`, err);
    }
    if (blob.length > max) {
      throw new ProxyError(
        "too-large",
        `${file} at ${hash} in ${redactURL(this.url)} is larger than ${max} bytes`,
      );
    }
    return Buffer.from(blob);
  }

  /** Every entry under `subdir` ("" for all) at commit `hash`, depth first in git's tree order. */
  async listFiles(hash: string, subdir: string): Promise<{ path: string; mode: string; oid: string }[]> {
    const c = await git.readCommit({ fs, gitdir: this.options.dir, oid: hash, cache: this.cache });
    let tree = c.commit.tree;
    if (subdir !== "") {
      for (const part of subdir.split("/")) {
        const t = await git.readTree({ fs, gitdir: this.options.dir, oid: tree, cache: this.cache });
        const e = t.tree.find((x) => x.path === part && x.type === "tree");
        if (!e) return [];
        tree = e.oid;
      }
    }
    const out: { path: string; mode: string; oid: string }[] = [];
    const walk = async (oid: string, prefix: string): Promise<void> => {
      const t = await git.readTree({ fs, gitdir: this.options.dir, oid, cache: this.cache });
      for (const e of t.tree) {
        if (e.type === "tree") await walk(e.oid, `${prefix}${e.path}/`);
        else out.push({ path: prefix + e.path, mode: e.mode, oid: e.oid });
      }
    };
    await walk(tree, "");
    return out;
  }

  /** A blob's bytes. */
  async readBlob(oid: string): Promise<Buffer> {
    const { blob } = await git.readBlob({ fs, gitdir: this.options.dir, oid, cache: this.cache });
    return Buffer.from(blob);
  }

  /**
   * The highest allowed tag (by the semver order of what follows `prefix`) on `hash` or its
   * ancestors, like the go command's RecentTag: `compare` orders two tag suffixes.
   */
  async recentTag(
    hash: string,
    prefix: string,
    allowed: (tag: string) => boolean,
    compare: (a: string, b: string) => number,
  ): Promise<string> {
    const pick = (candidates: Iterable<string>): string => {
      let highest = "";
      for (const tag of candidates) {
        if (!tag.startsWith(prefix) || !allowed(tag)) continue;
        const sem = tag.slice(prefix.length);
        if (highest === "" || compare(sem, highest.slice(prefix.length)) > 0) highest = tag;
      }
      return highest;
    };
    const refs = await this.refs();
    // Tags on the commit itself decide without any history (what the go command's first,
    // shallow `git for-each-ref --merged` finds).
    const own = pick(
      [...refs].filter(([k, h]) => h === hash && k.startsWith("refs/tags/")).map(([k]) => k.slice(10)),
    );
    if (own !== "" && !HEX.test(own)) return own;
    const plausible = [...refs.keys()].some((k) => k.startsWith(`refs/tags/${prefix}v`));
    if (!plausible) return "";
    await this.fetchAll();
    const ancestors = await this.ancestors(hash);
    return pick(
      [...refs].filter(([k, h]) => k.startsWith("refs/tags/") && ancestors.has(h)).map(([k]) => k.slice(10)),
    );
  }

  /** Whether the commit `hash` descends from (or is) the commit tagged `tag`. */
  async descendsFrom(hash: string, tag: string): Promise<boolean> {
    const refs = await this.refs();
    const tagged = refs.get(`refs/tags/${tag}`);
    if (!tagged) return false;
    await this.fetchAll();
    return (await this.ancestors(hash)).has(tagged);
  }

  private async ancestors(hash: string): Promise<Set<string>> {
    const known = this.ancestorCache.get(hash);
    if (known) return known;
    const seen = new Set<string>([hash]);
    const queue = [hash];
    while (queue.length > 0) {
      const oid = queue.pop() as string;
      let parents: string[];
      try {
        parents = (await git.readCommit({ fs, gitdir: this.options.dir, oid, cache: this.cache })).commit
          .parent;
      } catch (err) {
        if (isMissing(err)) continue;
        throw this.internal(`walking the history of ${hash}`, err);
      }
      for (const p of parents) {
        if (!seen.has(p)) {
          seen.add(p);
          queue.push(p);
        }
      }
    }
    this.ancestorCache.set(hash, seen);
    return seen;
  }

  private async hasCommit(hash: string): Promise<boolean> {
    if (!this.initialized) return false;
    try {
      const o = await git.readObject({
        fs,
        gitdir: this.options.dir,
        oid: hash,
        format: "deflated",
        cache: this.cache,
      });
      return o.type === "commit" || o.format === "deflated";
    } catch {
      return false;
    }
  }

  private async expand(prefix: string): Promise<string | undefined> {
    try {
      const oid = await git.expandOid({ fs, gitdir: this.options.dir, oid: prefix, cache: this.cache });
      const o = await git.readObject({ fs, gitdir: this.options.dir, oid, cache: this.cache });
      return o.type === "commit" ? oid : undefined;
    } catch (err) {
      if ((err as { code?: string }).code === "AmbiguousError") {
        throw new ProxyError("not-found", `ambiguous revision ${prefix} in ${redactURL(this.url)}`);
      }
      return undefined;
    }
  }

  private async init(): Promise<void> {
    if (this.initialized) return;
    const dir = this.options.dir;
    const exists = await fsStat(`${dir}/config`).then(
      () => true,
      () => false,
    );
    if (!exists) {
      await mkdir(dir, { recursive: true });
      await git.init({ fs, gitdir: dir, bare: true, defaultBranch: "main" });
      await git.setConfig({ fs, gitdir: dir, path: "remote.origin.url", value: "origin" });
      await git.setConfig({
        fs,
        gitdir: dir,
        path: "remote.origin.fetch",
        value: "+refs/heads/*:refs/remotes/origin/*",
      });
    }
    this.initialized = true;
  }

  /** Shallow fetch of one ref (depth 1), like `git fetch --depth=1 remote ref:ref`. */
  private async fetchRef(ref: string): Promise<void> {
    if (this.fetchedAll) return;
    await this.init();
    await this.network(`fetch ${ref}`, this.options.maxPackBytes, async (http) => {
      await git.fetch({
        fs,
        http,
        gitdir: this.options.dir,
        url: this.options.fetchURL,
        ref,
        remoteRef: ref,
        singleBranch: true,
        depth: 1,
        tags: false,
        cache: this.cache,
      });
    });
  }

  /** Every branch and tag with full history (unshallowing what was fetched shallow). */
  private async fetchAll(): Promise<void> {
    if (this.fetchedAll) return;
    await this.init();
    const shallow = await fsStat(`${this.options.dir}/shallow`).then(
      (s) => s.size > 0,
      () => false,
    );
    await this.network("fetch all", this.options.maxPackBytes, async (http) => {
      await git.fetch({
        fs,
        http,
        gitdir: this.options.dir,
        url: this.options.fetchURL,
        singleBranch: false,
        tags: true,
        ...(shallow ? { depth: INFINITE_DEPTH } : {}),
        cache: this.cache,
      });
    });
    this.fetchedAll = true;
  }

  private async network<T>(
    op: string,
    maxBytes: number,
    body: (http: ReturnType<HttpBudget["client"]>) => Promise<T>,
  ): Promise<T> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.options.timeoutMs);
    const budget = new HttpBudget({
      credentials: this.options.credentials,
      signal: controller.signal,
      maxBytes,
      logicalHost: hostOf(this.options.url),
      ...(this.options.urlCredential ? { urlCredential: this.options.urlCredential } : {}),
    });
    const started = Date.now();
    try {
      // isomorphic-git swallows some body errors while parsing: a hit limit or deadline wins
      // over whatever it made of the cut-off stream.
      const result = await body(budget.client()).catch((err: unknown) => {
        throw budget.exceeded ?? err;
      });
      if (budget.exceeded) throw budget.exceeded;
      if (controller.signal.aborted)
        throw new ProxyError("upstream", `timed out after ${this.options.timeoutMs} ms`);
      this.options.onNetwork?.({ op, url: redactURL(this.options.url), durationMs: Date.now() - started });
      return result;
    } catch (err) {
      const e = this.translate(op, err, controller.signal.aborted);
      this.options.onNetwork?.({
        op,
        url: redactURL(this.options.url),
        durationMs: Date.now() - started,
        error: e.message,
      });
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  /** isomorphic-git and HTTP failures as ProxyErrors that name the repository, never its secrets. */
  private translate(op: string, err: unknown, timedOut: boolean): ProxyError {
    const where = redactURL(this.url);
    if (err instanceof ProxyError) return new ProxyError(err.kind, `git ${op} ${where}: ${err.message}`);
    if (timedOut) {
      return new ProxyError("upstream", `git ${op} ${where}: timed out after ${this.options.timeoutMs} ms`);
    }
    const status = (err as { data?: { statusCode?: number } }).data?.statusCode;
    if (status === 401 || status === 403) {
      return new ProxyError(
        "forbidden",
        `git ${op} ${where}: the git server answered ${status}: credentials for ${hostOf(this.url)} are missing or ` +
          "not accepted (put them into the netrc given by NETRC or GOMIRROR_NETRC)",
      );
    }
    if (status === 404 || status === 410) {
      return new ProxyError("not-found", `git ${op} ${where}: repository not found (${status})`);
    }
    if (status !== undefined)
      return new ProxyError("upstream", `git ${op} ${where}: the git server answered ${status}`);
    const code = (err as { code?: string }).code;
    return new ProxyError(
      "upstream",
      `git ${op} ${where}: ${code ?? "failed"}: ${scrub((err as Error).message ?? String(err))}`,
    );
  }

  private internal(what: string, err: unknown): ProxyError {
    return new ProxyError(
      "internal",
      `${what} in ${redactURL(this.url)}: ${scrub((err as Error).message ?? String(err))}`,
      { cause: err },
    );
  }
}

function isMissing(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === "NotFoundError" || code === "ObjectTypeError";
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return "";
  }
}

/** Removes anything that looks like URL user info from a message. */
function scrub(message: string): string {
  return message.replace(/(\/\/)[^/@\s]+@/g, "$1").slice(0, 500);
}
