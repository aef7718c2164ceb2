import { rmSync } from "node:fs";
import path from "node:path";
import { GIT_HOST, RepoBuilder, type RawEntry } from "./gitrepos";
import type { GoImport } from "./gitserver";

/**
 * The messy repositories of issue 12, as self-hosted git servers hold them, built at fixed dates
 * so every hash is stable:
 * - `nohead.git`: a bare repository whose HEAD names `master`, a branch never pushed (tags and
 *   `main` exist).
 * - `modes.git`: tree entries with the old mode 100664 (and 100755).
 * - `names.git`: v1.0.0 a file name with a backslash (the zip is invalid); v1.1.0 a tree entry
 *   whose name holds `/`; v1.2.0 `git~1`-like names (which `git archive` itself refuses); v1.3.0
 *   a backslash in a vendored package and v1.4.0 one in a nested module (both only left out).
 * - `bigmod.git`: a go.mod one byte over 16 MiB.
 * - `attrs.git`: `.gitattributes` with an `[attr]` macro, `working-tree-encoding`, quoted
 *   patterns, `ident` over an already expanded `$Id: ... $`, `crlf=input` with `eol`, legacy `crlf`.
 * - `refs.git`: branches `fix@2024` and `feat(x)` off v1.0.0, a 220-character pre-release tag.
 * - `selfretract.git`: v1.1.0 whose go.mod retracts v1.1.0 itself.
 * - `spaceref.git`: a plain repository; the server also advertises ref names with a space (git
 *   itself keeps what comes before the space).
 * - `bigbody.git`, `bighead.git`: modules under `vanity.example.test` whose go-get pages are over
 *   1 MiB, in the body and in the head.
 */

export const VANITY_HOST = "vanity.example.test";

export interface ShapeSet {
  /** Directory to serve as the git project root. */
  readonly root: string;
  /** For the test server's `extraRefs`. */
  readonly extraRefs: Record<string, string[]>;
  /** For the test server's `goImports`. */
  readonly goImports: GoImport[];
}

/** A pre-release tag of 220 characters: longer than the 200 gomirror once allowed. */
export const LONG_TAG = `v1.1.0-${"x".repeat(213)}`;

/** One byte over the go command's 16 MiB go.mod limit. */
export const BIG_GO_MOD_BYTES = (16 << 20) + 1;

const MIB = 1 << 20;

