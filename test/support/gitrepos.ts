import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";

/**
 * Bare git repositories for the git-source tests, built with the git command at fixed commit
 * dates so every commit hash (and so every pseudo-version and h1: hash) is the same on every run.
 *
 * The host in module paths is `git.example.test`; a server rewriting `https://git.example.test/`
 * to the loopback git server makes them reachable. What each repository covers:
 * - `hello.git`: v1.0.0 (annotated tag), v1.1.0, an untagged head commit (pseudo-version), a nested
 *   module `sub/` tagged `sub/v0.1.0` without its own LICENSE, a `v2/` major subdirectory tagged
 *   v2.0.0, a symlink, a CRLF file, an export-ignore file, a vendor/ directory, a branch `feature`.
 * - `major.git`: v1.0.0 then v2.0.0 on the same branch with go.mod declaring `/v2` (major branch).
 * - `legacy.git`: no go.mod at all; v1.0.0 and v3.0.0 (`+incompatible`).
 * - `case.git`: `README` and `readme` in one tree (a module zip must refuse it).
 * - `group/sub/proj.git`: a GitLab-style subgroup project reached through go-get, with only a
 *   pre-release tag.
 * - `private.git`: a plain module for the authenticated server.
 * - `untagged.git`: two commits and no tags (`@latest` is a pseudo-version of the head).
 * - `attr.git`: `.gitattributes` that change what `git archive` writes: `eol=crlf` with `text`,
 *   `text=auto` and alone, a nested `.gitattributes` overriding the root one, `binary`, `ident`,
 *   and a text=auto file already holding CRLF (left alone).
 * - `retract.git`: v1.0.0, v1.1.0, v1.2.0 whose go.mod retracts v1.1.0, and a branch `fix` off
 *   v1.1.0 (its pseudo-version must build on v1.0.0, the highest tag that is not retracted).
 * - `tags.git`: v1.0.0 to v1.5.0, one commit each (for concurrent requests of many versions).
 */

export const GIT_HOST = "git.example.test";

export interface RepoSet {
  /** Directory to serve as the git project root. */
  readonly root: string;
}

const COMMITTER = {
  GIT_AUTHOR_NAME: "Gopher",
  GIT_AUTHOR_EMAIL: "gopher@example.test",
  GIT_COMMITTER_NAME: "Gopher",
  GIT_COMMITTER_EMAIL: "gopher@example.test",
};

/** An entry of a tree written object by object, bypassing git's checks on names and modes. */
export interface RawEntry {
  readonly mode: string;
  readonly name: string;
  /** File content (for blob modes). */
  readonly data?: string | Buffer;
  /** Entries (for mode 40000). */
  readonly entries?: readonly RawEntry[];
}

/** Builds a repository in a work tree, then clones it bare to where the test server serves it. */
export class RepoBuilder {
  constructor(
    private readonly work: string,
    private readonly bare: string,
  ) {
    mkdirSync(work, { recursive: true });
    this.git("init", "-q", "-b", "main");
  }

  git(...args: string[]): string {
    return this.gitAt(undefined, ...args);
  }

  gitAt(date: string | undefined, ...args: string[]): string {
    return execFileSync(
      "git",
      [
        "-c",
        "core.autocrlf=false",
        "-c",
        "core.safecrlf=false",
        "-c",
        "commit.gpgsign=false",
        "-c",
        "tag.gpgsign=false",
        ...args,
      ],
      {
        cwd: this.work,
        env: {
          PATH: process.env.PATH,
          HOME: this.work,
          GIT_CONFIG_NOSYSTEM: "1",
          ...COMMITTER,
          ...(date ? { GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date } : {}),
        },
        encoding: "utf8",
      },
    ).trim();
  }

  write(file: string, content: string | Buffer): this {
    const p = path.join(this.work, file);
    mkdirSync(path.dirname(p), { recursive: true });
    writeFileSync(p, content);
    return this;
  }

  symlink(file: string, target: string): this {
    symlinkSync(target, path.join(this.work, file));
    return this;
  }

  commit(date: string, message: string): string {
    this.git("add", "-A");
    this.gitAt(date, "commit", "-q", "-m", message);
    return this.git("rev-parse", "HEAD");
  }

  /**
   * Writes a tree exactly as given (git's own commands refuse names with `/` or `\\` on some
   * systems, `git~1`, and old modes such as 100664) and commits it on top of HEAD; moves the
   * current branch there and returns the commit.
   */
  commitRaw(date: string, message: string, entries: readonly RawEntry[]): string {
    const tree = this.rawTree(entries);
    const parent = this.git("rev-parse", "HEAD");
    const commit = this.gitAt(date, "commit-tree", "-m", message, "-p", parent, tree);
    // Only the branch moves: the work tree could not hold such names (later commits are raw too).
    this.git("update-ref", "HEAD", commit);
    return commit;
  }

