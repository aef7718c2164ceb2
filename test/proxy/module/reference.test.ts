import { execFileSync } from "node:child_process";
import { isDeepStrictEqual } from "node:util";
import { ProxyError } from "../../../lib/proxy/errors";
import { escapePath, escapeVersion, unescapePath, unescapeVersion } from "../../../lib/proxy/module/escape";
import { matchPrefixPatterns, pathMatchResult } from "../../../lib/proxy/module/glob";
import {
  checkFilePath,
  checkImportPath,
  checkPath,
  checkPathMajor,
  matchPathMajor,
  splitPathVersion,
} from "../../../lib/proxy/module/path";
import {
  isPseudoVersion,
  isZeroPseudoVersion,
  makePseudoVersion,
  pseudoVersionBase,
  pseudoVersionRev,
  pseudoVersionTime,
  zeroPseudoVersion,
} from "../../../lib/proxy/module/pseudo";
import * as semver from "../../../lib/proxy/module/semver";
import { buildGoHelper } from "../../support/gohelper";
import { describeWithTools } from "../../support/tools";
import {
  EDGE_PATHS,
  EDGE_VERSIONS,
  MIXED_ALPHABET,
  Random,
  randomEscaped,
  randomGlob,
  randomGlobName,
  randomPath,
  randomString,
  randomVersion,
} from "./vectors";

/**
 * Compares every module rule with golang.org/x/mod v0.19.0 (the code the go command runs) over
 * hand-picked edge cases and a few thousand generated strings: same results, same error text.
 * GOMIRROR_MODRULES_SEED picks another generator seed for exploring.
 */

interface Request {
  readonly op: string;
  readonly a?: string;
  readonly b?: string;
  readonly c?: string;
  readonly unix?: number;
  readonly list?: readonly string[];
  readonly pairs?: readonly (readonly [string, string])[];
}

interface Answer {
  readonly val: unknown;
  readonly err: string | null;
}

const SEED = Number(process.env.GOMIRROR_MODRULES_SEED ?? 20240601);

/** Runs `f`, returning its value or the ProxyError's message the way the Go helper answers. */
function attempt(f: () => unknown): Answer {
  try {
    return { val: f() ?? null, err: null };
  } catch (err) {
    if (err instanceof ProxyError && err.kind === "invalid") return { val: null, err: err.message };
    throw err;
  }
}

/** Ops whose Go error text we do not mirror word for word: only "has an error" is compared. */
const ERROR_PRESENCE_ONLY = new Set(["match"]);

function answerInTypeScript(r: Request): Answer {
  const a = r.a ?? "";
  const b = r.b ?? "";
  switch (r.op) {
    case "checkPath":
      return attempt(() => checkPath(a));
    case "checkImportPath":
      return attempt(() => checkImportPath(a));
    case "checkFilePath":
      return attempt(() => checkFilePath(a));
    case "escapePath":
      return attempt(() => escapePath(a));
    case "unescapePath":
      return attempt(() => unescapePath(a));
    case "escapeVersion":
      return attempt(() => escapeVersion(a));
    case "unescapeVersion":
      return attempt(() => unescapeVersion(a));
    case "splitPathVersion": {
      const split = splitPathVersion(a);
      return { val: split ? { ...split, ok: true } : { prefix: a, pathMajor: "", ok: false }, err: null };
    }
    case "checkPathMajor":
      return attempt(() => checkPathMajor(a, b));
    case "matchPathMajor":
      return { val: matchPathMajor(a, b), err: null };
    case "canonicalVersion":
      return { val: semver.canonicalVersion(a), err: null };
    case "isValid":
      return { val: semver.isValid(a), err: null };
    case "canonical":
      return { val: semver.canonical(a), err: null };
    case "compare":
      return { val: semver.compare(a, b), err: null };
    case "major":
      return { val: semver.major(a), err: null };
    case "majorMinor":
      return { val: semver.majorMinor(a), err: null };
    case "prerelease":
      return { val: semver.prerelease(a), err: null };
    case "build":
      return { val: semver.build(a), err: null };
    case "max":
      return { val: semver.max(a, b), err: null };
    case "sort":
      return { val: semver.sortVersions(r.list ?? []), err: null };
    case "isPseudoVersion":
      return { val: isPseudoVersion(a), err: null };
    case "pseudoVersionTime":
      return attempt(() => pseudoVersionTime(a).getTime() / 1000);
    case "pseudoVersionRev":
      return attempt(() => pseudoVersionRev(a));
    case "pseudoVersionBase":
      return attempt(() => pseudoVersionBase(a));
    case "pseudoVersion":
      return { val: makePseudoVersion(a, b, new Date((r.unix ?? 0) * 1000), r.c ?? ""), err: null };
    case "zeroPseudoVersion":
      return { val: zeroPseudoVersion(a), err: null };
    case "isZeroPseudoVersion":
      return { val: isZeroPseudoVersion(a), err: null };
    case "match": {
      const result = pathMatchResult(a, b);
      return { val: result === "match", err: result === "bad-pattern" ? "bad pattern" : null };
    }
    case "matchPrefixPatterns":
      return { val: matchPrefixPatterns(a, b), err: null };
  }
  throw new Error(`no TypeScript counterpart for op ${r.op}`);
}