export function buildShapes(dir: string): ShapeSet {
  const root = path.join(dir, "repos");
  const repo = (name: string) =>
    new RepoBuilder(path.join(dir, "work", name), path.join(root, `${name}.git`));
  const gomod = (name: string) => `module ${GIT_HOST}/${name}.git\n\ngo 1.21\n`;

  const nohead = repo("nohead");
  nohead.write("go.mod", gomod("nohead")).write("a.go", "package nohead\n");
  nohead.commit("2024-11-01T10:00:00Z", "one");
  nohead.tag("v1.0.0", "");
  nohead.write("a.go", "package nohead // two\n");
  nohead.commit("2024-11-02T10:00:00Z", "two");
  nohead.finish({ head: "refs/heads/master" });

  const modes = repo("modes");
  modes.write("go.mod", gomod("modes"));
  modes.commit("2024-11-03T10:00:00Z", "go.mod");
  modes.commitRaw("2024-11-03T11:00:00Z", "old modes", [
    { mode: "100644", name: "go.mod", data: gomod("modes") },
    { mode: "100664", name: "old.go", data: "package modes\n" },
    { mode: "100755", name: "run.sh", data: "#!/bin/sh\necho hi\n" },
    {
      mode: "40000",
      name: "docs",
      entries: [{ mode: "100664", name: "note.txt", data: "group-writable\n" }],
    },
  ]);
  modes.tag("v1.0.0", "");
  modes.finish();

  const names = repo("names");
  names.write("go.mod", gomod("names"));
  names.commit("2024-11-04T10:00:00Z", "go.mod");
  const base: RawEntry[] = [
    { mode: "100644", name: "go.mod", data: gomod("names") },
    { mode: "100644", name: "n.go", data: "package names\n" },
  ];
  const namesAt = (hour: number, tag: string, extra: RawEntry[]) => {
    names.commitRaw(`2024-11-04T1${hour}:00:00Z`, tag, [...base, ...extra]);
    names.tag(tag, "");
  };
  namesAt(1, "v1.0.0", [{ mode: "100644", name: "a\\b.go", data: "package names\n" }]);
  namesAt(2, "v1.1.0", [{ mode: "100644", name: "dir/evil.go", data: "package dir\n" }]);
  namesAt(3, "v1.2.0", [
    { mode: "100644", name: "git~1", data: "short name\n" },
    { mode: "40000", name: "sub", entries: [{ mode: "100644", name: "GIT~2.go", data: "package sub\n" }] },
  ]);
  namesAt(4, "v1.3.0", [
    {
      mode: "40000",
      name: "vendor",
      entries: [
        { mode: "40000", name: "x", entries: [{ mode: "100644", name: "a\\b.go", data: "package x\n" }] },
      ],
    },
  ]);
  namesAt(5, "v1.4.0", [
    {
      mode: "40000",
      name: "nested",
      entries: [
        { mode: "100644", name: "go.mod", data: `module ${GIT_HOST}/names.git/nested\n` },
        { mode: "100644", name: "c\\d.go", data: "package nested\n" },
      ],
    },
  ]);
  names.finish();

  const bigmod = repo("bigmod");
  const head = gomod("bigmod");
  const filler = BIG_GO_MOD_BYTES - head.length - "//\n".length;
  bigmod.write("go.mod", `${head}//${"x".repeat(filler)}\n`).write("b.go", "package bigmod\n");
  bigmod.commit("2024-11-05T10:00:00Z", "a large go.mod");
  bigmod.tag("v1.0.0", "");
  bigmod.finish();

  const attrs = repo("attrs");
  // Committed before any attribute applies: the blob keeps an expanded $Id: ... $.
  attrs.write("go.mod", gomod("attrs")).write("id.go", "package attrs // $Id: 0123456789 $ and $Id$\n");
  attrs.commit("2024-11-06T10:00:00Z", "before attributes");
  attrs
    .write(
      ".gitattributes",
      [
        "[attr]crlftext text eol=crlf",
        "*.m crlftext",
        "*.u16 text working-tree-encoding=UTF-16LE eol=crlf",
        '"quoted name.txt" eol=crlf',
        '"q[0-9].txt" text eol=crlf',
        "id.go ident",
        "in.txt crlf=input eol=crlf",
        "old.txt crlf",
        "",
      ].join("\n"),
    )
    .write("a.m", "x\ny\n")
    .write("w.u16", Buffer.from("h\u00e9llo\nw\u00f6rld\n", "utf16le"))
    .write("quoted name.txt", "a\nb\n")
    .write("q1.txt", "a\nb\n")
    .write("in.txt", "a\nb\n")
    .write("old.txt", "a\nb\n");
  attrs.commit("2024-11-06T11:00:00Z", "attributes");
  attrs.tag("v1.0.0", "");
  attrs.finish();

  const refs = repo("refs");
  refs.write("go.mod", gomod("refs")).write("r.go", "package refs\n");
  refs.commit("2024-11-07T10:00:00Z", "one");
  refs.tag("v1.0.0", "");
  refs.write("r.go", "package refs // two\n");
  refs.commit("2024-11-07T11:00:00Z", "two");
  refs.tag(LONG_TAG, "");
  for (const [i, branch] of ["fix@2024", "feat(x)"].entries()) {
    refs.git("checkout", "-q", "-b", branch, "v1.0.0");
    refs.write("r.go", `package refs // ${branch}\n`);
    refs.commit(`2024-11-07T1${2 + i}:00:00Z`, branch);
  }
  refs.git("checkout", "-q", "main");
  refs.finish();

  const retract = repo("selfretract");
  retract.write("go.mod", gomod("selfretract")).write("s.go", "package selfretract\n");
  retract.commit("2024-11-08T10:00:00Z", "one");
  retract.tag("v1.0.0", "");
  retract.write("go.mod", `${gomod("selfretract")}\nretract v1.1.0 // published by mistake\n`);
  retract.commit("2024-11-08T11:00:00Z", "retracts itself");
  retract.tag("v1.1.0", "");
  retract.finish();

  const space = repo("spaceref");
  space.write("go.mod", gomod("spaceref")).write("s.go", "package spaceref\n");
  const first = space.commit("2024-11-09T10:00:00Z", "one");
  space.tag("v1.0.0", "");
  space.write("s.go", "package spaceref // two\n");
  space.commit("2024-11-09T11:00:00Z", "two");
  space.finish();

  const goImports: GoImport[] = [];
  for (const [name, padding] of [
    ["bigbody", { bodyPadding: Math.round(1.5 * MIB) }],
    ["bighead", { headPadding: Math.round(1.1 * MIB) }],
  ] as const) {
    const b = repo(name);
    b.write("go.mod", `module ${VANITY_HOST}/${name}\n\ngo 1.21\n`).write("v.go", `package ${name}\n`);
    b.commit("2024-11-10T10:00:00Z", "one");
    b.tag("v1.0.0", "");
    b.finish();
    goImports.push({
      prefix: `${VANITY_HOST}/${name}`,
      repoURL: `https://${GIT_HOST}/${name}.git`,
      ...padding,
    });
  }

  rmSync(path.join(dir, "work"), { recursive: true, force: true });
  return {
    root,
    extraRefs: { "/spaceref.git": [`${first} refs/heads/bad name`, `${first} refs/tags/v2.0.0 beta`] },
    goImports,
  };
}
