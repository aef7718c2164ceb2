import { execFileSync } from "node:child_process";
import { buildGoHelper } from "./gohelper";

/**
 * Go module fixtures written as a GOPROXY tree by the `modfixture` helper, which uses
 * golang.org/x/mod (the go command's own code) for escaping, zips and h1: hashes, so a test
 * compares the proxy's answers with the reference and never with hand-written hashes.
 *
 * Every fixture lives under the made-up domain `example.test`. Fixture packages export
 * `func Hello() string`, so a program importing them can print who it linked.
 */

/** A module version to write: its files (go.mod may be absent, as in pre-module code). */
export interface ModuleFixture {
  readonly path: string;
  readonly version: string;
  /** Commit time for the .info, RFC 3339. @default "2024-01-02T03:04:05Z" */
  readonly time?: string;
  /** File path inside the module (slash-separated) to content. */
  readonly files: Readonly<Record<string, string>>;
  /** A file of deterministic incompressible bytes added to the module, to make a big zip. */
  readonly padding?: { readonly file: string; readonly bytes: number; readonly seed?: number };
  /** Keep the version out of `@v/list` (pseudo-versions always are). @default false */
  readonly unlisted?: boolean;
}

/** What was written for one module version, with the reference hashes. */
export interface BuiltModule {
  readonly path: string;
  readonly version: string;
  /** `!`-escaped module path, as in proxy URLs and storage keys. */
  readonly escapedPath: string;
  readonly escapedVersion: string;
  /** The .info Time (UTC, RFC 3339). */
  readonly time: string;
  readonly infoFile: string;
  readonly modFile: string;
  readonly zipFile: string;
  readonly zipSize: number;
  /** `h1:` of the zip (dirhash.HashZip), as go.sum and `go mod download -json` Sum record it. */
  readonly zipHash: string;
  /** `h1:` of the go.mod, as go.sum's `/go.mod` line and `go mod download -json` GoModSum record it. */
  readonly modHash: string;
  /** The .mod served: the module's go.mod, or `module <path>\n` when it has none. */
  readonly goMod: string;
  readonly hasGoMod: boolean;
}

export interface FixtureSet {
  readonly root: string;
  readonly modules: readonly BuiltModule[];
  /** The built module version; throws naming what exists when it is not in the set. */
  get(path: string, version: string): BuiltModule;
  /** The proxy URL path (no leading slash) of a file of a module version. */
  urlPath(path: string, version: string, ext: "info" | "mod" | "zip"): string;
  /** The go.sum lines of a module version. */
  goSumLines(path: string, version: string): [string, string];
}

/**
 * Write `modules` under `root` as a GOPROXY tree (merging into lists already there) and return
 * the reference hashes. Synchronous: call it before starting servers in the same process.
 */
export function writeProxyTree(root: string, modules: readonly ModuleFixture[]): FixtureSet {
  const bin = buildGoHelper("modfixture");
  const input = JSON.stringify({
    root,
    modules: modules.map((m) => ({
      path: m.path,
      version: m.version,
      time: m.time ?? "",
      files: m.files,
      padding: m.padding ? { file: m.padding.file, bytes: m.padding.bytes, seed: m.padding.seed ?? 1 } : null,
      unlisted: m.unlisted ?? false,
    })),
  });
  let out: string;
  try {
    out = execFileSync(bin, [], { input, encoding: "utf8", maxBuffer: 64 << 20, timeout: 300_000 });
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? "";
    throw new Error(`modfixture could not write the fixtures under ${root}: ${stderr || String(err)}`);
  }
  const built = JSON.parse(out) as BuiltModule[];
  const byKey = new Map(built.map((b) => [`${b.path}@${b.version}`, b]));
  const get = (path: string, version: string): BuiltModule => {
    const found = byKey.get(`${path}@${version}`);
    if (!found) {
      throw new Error(`no fixture ${path}@${version}; the set has: ${[...byKey.keys()].join(", ")}`);
    }
    return found;
  };
  return {
    root,
    modules: built,
    get,
    urlPath(path, version, ext) {
      const b = get(path, version);
      return `${b.escapedPath}/@v/${b.escapedVersion}.${ext}`;
    },
    goSumLines(path, version) {
      const b = get(path, version);
      return [`${path} ${version} ${b.zipHash}`, `${path} ${version}/go.mod ${b.modHash}`];
    },
  };
}