function askGo(bin: string, requests: readonly Request[]): Answer[] {
  const input = requests.map((r) => JSON.stringify(r)).join("\n") + "\n";
  const out = execFileSync(bin, [], { input, encoding: "utf8", maxBuffer: 512 << 20, timeout: 120_000 });
  const answers = out
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as Answer);
  expect(answers).toHaveLength(requests.length);
  return answers;
}

/** Go's errors where the value is meaningless: the val of a failed call is not compared. */
function normalise(op: string, answer: Answer): Answer {
  if (answer.err === null) return answer;
  return { val: null, err: ERROR_PRESENCE_ONLY.has(op) ? "error" : answer.err };
}

interface Mismatch {
  readonly request: Request;
  readonly go: Answer;
  readonly ts: Answer;
}

function compareWithGo(bin: string, requests: readonly Request[]): Mismatch[] {
  const goAnswers = askGo(bin, requests);
  const mismatches: Mismatch[] = [];
  requests.forEach((request, i) => {
    const go = normalise(request.op, goAnswers[i]);
    const ts = normalise(request.op, answerInTypeScript(request));
    if (!isDeepStrictEqual(go, ts)) mismatches.push({ request, go, ts });
  });
  return mismatches;
}

const PATH_MAJORS = [
  "",
  "/v2",
  "/v3",
  "/v1",
  "/v0",
  ".v0",
  ".v1",
  ".v2",
  ".v1-unstable",
  ".v2-unstable",
  "v2",
  "/",
  ".",
];

function pathRequests(paths: readonly string[]): Request[] {
  return paths.flatMap((p) => [
    { op: "checkPath", a: p },
    { op: "checkImportPath", a: p },
    { op: "checkFilePath", a: p },
    { op: "escapePath", a: p },
    { op: "unescapePath", a: p },
    { op: "splitPathVersion", a: p },
    { op: "escapeVersion", a: p },
    { op: "unescapeVersion", a: p },
  ]);
}

function versionRequests(versions: readonly string[]): Request[] {
  return versions.flatMap((v) =>
    [
      "isValid",
      "canonical",
      "canonicalVersion",
      "major",
      "majorMinor",
      "prerelease",
      "build",
      "isPseudoVersion",
      "pseudoVersionTime",
      "pseudoVersionRev",
      "pseudoVersionBase",
      "isZeroPseudoVersion",
      "zeroPseudoVersion",
      "escapeVersion",
      "unescapeVersion",
    ].map((op) => ({ op, a: v })),
  );
}

function generatedVectors(rng: Random) {
  const paths = [...EDGE_PATHS];
  for (let i = 0; i < 1500; i++) paths.push(randomPath(rng));
  for (let i = 0; i < 1500; i++) paths.push(randomString(rng, MIXED_ALPHABET, 24));
  for (let i = 0; i < 800; i++) paths.push(randomEscaped(rng));
  const versions = [...EDGE_VERSIONS];
  for (let i = 0; i < 2500; i++) versions.push(randomVersion(rng));
  return { paths, versions };
}

