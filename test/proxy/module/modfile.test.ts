import { execFileSync } from "node:child_process";
import { ProxyError } from "../../../lib/proxy/errors";
import { checkGoMod, parseGoModLax } from "../../../lib/proxy/module/modfile";
import { buildGoHelper } from "../../support/gohelper";
import { describeWithTools } from "../../support/tools";
import { Random } from "./vectors";

const mod = (text: string): Buffer => Buffer.from(text, "latin1");

/** The ProxyError checkGoMod throws for these go.mod bytes, or undefined when they pass. */
function refusal(path: string, version: string, text: string | Buffer): ProxyError | undefined {
  try {
    checkGoMod(path, version, typeof text === "string" ? Buffer.from(text) : text);
    return undefined;
  } catch (err) {
    expect(err).toBeInstanceOf(ProxyError);
    return err as ProxyError;
  }
}

describe("checkGoMod: a downloaded go.mod the go command would accept", () => {
  it.each([
    ["the module's own go.mod", "example.test/m", "v1.0.0", "module example.test/m\n\ngo 1.21\n"],
    [
      "the go.mod synthesised for a module without one",
      "example.test/m",
      "v1.0.0",
      "module example.test/m\n",
    ],
    ["a quoted module path", "example.test/m", "v1.0.0", 'module "example.test/m"\n'],
    [
      "a +incompatible version's synthesised go.mod",
      "example.test/m",
      "v3.0.0+incompatible",
      "module example.test/m\n",
    ],
    [
      "a v2 module",
      "example.test/m/v2",
      "v2.1.0",
      "module example.test/m/v2\nrequire example.test/x v1.2.3\n",
    ],
    [
      "a fork declaring the path it replaces",
      "example.test/fork",
      "v1.0.0",
      "module example.test/original\n",
    ],
    ["a v2 fork of a gopkg.in module", "example.test/yaml/v2", "v2.0.0", "module gopkg.in/yaml.v2\n"],
    ["an unversioned fork of a gopkg.in module", "example.test/yaml", "v1.0.0", "module gopkg.in/yaml.v3\n"],
    [
      "directives only a main module uses",
      "example.test/m",
      "v1.0.0",
      "module example.test/m\nreplace a.test/x => ../x\nexclude a.test/y v1.0.0\ntoolchain go1.99\ngodebug default=go1.21\n",
    ],
    [
      "a retract it cannot read (lax)",
      "example.test/m",
      "v1.0.0",
      "module example.test/m\nretract [v1.0.0, \n",
    ],
  ])("passes %s", (_what, path, version, text) => {
    expect(refusal(path, version, text)).toBeUndefined();
  });

  it.each([
    [
      "garbage",
      "example.test/m",
      "v1.0.0",
      "\u0000\u0001 binary junk",
      /parsing go\.mod: go\.mod:1: unexpected input character/,
    ],
    [
      "HTML",
      "example.test/m",
      "v1.0.0",
      "<html><body>Not found</body></html>\n",
      /go\.mod has no module path/,
    ],
    ["no module line", "example.test/m", "v1.0.0", "go 1.21\n", /go\.mod has no module path/],
    ["an empty module path", "example.test/m", "v1.0.0", 'module ""\n', /go\.mod has no module path/],
    [
      "a malformed module path",
      "example.test/m",
      "v1.0.0",
      "module not a path!\n",
      /usage: module module\/path/,
    ],
    [
      "an invalid module path",
      "example.test/m",
      "v1.0.0",
      "module Example.test/m\n",
      /malformed module path "Example\.test\/m"/,
    ],
    [
      "another major version",
      "example.test/m",
      "v1.0.0",
      "module example.test/m/v3\n",
      /module path "example\.test\/m\/v3", which cannot be a version of "example\.test\/m"/,
    ],
    [
      "an unversioned path for a v2 module",
      "example.test/m/v2",
      "v2.0.0",
      "module example.test/m\n",
      /cannot be a version of/,
    ],
    [
      "a bad require line",
      "example.test/m",
      "v1.0.0",
      "module example.test/m\nrequire example.test/x v2.0.0\n",
      /should be v0 or v1, not v2/,
    ],
    [
      "an unterminated block",
      "example.test/m",
      "v1.0.0",
      "module example.test/m\nrequire (\n\texample.test/x v1.0.0\n",
      /unterminated block/,
    ],
    [
      "two module lines",
      "example.test/m",
      "v1.0.0",
      "module example.test/m\nmodule example.test/m\n",
      /repeated module statement/,
    ],
    [
      "a bad go version",
      "example.test/m",
      "v1.0.0",
      "module example.test/m\ngo banana\n",
      /invalid go version 'banana'/,
    ],
    ["a C comment", "example.test/m", "v1.0.0", "module example.test/m /* x */\n", /must use \/\/ comments/],
  ])("refuses %s as an upstream fault", (_what, path, version, text, message) => {
    const err = refusal(path, version, text);
    expect(err?.kind).toBe("upstream");
    expect(err?.message).toMatch(message);
    expect(err?.message.startsWith(`${path}@${version}: `)).toBe(true);
  });

  it("refuses bytes that are not text", () => {
    expect(refusal("example.test/m", "v1.0.0", mod("module example.test/m\n\xff\xfe\n"))).toBeUndefined();
    expect(refusal("example.test/m", "v1.0.0", mod("module example.test/\xff\n"))?.message).toMatch(
      /malformed module path/,
    );
  });
});