  private rawTree(entries: readonly RawEntry[]): string {
    const parts = entries
      .map((e) => {
        const hash = e.entries
          ? this.rawTree(e.entries)
          : this.hashObject(["-w", "--stdin"], Buffer.from(e.data ?? ""));
        return { key: e.entries ? `${e.name}/` : e.name, e, hash };
      })
      // git's tree order: names compared bytewise, a tree's name as if it ended in "/".
      .sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)))
      .map(({ e, hash }) => Buffer.concat([Buffer.from(`${e.mode} ${e.name}\0`), Buffer.from(hash, "hex")]));
    return this.hashObject(["-t", "tree", "-w", "--literally", "--stdin"], Buffer.concat(parts));
  }

  private hashObject(args: string[], input: Buffer): string {
    return execFileSync("git", ["hash-object", ...args], {
      cwd: this.work,
      input,
      env: { PATH: process.env.PATH, HOME: this.work, GIT_CONFIG_NOSYSTEM: "1" },
      encoding: "utf8",
    }).trim();
  }

  tag(name: string, date: string, annotated = false): this {
    if (annotated) this.gitAt(date, "tag", "-a", "-m", `release ${name}`, name);
    else this.git("tag", name);
    return this;
  }

  /** Clones the work tree bare into place; `head` makes the bare repository's HEAD name another branch. */
  finish(options: { head?: string } = {}): void {
    mkdirSync(path.dirname(this.bare), { recursive: true });
    execFileSync("git", ["clone", "-q", "--bare", this.work, this.bare], { env: { PATH: process.env.PATH } });
    if (options.head) {
      execFileSync("git", ["--git-dir", this.bare, "symbolic-ref", "HEAD", options.head], {
        env: { PATH: process.env.PATH },
      });
    }
    rmSync(this.work, { recursive: true, force: true });
  }
}

const LICENSE = "Copyright the Gophers. Do what you like.\n";