const GO_DIRECTIVE = "go 1.21";

function goMod(path: string, requires: readonly string[] = []): string {
  const req = requires.length > 0 ? `\nrequire (\n${requires.map((r) => `\t${r}\n`).join("")})\n` : "";
  return `module ${path}\n\n${GO_DIRECTIVE}\n${req}`;
}

/** A one-package module source whose Hello names itself (and what it imports, if anything). */
function helloPackage(
  pkg: string,
  says: string,
  imports: readonly { alias: string; path: string }[] = [],
): string {
  const imp = imports.map((i) => `import ${i.alias} "${i.path}"\n`).join("");
  const tail = imports.map((i) => ` + " > " + ${i.alias}.Hello()`).join("");
  return `package ${pkg}\n\n${imp}\n// Hello names this module version.\nfunc Hello() string { return "${says}"${tail} }\n`;
}

/** Module paths of the standard fixture set, by role. */
export const FIXTURE = {
  /** A path with upper-case letters: escaped as `example.test/!upper/!case`. */
  upper: "example.test/Upper/Case",
  /** A major-version-2 module (`/v2` path suffix) beside its v1 path. */
  v1: "example.test/major",
  v2: "example.test/major/v2",
  /** A module without go.mod with v1.0.0 and v2.0.0+incompatible. */
  incompatible: "example.test/incompat",
  /** A module without go.mod, with a package in a subdirectory. */
  noGoMod: "example.test/nogomod",
  /** Releases v0.9.0, v1.0.0, v1.0.1 and pre-releases v1.1.0-beta.2, v1.1.0-beta.10, v1.1.0-rc.1. */
  prerelease: "example.test/prerel",
  /** A dependency chain: a v1.0.0 -> b v1.2.0 -> c v1.0.0 (b v1.1.0 and c v1.1.0 exist too). */
  chainA: "example.test/chain/a",
  chainB: "example.test/chain/b",
  chainC: "example.test/chain/c",
} as const;

/** Versions of the prerelease fixture in semver order, as `go list -m -versions` must print them. */
export const PRERELEASE_VERSIONS = [
  "v0.9.0",
  "v1.0.0",
  "v1.0.1",
  "v1.1.0-beta.2",
  "v1.1.0-beta.10",
  "v1.1.0-rc.1",
];

/** The standard fixture set the e2e tests use. */
export function standardFixtures(): ModuleFixture[] {
  const t = (day: number): string => `2024-03-${String(day).padStart(2, "0")}T10:00:00Z`;
  const mods: ModuleFixture[] = [
    {
      path: FIXTURE.upper,
      version: "v1.0.0",
      time: t(1),
      files: { "go.mod": goMod(FIXTURE.upper), "case.go": helloPackage("upper", "Upper/Case v1.0.0") },
    },
    {
      path: FIXTURE.v1,
      version: "v1.0.0",
      time: t(2),
      files: { "go.mod": goMod(FIXTURE.v1), "major.go": helloPackage("major", "major v1.0.0") },
    },
    {
      path: FIXTURE.v2,
      version: "v2.0.0",
      time: t(3),
      files: { "go.mod": goMod(FIXTURE.v2), "major.go": helloPackage("major", "major/v2 v2.0.0") },
    },
    {
      path: FIXTURE.v2,
      version: "v2.1.0",
      time: t(4),
      files: { "go.mod": goMod(FIXTURE.v2), "major.go": helloPackage("major", "major/v2 v2.1.0") },
    },
    {
      path: FIXTURE.incompatible,
      version: "v1.0.0",
      time: t(5),
      files: { "incompat.go": helloPackage("incompat", "incompat v1.0.0") },
    },
    {
      path: FIXTURE.incompatible,
      version: "v2.0.0+incompatible",
      time: t(6),
      files: { "incompat.go": helloPackage("incompat", "incompat v2.0.0+incompatible") },
    },
    {
      path: FIXTURE.noGoMod,
      version: "v1.0.0",
      time: t(7),
      files: {
        "root.go": helloPackage("nogomod", "nogomod v1.0.0"),
        "sub/sub.go": helloPackage("sub", "nogomod/sub v1.0.0"),
        LICENSE: "Fixture licence text.\n",
      },
    },
  ];
  PRERELEASE_VERSIONS.forEach((v, i) =>
    mods.push({
      path: FIXTURE.prerelease,
      version: v,
      time: t(8 + i),
      files: { "go.mod": goMod(FIXTURE.prerelease), "prerel.go": helloPackage("prerel", `prerel ${v}`) },
    }),
  );
  for (const v of ["v1.0.0", "v1.1.0"]) {
    mods.push({
      path: FIXTURE.chainC,
      version: v,
      time: t(20),
      files: { "go.mod": goMod(FIXTURE.chainC), "c.go": helloPackage("c", `chain/c ${v}`) },
    });
  }
  for (const v of ["v1.1.0", "v1.2.0"]) {
    mods.push({
      path: FIXTURE.chainB,
      version: v,
      time: t(21),
      files: {
        "go.mod": goMod(FIXTURE.chainB, [`${FIXTURE.chainC} v1.0.0`]),
        "b.go": helloPackage("b", `chain/b ${v}`, [{ alias: "c", path: FIXTURE.chainC }]),
      },
    });
  }
  mods.push({
    path: FIXTURE.chainA,
    version: "v1.0.0",
    time: t(22),
    files: {
      "go.mod": goMod(FIXTURE.chainA, [`${FIXTURE.chainB} v1.2.0`]),
      "a.go": helloPackage("a", "chain/a v1.0.0", [{ alias: "b", path: FIXTURE.chainB }]),
    },
  });
  return mods;
}