describeWithTools({ go: true }, "module rules match golang.org/x/mod v0.19.0", () => {
  let bin: string;
  const rng = new Random(SEED);
  const { paths, versions } = generatedVectors(rng);

  beforeAll(() => {
    bin = buildGoHelper("modrules");
  }, 300_000);

  it("checks, splits and escapes paths as x/mod does", () => {
    // given hand-picked and generated path-shaped strings
    const requests = pathRequests(paths);
    // when both implementations answer
    const mismatches = compareWithGo(bin, requests);
    // then every answer, error text included, is the same
    expect({ requests: requests.length, mismatches: mismatches.slice(0, 10) }).toEqual({
      requests: requests.length,
      mismatches: [],
    });
    expect(requests.length).toBeGreaterThan(30_000);
  });

  it("parses semantic versions and pseudo-versions as x/mod does", () => {
    const requests = versionRequests(versions);
    const mismatches = compareWithGo(bin, requests);
    expect(mismatches.slice(0, 10)).toEqual([]);
    expect(requests.length).toBeGreaterThan(30_000);
  });

  it("compares versions and checks path majors as x/mod does", () => {
    const requests: Request[] = [];
    for (let i = 0; i < 4000; i++) {
      const a = rng.pick(versions);
      const b = rng.chance(0.3) ? a.replace(/\+.*$/, "+x") : rng.pick(versions);
      requests.push({ op: "compare", a, b }, { op: "max", a, b });
      const pathMajor = rng.pick(PATH_MAJORS);
      requests.push({ op: "checkPathMajor", a, b: pathMajor }, { op: "matchPathMajor", a, b: pathMajor });
    }
    const mismatches = compareWithGo(bin, requests);
    expect(mismatches.slice(0, 10)).toEqual([]);
  });

  it("sorts version lists as semver.Sort does", () => {
    const requests: Request[] = [];
    for (let i = 0; i < 300; i++) {
      const list = Array.from({ length: 2 + rng.int(30) }, () => rng.pick(versions));
      requests.push({ op: "sort", list });
    }
    expect(compareWithGo(bin, requests).slice(0, 5)).toEqual([]);
  });

  it("sorts module versions as module.Sort does", () => {
    // module.Sort's order is only a strict weak order when no two distinct version strings have
    // equal precedence (v1.0.0 vs v1.0.0+meta, or two invalid strings): otherwise Go's unstable
    // sort may legitimately put them either way. So: valid, build-free, one string per precedence.
    const sortable = [...new Set(versions.filter((v) => semver.isValid(v)).map((v) => semver.canonical(v)))];
    const pathsForSort = ["a.com/x", "a.com/x/v2", "b.com/y", "A.com/x", "a.com"];
    const suffixes = ["", "", "/go.mod", "/x"];
    const requests: Request[] = [];
    for (let i = 0; i < 200; i++) {
      const pairs = Array.from(
        { length: 2 + rng.int(20) },
        () => [rng.pick(pathsForSort), rng.pick(sortable) + rng.pick(suffixes)] as const,
      );
      requests.push({ op: "moduleSort", pairs });
    }
    const goAnswers = askGo(bin, requests);
    requests.forEach((request, i) => {
      const goSorted = (goAnswers[i].val as [string, string][]).map(([path, version]) => ({ path, version }));
      const tsSorted = semver.sortModuleVersions(
        (request.pairs ?? []).map(([path, version]) => ({ path, version })),
      );
      // Duplicated pairs are the only ties left, and they are identical.
      expect(tsSorted).toEqual(goSorted);
    });
  });

  it("makes pseudo-versions as module.PseudoVersion does", () => {
    const requests: Request[] = [];
    const olders = [
      ...versions.filter(() => rng.chance(0.2)),
      "",
      "v1.2.3",
      "v1.2.9",
      "v1.9.99",
      "v1.2.3-pre",
    ];
    for (let i = 0; i < 2000; i++) {
      const unix = rng.chance(0.1)
        ? rng.pick([-62135596800, 0, 253402300799, -62167219200, 1e9])
        : Math.floor(rng.next() * 2e9);
      requests.push({
        op: "pseudoVersion",
        a: rng.pick(["", "v0", "v1", "v2", "v10"]),
        b: rng.pick(olders),
        unix,
        c: rng.pick(["abcdef123456", "000000000000", "x"]),
      });
    }
    const mismatches = compareWithGo(bin, requests);
    expect(mismatches.slice(0, 10)).toEqual([]);
  });

  it("matches shell patterns as path.Match does, including ErrBadPattern", () => {
    const requests: Request[] = [];
    for (let i = 0; i < 6000; i++) requests.push({ op: "match", a: randomGlob(rng), b: randomGlobName(rng) });
    const mismatches = compareWithGo(bin, requests);
    expect(mismatches.slice(0, 10)).toEqual([]);
    // the generated set really holds matches, non-matches and bad patterns
    const answers = requests.map(answerInTypeScript);
    expect(answers.some((x) => x.val === true)).toBe(true);
    expect(answers.some((x) => x.err !== null)).toBe(true);
  });

  it("matches GOPRIVATE-style pattern lists as module.MatchPrefixPatterns does", () => {
    const pieces = [
      "example.com",
      "*.com",
      "example.*",
      "*",
      "example.com/",
      "example.com/a",
      "*/a",
      "*/*",
      "",
      "[",
      "a/b/c",
      "gopkg.in/*.v2",
      "example.com/a/*/c",
    ];
    const targets = [
      "example.com",
      "example.com/a",
      "example.com/a/b",
      "example.com/a/b/c",
      "gopkg.in/yaml.v2",
      "x.com/a",
      "example.org/a",
      "",
    ];
    const requests: Request[] = [];
    for (let i = 0; i < 3000; i++) {
      const globs = Array.from({ length: 1 + rng.int(3) }, () =>
        rng.chance(0.2) ? randomGlob(rng) : rng.pick(pieces),
      ).join(",");
      const target = rng.chance(0.3) ? randomPath(rng) : rng.pick(targets);
      requests.push({ op: "matchPrefixPatterns", a: globs, b: target });
    }
    const mismatches = compareWithGo(bin, requests);
    expect(mismatches.slice(0, 10)).toEqual([]);
  });
});