/** Builds every repository under `dir` (which should be empty). */
export function buildRepos(dir: string): RepoSet {
  const root = path.join(dir, "repos");
  const work = (name: string) => path.join(dir, "work", name);
  const bare = (name: string) => path.join(root, name);

  const hello = new RepoBuilder(work("hello"), bare("hello.git"));
  hello
    .write("go.mod", `module ${GIT_HOST}/hello.git\n\ngo 1.21\n`)
    .write("hello.go", 'package hello\n\nfunc Hello() string { return "hello" }\n')
    .write("LICENSE", LICENSE)
    .commit("2024-01-01T10:00:00Z", "v1.0.0");
  hello.tag("v1.0.0", "2024-01-01T10:00:00Z", true);
  hello
    .write("hello.go", 'package hello\n\nfunc Hello() string { return "hello, world" }\n')
    .write("sub/go.mod", `module ${GIT_HOST}/hello.git/sub\n\ngo 1.21\n`)
    .write("sub/sub.go", 'package sub\n\nconst Name = "sub"\n')
    .write("v2/go.mod", `module ${GIT_HOST}/hello.git/v2\n\ngo 1.21\n`)
    .write("v2/hello.go", 'package hello\n\nfunc Hello() string { return "hello v2" }\n')
    .write("crlf.txt", "line one\r\nline two\r\n")
    .write(".gitattributes", "ignored.txt export-ignore\n")
    .write("ignored.txt", "kept by the go command despite export-ignore\n")
    .write("vendor/modules.txt", "# example.test/dep v1.0.0\n## explicit\nexample.test/dep\n")
    .write("vendor/example.test/dep/dep.go", "package dep\n")
    .write("internal/vendor/keep.go", "package vendor\n")
    .symlink("link.go", "hello.go");
  hello.commit("2024-01-02T10:00:00Z", "v1.1.0");
  hello.tag("v1.1.0", "").tag("sub/v0.1.0", "").tag("v2.0.0", "");
  hello.git("branch", "feature");
  hello.write("hello.go", 'package hello\n\nfunc Hello() string { return "hello, head" }\n');
  hello.commit("2024-01-03T10:00:00Z", "untagged head");
  hello.finish();

  const major = new RepoBuilder(work("major"), bare("major.git"));
  major.write("go.mod", `module ${GIT_HOST}/major.git\n\ngo 1.21\n`).write("m.go", "package major\n");
  major.commit("2024-02-01T10:00:00Z", "v1");
  major.tag("v1.0.0", "");
  major
    .write("go.mod", `module ${GIT_HOST}/major.git/v2\n\ngo 1.21\n`)
    .write("m.go", "package major // v2\n");
  major.commit("2024-02-02T10:00:00Z", "v2");
  major.tag("v2.0.0", "");
  major.finish();

  const legacy = new RepoBuilder(work("legacy"), bare("legacy.git"));
  legacy.write("legacy.go", "package legacy\n").write("LICENSE", LICENSE);
  legacy.commit("2024-03-01T10:00:00Z", "v1");
  legacy.tag("v1.0.0", "");
  legacy.write("legacy.go", "package legacy // three\n");
  legacy.commit("2024-03-02T10:00:00Z", "v3");
  legacy.tag("v3.0.0", "");
  legacy.finish();

  const cased = new RepoBuilder(work("case"), bare("case.git"));
  cased
    .write("go.mod", `module ${GIT_HOST}/case.git\n`)
    .write("README", "upper\n")
    .write("readme", "lower\n");
  cased.commit("2024-04-01T10:00:00Z", "collide");
  cased.tag("v1.0.0", "");
  cased.finish();

  const proj = new RepoBuilder(work("proj"), bare("group/sub/proj.git"));
  proj.write("go.mod", `module ${GIT_HOST}/group/sub/proj\n\ngo 1.21\n`).write("p.go", "package proj\n");
  proj.commit("2024-05-01T10:00:00Z", "rc");
  proj.tag("v0.2.0-rc.1", "");
  proj.finish();

  const priv = new RepoBuilder(work("private"), bare("private.git"));
  priv.write("go.mod", `module ${GIT_HOST}/private.git\n\ngo 1.21\n`).write("p.go", "package private\n");
  priv.commit("2024-06-01T10:00:00Z", "v1");
  priv.tag("v1.0.0", "");
  priv.finish();

  const untagged = new RepoBuilder(work("untagged"), bare("untagged.git"));
  untagged.write("go.mod", `module ${GIT_HOST}/untagged.git\n`).write("u.go", "package untagged\n");
  untagged.commit("2024-07-01T10:00:00Z", "first");
  untagged.write("u.go", "package untagged // second\n");
  untagged.commit("2024-07-02T10:00:00Z", "second");
  untagged.finish();

  const attr = new RepoBuilder(work("attr"), bare("attr.git"));
  attr
    .write("go.mod", `module ${GIT_HOST}/attr.git\n`)
    .write("stored-crlf.md", "already\r\ncrlf\r\nplus lone\n");
  attr.commit("2024-09-01T10:00:00Z", "before attributes");
  attr
    .write(
      ".gitattributes",
      "*.bat text eol=crlf\n*.txt eol=crlf\n*.md text=auto eol=crlf\nsub/*.cmd text eol=crlf\nid.go ident\n*.dat binary\n**/deep/*.ini eol=crlf\n",
    )
    .write("run.bat", "echo 1\necho 2\n")
    .write("notes.txt", "a\nb\n")
    .write("auto.md", "a\nb\n")
    .write("sub/y.cmd", "x\ny\n")
    .write("sub/y.sh", "x\ny\n")
    .write("id.go", "package attr // $Id$\n")
    .write("blob.dat", "a\nb\n")
    .write("a/b/deep/c.ini", "k=v\nz=y\n")
    .write("docs/.gitattributes", "*.txt -text\n")
    .write("docs/plain.txt", "kept\nas lf\n");
  attr.commit("2024-09-02T10:00:00Z", "attributes");
  attr.tag("v1.0.0", "");
  attr.finish();

  const retract = new RepoBuilder(work("retract"), bare("retract.git"));
  retract.write("go.mod", `module ${GIT_HOST}/retract.git\n`).write("r.go", "package retract\n");
  retract.commit("2024-08-01T10:00:00Z", "one");
  retract.tag("v1.0.0", "");
  retract.write("r.go", "package retract // broken\n");
  retract.commit("2024-08-02T10:00:00Z", "broken");
  retract.tag("v1.1.0", "");
  retract.git("branch", "fix");
  retract.write("go.mod", `module ${GIT_HOST}/retract.git\n\nretract v1.1.0 // broken\n`);
  retract.commit("2024-08-03T10:00:00Z", "retract");
  retract.tag("v1.2.0", "");
  retract.git("checkout", "-q", "fix");
  retract.write("r.go", "package retract // fixed on a branch\n");
  retract.commit("2024-08-04T10:00:00Z", "fix");
  retract.git("checkout", "-q", "main");
  retract.finish();

  const tags = new RepoBuilder(work("tags"), bare("tags.git"));
  tags.write("go.mod", `module ${GIT_HOST}/tags.git\n`);
  for (let i = 0; i <= 5; i++) {
    tags.write("t.go", `package tags // ${i}\n`);
    tags.commit(`2024-10-0${i + 1}T10:00:00Z`, `v1.${i}.0`);
    tags.tag(`v1.${i}.0`, "");
  }
  tags.finish();

  rmSync(path.join(dir, "work"), { recursive: true, force: true });
  return { root };
}
