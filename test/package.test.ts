import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";

/**
 * What a user installs: `npm pack` (which builds and bundles first) must give compiled JS with
 * type declarations for every entry point, the `gomirror` command, and the image's build
 * context with its bundle; and nothing of the tests or the TypeScript sources.
 */
const ROOT = path.resolve(__dirname, "..");

describe("npm pack", () => {
  let work: string;
  let files: string[];

  beforeAll(() => {
    // Under node_modules, so the unpacked package resolves its dependencies from this checkout.
    const cache = path.join(ROOT, "node_modules", ".cache");
    mkdirSync(cache, { recursive: true });
    work = mkdtempSync(path.join(cache, "gomirror-pack-"));
    const out = execFileSync("npm", ["pack", "--json", "--pack-destination", work], {
      cwd: ROOT,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      timeout: 240_000,
    });
    const [packed] = JSON.parse(out.slice(out.indexOf("["))) as {
      filename: string;
      files: { path: string }[];
    }[];
    files = packed!.files.map((f) => f.path).sort();
    execFileSync("tar", ["-xzf", path.join(work, packed!.filename), "-C", work]);
  }, 300_000);

  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it("holds compiled JS with declarations for each entry point", () => {
    for (const entry of ["index", "proxy/index", "aws/index", "kubernetes/index"]) {
      expect(files).toContain(`dist/lib/${entry}.js`);
      expect(files).toContain(`dist/lib/${entry}.d.ts`);
    }
  });

  it("holds the image's build context with the bundled server", () => {
    for (const f of [
      "image/Dockerfile",
      "image/.dockerignore",
      "image/dist/gomirror.js",
      "image/dist/healthcheck.js",
      "image/git-rootfs.js",
    ]) {
      expect(files).toContain(f);
    }
  });

  it("leaves out tests, benchmarks and TypeScript sources (but for the examples)", () => {
    expect(files.filter((f) => /^(test|bench)\//.test(f))).toEqual([]);
    expect(
      files.filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts") && !f.startsWith("examples/")),
    ).toEqual([]);
  });

  it("holds the licence and every file README.md and docs/ link to", () => {
    expect(files).toEqual(expect.arrayContaining(["LICENSE", "CHANGELOG.md", "BENCHMARKS.md"]));
    const broken = ["README.md", ...files.filter((f) => /^docs\/.*\.md$/.test(f))].flatMap((doc) =>
      [...readFileSync(path.join(work, "package", doc), "utf8").matchAll(/\]\(([^)#\s]+)[^)]*\)/g)]
        .map((m) => m[1]!)
        .filter((t) => !/^[a-z]+:/.test(t))
        .map((t) => path.posix.normalize(path.posix.join(path.posix.dirname(doc), t)))
        .filter((f) => !files.some((shipped) => shipped === f || shipped.startsWith(`${f}/`))),
    );
    expect(broken).toEqual([]);
  });

  it("makes its users install no Node.js binary (the one the tests run on is for development)", () => {
    const manifest = JSON.parse(readFileSync(path.join(work, "package", "package.json"), "utf8")) as Record<
      string,
      Record<string, string> | undefined
    >;
    const installed = ["dependencies", "optionalDependencies", "peerDependencies"].flatMap((field) =>
      Object.keys(manifest[field] ?? {}),
    );
    expect(installed.length).toBeGreaterThan(0);
    expect(
      installed.filter((name) =>
        /^node(-bin)?(-(linux|darwin|win|aix|sunos|freebsd)-[a-z0-9]+)?$/.test(name),
      ),
    ).toEqual([]);
    expect(files.filter((f) => f.startsWith("tools/"))).toEqual([]);
  });

  it("gives working gomirror and gomirror-kubernetes commands and entry points", () => {
    const pkg = path.join(work, "package");
    const help = execFileSync(process.execPath, [path.join(pkg, "dist/bin/gomirror.js"), "--help"], {
      encoding: "utf8",
    });
    expect(help).toMatch(/GOMIRROR_LISTEN/);
    const packageJson = JSON.parse(readFileSync(path.join(pkg, "package.json"), "utf8")) as {
      bin: Record<string, string>;
    };
    expect(packageJson.bin["gomirror-kubernetes"]).toBe("dist/bin/gomirror-kubernetes.js");
    const config = path.join(work, "mirror.json");
    writeFileSync(config, JSON.stringify({ image: "registry.example.com/gomirror:1.0.0" }));
    const yaml = execFileSync(
      process.execPath,
      [path.join(pkg, packageJson.bin["gomirror-kubernetes"]), "manifests", "--config", config],
      { encoding: "utf8" },
    );
    expect(yaml).toMatch(/^apiVersion: v1\nkind: Namespace\n/);
    const probe = `const p = require(${JSON.stringify(path.join(pkg, "dist/lib/proxy/index.js"))}); console.log(typeof p.startProxy, typeof p.loadConfig)`;
    expect(execFileSync(process.execPath, ["-e", probe], { encoding: "utf8" }).trim()).toBe(
      "function function",
    );
  });
});
