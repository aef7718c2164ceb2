/**
 * Test inputs for the module rules: hand-picked edge cases plus strings from a seeded generator.
 * The generator works on whole code points, so no string ever holds an unpaired surrogate
 * (which JSON would turn into U+FFFD on the way to the Go reference helper).
 */

/** A small deterministic PRNG (mulberry32), so every run sees the same "random" strings. */
export class Random {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  chance(p: number): boolean {
    return this.next() < p;
  }
}

const UNICODE = ["é", "ß", "Ω", "中", "😀", "\u00a0", "\u200b", "\u212a", "ſ", "e\u0301", "İ", "\ufffd"];

/** The mixed alphabet of the brief: letters of both cases, the path punctuation, unicode, spaces. */
export const MIXED_ALPHABET: readonly string[] = [
  ..."abcdefghijklmnopqrstuvwxyz",
  ..."ABCDEFGHIJKLMNOPQRSTUVWXYZ",
  ..."0123456789",
  ..."!.-~/+_ @:*?[]^\\,\"'<>|#$%&(){}=`;",
  "\t",
  "\n",
  "\x00",
  "\x7f",
  ...UNICODE,
  // weight the characters that matter most to module paths
  ..."........----////!!!!~~~~vvvv",
];

export function randomString(rng: Random, alphabet: readonly string[], maxLen: number): string {
  const n = rng.int(maxLen + 1);
  let s = "";
  for (let i = 0; i < n; i++) s += rng.pick(alphabet);
  return s;
}

const FIRST_ELEMENTS = [
  "example.com",
  "gopkg.in",
  "github.com",
  "golang.org",
  "x.y",
  "a.b-c",
  "-x.com",
  ".x.com",
  "x.com.",
  "EXAMPLE.com",
  "exa_mple.com",
  "ex~ample.com",
  "localhost",
  "127.0.0.1",
  "xn--bcher-kva.example",
  "a..b",
  "con.com",
  "nul.example",
];

const ELEMENTS = [
  "v2",
  "v1",
  "v0",
  "v02",
  "v2.1",
  "v10",
  "v",
  "yaml.v2",
  "yaml.v0",
  "yaml.v1",
  "yaml.v1-unstable",
  "yaml.v01",
  "yaml.v2.1",
  "yaml",
  "con",
  "CON.txt",
  "Com1",
  "lpt9.go",
  "com0",
  "a~1",
  "a~b",
  "a~",
  "~1",
  "A~1.txt",
  "x.",
  "..",
  ".",
  ".x",
  "",
  "foo",
  "Foo",
  "FOO",
  "f!o",
  "!foo",
  "a+b",
  "c++",
  "a b",
  "é",
  "naïve",
  "~",
  "_x",
  "-x",
  "x-",
  "x@v1",
  "x:y",
  "a%20b",
];

/** A module-path-shaped string: a domain-ish first element and a few interesting elements. */
export function randomPath(rng: Random): string {
  const parts = [rng.chance(0.9) ? rng.pick(FIRST_ELEMENTS) : rng.pick(ELEMENTS)];
  const n = rng.int(4);
  for (let i = 0; i < n; i++) {
    parts.push(rng.chance(0.7) ? rng.pick(ELEMENTS) : randomString(rng, MIXED_ALPHABET, 6));
  }
  let path = parts.join("/");
  if (rng.chance(0.05)) path += "/";
  if (rng.chance(0.05)) path = "/" + path;
  return path;
}

/** An escaped-path-shaped string: lower case with `!x` sequences, sometimes broken. */
export function randomEscaped(rng: Random): string {
  const path = randomPath(rng);
  let out = "";
  for (const c of path) {
    if (c >= "A" && c <= "Z") out += rng.chance(0.8) ? "!" + c.toLowerCase() : c;
    else out += c;
  }
  if (rng.chance(0.1)) out += "!";
  if (rng.chance(0.1)) out = out.replace("!", "!!");
  return out;
}