/** Pieces a go.mod is made of, good and bad, for generated files. */
const WORDS = [
  "module",
  "go",
  "require",
  "retract",
  "replace",
  "exclude",
  "toolchain",
  "godebug",
  "tool",
  "=>",
  "(",
  ")",
  "[",
  "]",
  ",",
  "example.test/m",
  "example.test/m/v2",
  "gopkg.in/yaml.v2",
  '"example.test/q"',
  '"a\\x41b"',
  '"\\u00e9"',
  '"bad\\q"',
  "`raw`",
  "v1.2.3",
  "v1.2",
  "v2.0.0",
  "v2.0.0+incompatible",
  "v1.0.0-pre",
  "1.21",
  "1.21.0",
  "1.21rc1",
  "v1.21",
  "1.21-x",
  "banana",
  "'x'",
  "// comment",
  "/* c */",
  "x//y",
  "é",
  "\u00a0",
  "\u2000",
  "\t",
  "\r",
  "\\",
  '"',
  "`",
  "\u0000",
  "\u0085",
  "\ufeff",
  "😀",
  'a"b',
  "{",
  "}",
];

function randomGoMod(rng: Random): Buffer {
  const lines: string[] = [];
  const n = 1 + rng.int(7);
  for (let i = 0; i < n; i++) {
    const words = Array.from({ length: rng.int(5) }, () => rng.pick(WORDS));
    if (rng.chance(0.5)) words.unshift(rng.pick(["module", "go", "require", "retract", "(", ")"]));
    lines.push((rng.chance(0.2) ? "\t" : "") + words.join(rng.chance(0.9) ? " " : ""));
  }
  const text = Buffer.from(lines.join(rng.chance(0.9) ? "\n" : "\r\n") + (rng.chance(0.7) ? "\n" : ""));
  if (rng.chance(0.1)) text[rng.int(text.length)] = rng.pick([0x80, 0xc3, 0xff, 0xed, 0xe0]);
  return text;
}

describeWithTools({ go: true }, "parseGoModLax matches golang.org/x/mod's modfile.ParseLax", () => {
  let bin: string;
  beforeAll(() => {
    bin = buildGoHelper("modrules");
  }, 300_000);

  it("on hand-picked and generated files: the same verdict and module path", () => {
    const rng = new Random(Number(process.env.GOMIRROR_MODFILE_SEED ?? 20260101));
    const files: Buffer[] = [
      "module example.test/m\n",
      "module (\n\texample.test/m\n)\n",
      "module (\n\texample.test/m\n\texample.test/n\n)\n",
      "module ()\n",
      'module example.test/m\nrequire (\n\texample.test/x v1.2\n\t"example.test/y" v1.0.0 // indirect\n)\n',
      "// leading comment\nmodule example.test/m // trailing\n",
      "module example.test/m\ngo 1.21 // ok\ngo 1.22\n",
      "module example.test/m\nrequire example.test/x v1 x\n",
      "module `example.test/m`\n",
      "module 'example.test/m'\n",
      "module example.test/m\nrequire ( example.test/x v1.0.0 )\n",
      "module example.test/m\nrequire (\n) x\n",
      "module example.test/m\nrequire (\nexample.test/x v1.0.0\n)x\n",
      "module example.test/m\n\u00a0\n",
      "\ufeffmodule example.test/m\n",
      "module example.test/m\nretract v1.0.0 // why\nretract [v1.0.0, v1.1.0]\n",
      "module example.test/m\ngo v1.21rc1\n",
      "module example.test/m\nrequire example.test/v2 v2.0.0\n",
      "module example.test/m\nrequire gopkg.in/yaml.v2 v2.4.0\n",
      "module example.test/m\nrequire gopkg.in/yaml.v2 v0.0.0-20200101000000-abcdefabcdef\n",
    ].map((t) => Buffer.from(t));
    for (let i = 0; i < 4000; i++) files.push(randomGoMod(rng));

    const input = files
      .map((f) => JSON.stringify({ op: "parseLaxBase64", a: f.toString("base64") }))
      .join("\n");
    const answers = execFileSync(bin, [], { input, encoding: "utf8", maxBuffer: 256 << 20 })
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { val: string | null; err: string | null });
    const mismatches: unknown[] = [];
    files.forEach((file, i) => {
      let ours: { val: string | null; ok: boolean };
      try {
        ours = { val: parseGoModLax(file).module ?? null, ok: true };
      } catch {
        ours = { val: null, ok: false };
      }
      const go = { val: answers[i].err === null ? answers[i].val : null, ok: answers[i].err === null };
      if (ours.ok !== go.ok || ours.val !== go.val) {
        mismatches.push({ file: file.toString("latin1"), go: answers[i], ours });
      }
    });
    expect(mismatches.slice(0, 5)).toEqual([]);
    // The generated files hold both verdicts in numbers.
    const failures = answers.filter((a) => a.err !== null).length;
    expect(failures).toBeGreaterThan(500);
    expect(answers.length - failures).toBeGreaterThan(500);
  });
});
