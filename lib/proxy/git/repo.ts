import { createWriteStream, type WriteStream } from "node:fs";
import { Writable } from "node:stream";
import { ProxyError } from "../errors";
import { GitCommandError, type GitRunOptions, type ProcessSlots, runGit, runGitStatus } from "./command";
import { redactURL } from "./credentials";
import { RepoStore } from "./store";
import { refNameProblem } from "./validate";

/**
 * One remote git repository, seen the way the go command's codehost.gitRepo sees it, and worked
 * on the way it works: the git binary on a bare repository in a cache directory. The remote's
 * refs come from `git ls-remote`; a tag or branch is fetched alone and shallow
 * (`git fetch --depth=1 origin ref:ref`), the whole history only when a question needs it (a
 * commit that is no ref tip, pseudo-version bases); files are read with `git cat-file` and zips
 * made with `git archive`, so that `.gitattributes` act exactly as they do for the go command.
 * git streams packs to disk and indexes them there: this process never holds a pack.
 *
 * Readers run concurrently; writers (fetches) take the repository's lock (store.ts). Fetches of
 * different refs asked for while another fetch runs are made together, as one `git fetch`.
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
  /** The repository URL as discovered (what `.info` Origin.URL reports). */
  readonly url: string;
  /** The bare repository, its lock and its git environment. */
  readonly store: RepoStore;
  readonly slots: ProcessSlots;
  /** Deadline of one git command, in ms. */
  readonly timeoutMs: number;
  /** How long a ref listing stays fresh, in ms. */
  readonly refsTtlMs: number;
  /** Called for each network operation (for logs and metrics); never given secrets. */
  readonly onNetwork?: (event: { op: string; url: string; durationMs: number; error?: string }) => void;
}

/** Fewest hex digits accepted as a commit-hash prefix (cmd/go codehost minHashDigits). */
const MIN_HASH_DIGITS = 7;
/** Largest `git archive` output read, as the go command's codehost.MaxZipFile: 500 MiB. */
const MAX_ARCHIVE = 500 << 20;

const HEX = /^[0-9a-f]+$/;

interface Batch {
  readonly refs: Map<string, string>;
  done?: Promise<void>;
}

export class GitRepo {
  private refsCache?: { at: number; refs: Map<string, string> };
  private refsInflight?: Promise<Map<string, string>>;
  /** Ref listings known to be wholly present locally, with full history. */
  private readonly complete = new WeakSet<Map<string, string>>();
  private completing?: Promise<void>;
  private collecting?: Batch;
  /** Commits local refs point at, as last read (read again when a lookup misses). */
  private tips?: Set<string>;

  constructor(private readonly options: GitRepoOptions) {}

  get url(): string {
    return this.options.url;
  }

  /** The remote's refs: `HEAD`, `refs/heads/*`, `refs/tags/*` (annotated tags peeled) to commit hashes. */
  async refs(): Promise<Map<string, string>> {
    const cached = this.refsCache;
    if (cached && Date.now() - cached.at < this.options.refsTtlMs) return cached.refs;
    this.refsInflight ??= this.listRemote().finally(() => {
      this.refsInflight = undefined;
    });
    return this.refsInflight;
  }

  private async listRemote(): Promise<Map<string, string>> {
    await this.options.store.prepare();
    const { stdout } = await this.network("ls-remote", ["ls-remote", "-q", "origin"]);
    const refs = new Map<string, string>();
    for (const line of stdout.toString("utf8").split("\n")) {
      // As the go command reads it: exactly two fields, so a ref name with a space is ignored.
      const f = line.trim().split(/\s+/);
      if (f.length !== 2 || !/^[0-9a-f]{40,64}$/.test(f[0])) continue;
      if (f[1] === "HEAD" || f[1].startsWith("refs/heads/") || f[1].startsWith("refs/tags/")) {
        refs.set(f[1], f[0]);
      }
    }
    for (const [ref, hash] of [...refs]) {
      if (ref.endsWith("^{}")) {
        refs.set(ref.slice(0, -3), hash);
        refs.delete(ref);
      }
    }
    this.refsCache = { at: Date.now(), refs };
    return refs;
  }