const MAJORS = ["0", "1", "2", "3", "10", "01", "", "999999999999999999999"];
const NUMS = ["0", "1", "2", "9", "10", "99", "01", ""];
const PRERELEASES = [
  "",
  "-0",
  "-1",
  "-pre",
  "-pre.0",
  "-0.0",
  "-1.02",
  "-alpha.beta",
  "-",
  "-a..b",
  "-rc.1",
  "-x-y",
  "-00",
];
const BUILDS = ["", "+incompatible", "+meta", "+", "+a.b", "+a..b", "+incompatible.x", "+INCOMPATIBLE"];

/** A 14-digit time stamp, mostly real times, some impossible ones (month 13, Feb 30, 24:00:00). */
export function randomTimestamp(rng: Random): string {
  if (rng.chance(0.15)) {
    return rng.pick([
      "20201301000000",
      "20200230000000",
      "20210229000000",
      "20200229000000",
      "20200101240000",
      "20200101006000",
      "20200101000060",
      "00000101000000",
      "00010101000000",
      "99991231235959",
      "20200100000000",
      "19000229120000",
      "20000229120000",
    ]);
  }
  const two = (n: number) => String(n).padStart(2, "0");
  return (
    String(1990 + rng.int(50)) +
    two(1 + rng.int(12)) +
    two(1 + rng.int(31)) +
    two(rng.int(25)) +
    two(rng.int(61)) +
    two(rng.int(61))
  );
}

const REVS = ["abcdef123456", "000000000000", "ABCDEF", "a", "db61b2a92517", "g", "abc-def", ""];

/** A version-shaped string: semver parts, pseudo-version shapes, or plain noise. */
export function randomVersion(rng: Random): string {
  const kind = rng.int(10);
  if (kind < 3) {
    let v = "v" + rng.pick(MAJORS);
    if (rng.chance(0.8)) v += "." + rng.pick(NUMS);
    if (rng.chance(0.7)) v += "." + rng.pick(NUMS);
    return v + rng.pick(PRERELEASES) + rng.pick(BUILDS);
  }
  if (kind < 7) {
    const major = rng.pick(["0", "1", "2", "10"]);
    const ts = randomTimestamp(rng);
    const rev = rng.pick(REVS);
    const b = rng.pick(BUILDS);
    switch (rng.int(4)) {
      case 0:
        return `v${major}.0.0-${ts}-${rev}${b}`;
      case 1:
        return `v${major}.${rng.pick(NUMS)}.${rng.pick(NUMS)}-0.${ts}-${rev}${b}`;
      case 2:
        return `v${major}.${rng.pick(NUMS)}.${rng.pick(NUMS)}${rng.pick(PRERELEASES)}.0.${ts}-${rev}${b}`;
      default:
        return `v${major}.0.0-${rng.pick(["", "0.", "pre.0."])}${ts.slice(0, 8 + rng.int(10))}-${rev}${b}`;
    }
  }
  if (kind < 9) {
    return rng.pick(["v", "V", ""]) + randomString(rng, [..."0123456789.-+abcvVIx", "incompatible"], 10);
  }
  return randomString(rng, MIXED_ALPHABET, 12);
}

const GLOB_ALPHABET = [..."ab/*?[]^-\\.,", "é", "中", "x", "/", "*"];

export function randomGlob(rng: Random): string {
  return randomString(rng, GLOB_ALPHABET, 8);
}

export function randomGlobName(rng: Random): string {
  return randomString(rng, [..."ab/.-x^]\\", "é", "中", "[", "*"], 6);
}