/**
 * The main program's requirements for a `go build` over the standard set: import path to the
 * module version to require. Its output names every module version linked.
 */
export const PROGRAM_DEPENDENCIES: readonly { importPath: string; module: string; version: string }[] = [
  { importPath: FIXTURE.chainA, module: FIXTURE.chainA, version: "v1.0.0" },
  { importPath: FIXTURE.upper, module: FIXTURE.upper, version: "v1.0.0" },
  { importPath: FIXTURE.v2, module: FIXTURE.v2, version: "v2.1.0" },
  { importPath: FIXTURE.incompatible, module: FIXTURE.incompatible, version: "v2.0.0+incompatible" },
  { importPath: `${FIXTURE.noGoMod}/sub`, module: FIXTURE.noGoMod, version: "v1.0.0" },
  { importPath: FIXTURE.prerelease, module: FIXTURE.prerelease, version: "v1.1.0-rc.1" },
];

/** `n` small independent modules `<prefix>000`.. at v1.0.0 (the benchmark's 50-module build). */
export function smallModules(n: number, prefix = "example.test/many/m"): ModuleFixture[] {
  const width = Math.max(3, String(n - 1).length);
  return Array.from({ length: n }, (_, i) => {
    const path = `${prefix}${String(i).padStart(width, "0")}`;
    return {
      path,
      version: "v1.0.0",
      time: "2024-04-01T00:00:00Z",
      files: { "go.mod": goMod(path), "m.go": helloPackage(`m${i}`, `${path} v1.0.0`) },
    };
  });
}

/**
 * One module whose zip is about `zipBytes` long (within a few KB; `BuiltModule.zipSize` says
 * exactly), made big by a file of deterministic incompressible bytes. E.g. 100 KB and 50 MB
 * for the zip streaming tests.
 */
export function sizedModule(
  zipBytes: number,
  path = `example.test/sized/b${zipBytes}`,
  version = "v1.0.0",
): ModuleFixture {
  // Measured: zip headers and the two small source files take ~760 bytes, and deflate grows
  // incompressible data by ~0.03% (its stored-block framing).
  const overhead = 760;
  if (zipBytes <= overhead) {
    throw new Error(`sizedModule: ${zipBytes} bytes is too small; ask for more than ${overhead}`);
  }
  const paddingBytes = Math.floor((zipBytes - overhead) / 1.0003);
  return {
    path,
    version,
    time: "2024-04-02T00:00:00Z",
    files: { "go.mod": goMod(path), "sized.go": helloPackage("sized", `${path} ${version}`) },
    padding: { file: "testdata/blob.bin", bytes: paddingBytes, seed: zipBytes },
  };
}