  /** Tags starting with `prefix`, sorted by name, with their commit hashes. */
  async tags(prefix: string): Promise<{ name: string; hash: string }[]> {
    const out: { name: string; hash: string }[] = [];
    for (const [ref, hash] of await this.refs()) {
      if (ref.startsWith("refs/tags/") && ref.slice(10).startsWith(prefix))
        out.push({ name: ref.slice(10), hash });
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Resolves a revision as the go command's gitRepo.stat does; not-found when it does not exist. */
  async stat(rev: string): Promise<RevInfo> {
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
      throw this.unknown(rev);
    }

    if (hash !== undefined && ref !== undefined && !(await this.has([hash]))) {
      // Only refs are fetched by name, never arbitrary hashes (the go command's rule: no commit
      // that no branch or tag reaches, like a rejected pull request, becomes a version).
      await this.fetchRef(ref, hash);
    }
    let commit = hash !== undefined && (await this.has([hash])) ? hash : undefined;
    if (commit === undefined) {
      await this.ensureComplete();
      commit = await this.resolveLocal(hash ?? rev);
    }
    if (commit === undefined) throw this.unknown(rev);

    const { stdout } = await this.git([
      "-c",
      "log.showsignature=false",
      "log",
      "--no-decorate",
      "-n1",
      "--format=format:%H %ct",
      commit,
      "--",
    ]);
    const [, seconds] = stdout.toString("utf8").trim().split(" ");
    const tags: string[] = [];
    for (const [k, h] of refs) if (h === commit && k.startsWith("refs/tags/")) tags.push(k.slice(10));
    tags.sort();
    if (version.length < 40 && HEX.test(version) && commit.startsWith(version)) version = commit;
    if (!tags.includes(version)) version = commit;
    return {
      name: commit,
      short: commit.slice(0, 12),
      time: new Date(Number(seconds) * 1000),
      version,
      tags,
      ...(ref !== undefined && ref !== commit ? { ref } : {}),
    };
  }

  /** The default branch's head (the remote's HEAD); not-found when HEAD names no commit. */
  async latest(): Promise<RevInfo> {
    const head = (await this.refs()).get("HEAD");
    if (!head) throw new ProxyError("not-found", `${redactURL(this.url)}: no commits (HEAD names no branch)`);
    return { ...(await this.stat(head)), ref: "HEAD" };
  }

  /**
   * The blob at `file` in commit `hash`, as `git cat-file blob` gives it (a symlink's target text
   * too), or undefined when there is none. Larger than `max`: too-large.
   */
  async readFile(hash: string, file: string, max: number): Promise<Buffer | undefined> {
    try {
      return (await this.git(["cat-file", "blob", `${hash}:${file}`], { maxStdout: max })).stdout;
    } catch (err) {
      if (err instanceof GitCommandError) return undefined;
      if (err instanceof ProxyError && err.kind === "too-large") {
        throw new ProxyError(
          "too-large",
          `${file} at ${hash} in ${redactURL(this.url)} is larger than ${max} bytes`,
        );
      }
      throw err;
    }
  }

  /**
   * Writes `git archive --format=zip` of commit `hash` (only `subdir`, when given) to `file`, as
   * the go command runs it: core.autocrlf=input, core.eol=lf, export-ignore and export-subst
   * switched off (store.ts). Not-found when `subdir` holds nothing.
   */
  async archive(hash: string, subdir: string, file: string): Promise<void> {
    const out = createWriteStream(file);
    const args = [
      "-c",
      "core.autocrlf=input",
      "-c",
      "core.eol=lf",
      "archive",
      "--format=zip",
      "--prefix=prefix/",
    ];
    args.push(hash, ...(subdir !== "" ? ["--", subdir] : []));
    try {
      const what = `the git archive of ${hash} in ${redactURL(this.url)}`;
      await this.git(args, { stdout: new LimitedFile(out, MAX_ARCHIVE, what) });
    } catch (err) {
      out.destroy();
      if (!(err instanceof GitCommandError)) throw err;
      if (err.stderr.includes("did not match any files")) {
        throw new ProxyError("not-found", `${subdir} does not exist at ${hash} in ${redactURL(this.url)}`);
      }
      // git archive refuses some trees itself (a `git~1` path, for one), for the go command too.
      const kind = /invalid path/.test(err.stderr) ? "invalid" : "internal";
      throw new ProxyError(kind, `git archive of ${hash} in ${redactURL(this.url)} failed: ${err.stderr}`);
    }
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
        if (highest === "" || compare(tag.slice(prefix.length), highest.slice(prefix.length)) > 0)
          highest = tag;
      }
      return highest;
    };
    const refs = await this.refs();
    // Tags on the commit itself decide without any history: what the go command's first,
    // shallow `git for-each-ref --merged` finds in a fresh clone.
    const own = pick(
      [...refs].filter(([k, h]) => h === hash && k.startsWith("refs/tags/")).map(([k]) => k.slice(10)),
    );
    if (own !== "" && !HEX.test(own)) return own;
    if (![...refs.keys()].some((k) => k.startsWith(`refs/tags/${prefix}v`))) return "";
    await this.ensureComplete();
    const { stdout } = await this.git([
      "for-each-ref",
      "--format=%(refname) %(objectname) %(*objectname)",
      "--merged",
      hash,
      "refs/tags/",
    ]);
    const merged: string[] = [];
    for (const line of stdout.toString("utf8").split("\n")) {
      const [name, object, peeled] = line.split(" ");
      // Local tags the remote no longer has (or has moved) do not count.
      if (name && refs.get(name) === (peeled || object)) merged.push(name.slice(10));
    }
    return pick(merged);
  }

  /** Whether the commit `hash` descends from (or is) the commit tagged `tag`. */
  async descendsFrom(hash: string, tag: string): Promise<boolean> {
    const tagged = (await this.refs()).get(`refs/tags/${tag}`);
    if (!tagged) return false;
    if ((await this.has([tagged, hash])) && (await this.isAncestor(tagged, hash))) return true;
    await this.ensureComplete();
    return this.isAncestor(tagged, hash);
  }

  private async isAncestor(ancestor: string, hash: string): Promise<boolean> {
    const args = ["merge-base", "--is-ancestor", ancestor, hash];
    const { code, stderr } = await runGitStatus(this.options.slots, args, this.runOptions());
    if (code === 0 || code === 1) return code === 0;
    throw new GitCommandError(args, code, stderr);
  }

  /**
   * Whether every one of `hashes` is a commit a local ref points at. A fetch writes its refs
   * last, after its pack and the `shallow` file, so only such commits are known to be complete:
   * a commit object alone may be what a fetch killed halfway left behind.
   */
  private async has(hashes: readonly string[]): Promise<boolean> {
    if (this.tips && hashes.every((h) => this.tips?.has(h))) return true;
    this.tips = await this.localTips();
    return hashes.every((h) => this.tips?.has(h));
  }

  /** The commits local refs point at (annotated tags peeled). */
  private async localTips(): Promise<Set<string>> {
    const tips = new Set<string>();
    if (!(await this.options.store.exists())) return tips;
    const { stdout } = await this.git(["for-each-ref", "--format=%(objectname) %(*objectname)"]);
    for (const line of stdout.toString("utf8").split("\n")) {
      const [object, peeled] = line.split(" ");
      if (peeled || object) tips.add(peeled || object);
    }
    return tips;
  }

  /** The full hash of a local commit named by a hash or hash prefix; undefined when there is none. */
  private async resolveLocal(rev: string): Promise<string | undefined> {
    const args = ["rev-parse", "--verify", "--quiet", "--end-of-options", `${rev}^{commit}`];
    const { code, stdout, stderr } = await runGitStatus(this.options.slots, args, this.runOptions());
    if (code === 0) return stdout.toString("utf8").trim();
    if (stderr.includes("ambiguous")) {
      throw new ProxyError("not-found", `ambiguous revision ${rev} in ${redactURL(this.url)}`);
    }
    return undefined;
  }

  /**
   * Fetches one ref (the go command's `git fetch -f --depth=1 origin ref:ref`, or `hash:refs/dummy`
   * for HEAD). Refs asked for while the lock is taken are fetched together. A failed fetch is not
   * an error here: the caller falls back to fetching everything, as the go command does.
   */
  private fetchRef(ref: string, hash: string): Promise<void> {
    let batch = this.collecting;
    if (!batch) {
      const created: Batch = { refs: new Map() };
      created.done = this.options.store.locked(async () => {
        if (this.collecting === created) this.collecting = undefined;
        await this.fetchRefsLocked(created.refs);
      });
      this.collecting = created;
      batch = created;
    }
    batch.refs.set(ref, hash);
    return (batch.done as Promise<void>).catch(() => undefined);
  }

  private async fetchRefsLocked(wanted: Map<string, string>): Promise<void> {
    const missing: [string, string][] = [];
    for (const [ref, hash] of wanted) {
      if (ref !== "HEAD" && refNameProblem(ref) !== undefined) continue;
      if (!(await this.has([hash]))) missing.push([ref, hash]);
    }
    if (missing.length === 0) return;
    // A repository with full history fetches what is new in full; a fresh or shallow one stays shallow.
    const depth = (await this.options.store.isShallowOrEmpty()) ? ["--depth=1"] : [];
    const refspec = ([ref, hash]: [string, string]) =>
      ref === "HEAD" ? `${hash}:refs/dummy` : `${ref}:${ref}`;
    const fetch = (specs: [string, string][]) =>
      this.network(`fetch ${specs.map(([r]) => r).join(" ")}`, [
        "-c",
        "protocol.version=2",
        "fetch",
        "-f",
        ...depth,
        "origin",
        ...specs.map(refspec),
      ]);
    try {
      await fetch(missing);
    } catch (err) {
      if (missing.length === 1) throw err;
      // One bad ref (deleted since the listing) must not cost the others their shallow fetch.
      for (const one of missing) await fetch([one]).catch(() => undefined);
    }
  }

  /** Makes every branch and tag present with its whole history (the go command's fetchRefsLocked). */
  async ensureComplete(): Promise<void> {
    const refs = await this.refs();
    if (this.complete.has(refs)) return;
    this.completing ??= this.options.store
      .locked(async () => {
        if (!(await this.isComplete(refs))) {
          await this.network("fetch all", [
            "fetch",
            "-f",
            "origin",
            "refs/heads/*:refs/heads/*",
            "refs/tags/*:refs/tags/*",
          ]);
          if (await this.options.store.isShallowOrEmpty()) {
            await this.network("fetch --unshallow", ["fetch", "--unshallow", "-f", "origin"]);
          }
          // Thousands of tags as loose files would make every ref lookup slow.
          await this.git(["pack-refs", "--all"]);
        }
        this.complete.add(refs);
      })
      .finally(() => {
        this.completing = undefined;
      });
    await this.completing;
  }

  private async isComplete(refs: Map<string, string>): Promise<boolean> {
    if (await this.options.store.isShallowOrEmpty()) return refs.size === 0;
    return refs.size === 0 || this.has([...new Set(refs.values())]);
  }

  private runOptions(extra: Partial<GitRunOptions> = {}): GitRunOptions {
    return {
      cwd: this.options.store.dir,
      env: this.options.store.env,
      timeoutMs: this.options.timeoutMs,
      ...extra,
    };
  }

  private git(args: readonly string[], extra: Partial<GitRunOptions> = {}) {
    return runGit(this.options.slots, args, this.runOptions(extra));
  }

  /** A git command that talks to the remote: timed, reported, its failure explained. */
  private async network(op: string, args: readonly string[]) {
    const started = Date.now();
    const url = redactURL(this.url);
    try {
      const result = await this.git(args);
      this.options.onNetwork?.({ op, url, durationMs: Date.now() - started });
      return result;
    } catch (err) {
      const e = this.options.store.explain(op, err);
      this.options.onNetwork?.({ op, url, durationMs: Date.now() - started, error: e.message });
      throw e;
    }
  }

  private unknown(rev: string): ProxyError {
    return new ProxyError("not-found", `unknown revision ${rev} in ${redactURL(this.url)}`);
  }
}

/** Passes bytes on to a file until `max`, then fails (the go command's check of the archive size). */
class LimitedFile extends Writable {
  private written = 0;

  constructor(
    private readonly out: WriteStream,
    private readonly max: number,
    private readonly what: string,
  ) {
    super();
    out.on("error", (err) => this.destroy(err));
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    this.written += chunk.length;
    if (this.written > this.max) {
      done(
        new ProxyError("too-large", `${this.what} is larger than ${this.max} bytes (the go command's limit)`),
      );
      return;
    }
    if (this.out.write(chunk)) done();
    else this.out.once("drain", () => done());
  }

  override _final(done: (err?: Error | null) => void): void {
    this.out.end(() => done());
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.out.destroy();
    done(err);
  }
}