/** Hand-picked module paths that exercise each rule of CheckPath and its siblings. */
export const EDGE_PATHS: readonly string[] = [
  "",
  "/",
  "example.com",
  "example.com/",
  "/example.com",
  "example.com//x",
  "example",
  "example.com/x/y",
  "Example.com/x",
  "example.COM/x",
  "-example.com",
  "example.com/-x",
  "exa_mple.com/x",
  "exa~mple.com/x",
  ".example.com",
  "example.com/.x",
  "example.com/x.",
  "example.com/...",
  "example.com/.",
  "example.com/..",
  "example.com/x..y",
  "example.com/x/v1",
  "example.com/x/v2",
  "example.com/x/v0",
  "example.com/x/v02",
  "example.com/x/v2.0",
  "example.com/x/v2/y",
  "example.com/v2",
  "example.com/x/V2",
  "example.com/x/v",
  "example.com/x/2",
  "v2.com/v2",
  "gopkg.in/yaml",
  "gopkg.in/yaml.v2",
  "gopkg.in/yaml.v1",
  "gopkg.in/yaml.v0",
  "gopkg.in/yaml.v01",
  "gopkg.in/yaml.v2-unstable",
  "gopkg.in/yaml.v2.1",
  "gopkg.in/user/yaml.v3",
  "gopkg.in/v2",
  "gopkg.in/.v2",
  "gopkg.in",
  "example.com/con",
  "example.com/CON",
  "example.com/con.txt",
  "example.com/aux.go/x",
  "example.com/com1",
  "example.com/com10",
  "example.com/lpt0",
  "example.com/prn~1",
  "example.com/a~1",
  "example.com/a~1.txt",
  "example.com/a~b",
  "example.com/a~",
  "example.com/~",
  "example.com/x+y",
  "example.com/c++",
  "example.com/a b",
  "example.com/a@b",
  "example.com/a!b",
  "example.com/é",
  "example.com/\u212a",
  "example.com/x\u0000y",
  "example.com/\t",
  "ex\u00e9mple.com/x",
  "github.com/Azure/azure-sdk-for-go",
  "github.com/GoogleCloudPlatform/cloudsql-proxy",
  "github.com/Sirupsen/logrus",
  "rsc.io/QUOTE",
  "x.y/z",
  "a.b/c/d/e/f/g",
  "example.com/$x",
  "example.com/x(y)",
  "example.com/=",
];

/** Hand-picked versions for semver, pseudo-version and escaping rules. */
export const EDGE_VERSIONS: readonly string[] = [
  "",
  "v",
  "v1",
  "v1.2",
  "v1.2.3",
  "v1.2.3-pre",
  "v1.2.3-pre+meta",
  "v1.2.3+meta",
  "v1.2.3+incompatible",
  "v2.0.0+incompatible",
  "v1.2+incompatible",
  "v01.2.3",
  "v1.02.3",
  "v1.2.03",
  "v1.2.3-01",
  "v1.2.3-0",
  "v1.2.3-0a",
  "v1.2.3-a.01",
  "v1.2.3-",
  "v1.2.3+",
  "v1.2.3-a..b",
  "v1.2.3+a..b",
  "1.2.3",
  "V1.2.3",
  "v1.2.3.4",
  "v1.2.3 ",
  "v1.0.0-alpha",
  "v1.0.0-alpha.1",
  "v1.0.0-alpha.beta",
  "v1.0.0-beta",
  "v1.0.0-beta.2",
  "v1.0.0-beta.11",
  "v1.0.0-rc.1",
  "v1.0.0",
  "v0.0.0-20191109021931-daa7c04131f5",
  "v0.0.0-00010101000000-000000000000",
  "v2.0.0-00010101000000-000000000000",
  "v1.2.4-0.20191109021931-daa7c04131f5",
  "v1.2.4-0.20191109021931-daa7c04131f5+incompatible",
  "v1.2.3-pre.0.20191109021931-daa7c04131f5",
  "v1.2.3-pre.0.20191109021931-daa7c04131f5+incompatible",
  "v0.0.0-20191109021931-daa7c04131f5+incompatible",
  "v1.0.0-0.20191109021931-daa7c04131f5",
  "v1.10.0-0.20191109021931-daa7c04131f5",
  "v1.2.0-0.20191109021931-daa7c04131f5",
  "v0.0.0-20191309021931-daa7c04131f5",
  "v0.0.0-2019110902193-daa7c04131f5",
  "v0.0.0-201911090219311-daa7c04131f5",
  "v1.2.3-0.0.20191109021931-daa7c04131f5",
  "v1.2.3-x-0.20191109021931-daa7c04131f5",
  "v1.2.3-a.x-0.0.20191109021931-daa7c04131f5",
  "v0.0.0-20200229000000-abcdef123456",
  "v0.0.0-20210229000000-abcdef123456",
  "v0.0.0-00000101000000-abcdef123456",
  "master",
  "Master",
  "feature/x",
  "abc123",
  "ABC",
  "v1.0.0!",
  "!v",
  "a!b",
  "a!!b",
  "latest",
  "-x",
  "a b",
  "con",
  "..",
  ".",
  "a.",
  "é",
  "v1.0.0\u0000",
];
