import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { isBuiltin } from "node:module";
import path from "node:path";

/**
 * What a user installs: `npm pack` (which builds and bundles first) must give compiled JS with
 * type declarations for every entry point, the commands, the image's build context, the licence
 * and every document the README points to; nothing of the tests or the benchmarks; and files
 * that load nothing but the peer dependencies and Node's built-ins, since the package installs
 * no dependencies of its own.
 */
const ROOT = path.resolve(__dirname, "..");
const PEERS_ONLY = path.join(__dirname, "support", "peers-only.js");

interface Manifest {
  readonly license?: string;
  readonly repository?: unknown;
  readonly bin: Record<string, string>;
  readonly exports: Record<string, string | { types: string; default: string }>;
  readonly peerDependencies: Record<string, string>;
  readonly [field: string]: unknown;
}

/**
 * Packages the proxy's declarations name, beyond Node's: `gomirror/proxy` users who type-check
 * declaration files (`skipLibCheck: false`) install them for their types (README, "Using the
 * package"). The constructs' declarations name only their peers.
 */
const PROXY_TYPE_PACKAGES = ["@aws-sdk/client-s3", "pino", "prom-client", "undici"];

const packageName = (spec: string) =>
  spec
    .split("/")
    .slice(0, spec.startsWith("@") ? 2 : 1)
    .join("/");

describe("npm pack", () => {
  let work: string;
  let pkg: string;
  let files: string[];
  let manifest: Manifest;

  beforeAll(() => {
    // Under node_modules, so the unpacked package finds its peer dependencies in this checkout.
    const cache = path.join(ROOT, "node_modules", ".cache");
    mkdirSync(cache, { recursive: true });
    work = mkdtempSync(path.join(cache, "gomirror-pack-"));
    const out = execFileSync("npm", ["pack", "--json", "--pack-destination", work], {
      cwd: ROOT,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      timeout: 240_000,
    });
    // prepack's own output comes first on stdout.
    const [packed] = JSON.parse(out.slice(out.search(/^\[/m))) as {
      filename: string;
      files: { path: string }[];
    }[];
    files = packed!.files.map((f) => f.path).sort();
    execFileSync("tar", ["-xzf", path.join(work, packed!.filename), "-C", work]);
    pkg = path.join(work, "package");
    manifest = JSON.parse(readFileSync(path.join(pkg, "package.json"), "utf8")) as Manifest;
  }, 300_000);

  afterAll(() => rmSync(work, { recursive: true, force: true }));

  /** Runs node with the package's files allowed to load only peers and built-ins. */
  function nodeWithPeersOnly(args: string[], peers = Object.keys(manifest.peerDependencies)) {
    return spawnSync(process.execPath, ["-r", PEERS_ONLY, ...args], {
      cwd: work,
      encoding: "utf8",
      timeout: 60_000,
      env: {
        ...process.env,
        GOMIRROR_PACKAGE_DIR: pkg,
        GOMIRROR_ALLOWED_PACKAGES: peers.join(","),
      },
    });
  }

  it("holds the Apache-2.0 licence package.json names, and no made-up repository", () => {
    expect(files).toContain("LICENSE");
    expect(manifest.license).toBe("Apache-2.0");
    const licence = readFileSync(path.join(pkg, "LICENSE"), "utf8");
    expect(licence).toContain("Apache License\n                           Version 2.0, January 2004");
    expect(licence).toContain("END OF TERMS AND CONDITIONS");
    expect(manifest.repository).toBeUndefined();
  });

  it("holds every file the shipped documents link to", () => {
    const documents = files.filter((f) => f.endsWith(".md"));
    expect(documents).toEqual(expect.arrayContaining(["README.md", "CHANGELOG.md", "BENCHMARKS.md"]));
    expect(documents.filter((f) => f.startsWith("docs/")).length).toBeGreaterThan(0);
    const broken: string[] = [];
    for (const doc of documents) {
      const text = readFileSync(path.join(pkg, doc), "utf8");
      // Inline links [text](target "title") and reference definitions [label]: target.
      const targets = [
        ...[...text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]!),
        ...[...text.matchAll(/^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm)].map((m) => m[1]!),
      ];
      for (const target of targets) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith("#")) continue; // a URL, an anchor
        const file = path.posix.normalize(path.posix.join(path.posix.dirname(doc), target.split("#")[0]!));
        const inside = !file.startsWith("../");
        const shipped = files.includes(file) || files.some((f) => file === "." || f.startsWith(`${file}/`));
        if (!inside || !shipped) broken.push(`${doc}: ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it("holds compiled JS with declarations for each entry point, and each command", () => {
    for (const [entry, target] of Object.entries(manifest.exports)) {
      if (typeof target === "string") {
        expect(files).toContain(path.posix.normalize(target));
        continue;
      }
      expect([entry, files.includes(path.posix.normalize(target.types))]).toEqual([entry, true]);
      expect([entry, files.includes(path.posix.normalize(target.default))]).toEqual([entry, true]);
      expect(target.types).toMatch(/\.d\.ts$/);
      expect(target.default).toMatch(/\.js$/);
    }
    for (const bin of Object.values(manifest.bin)) expect(files).toContain(bin);
  });

  it("holds the image's build context: what the Dockerfile copies, and its ignore file", () => {
    const dockerfile = readFileSync(path.join(ROOT, "image", "Dockerfile"), "utf8");
    const copied = [...dockerfile.matchAll(/^COPY\s+(?!--from)(.+)$/gm)].flatMap((m) =>
      m[1]!.trim().split(/\s+/).slice(0, -1),
    );
    expect(copied).toEqual(expect.arrayContaining(["dist/gomirror.js", "dist/healthcheck.js"]));
    for (const f of ["Dockerfile", ".dockerignore", "README.md", ...copied]) {
      expect(files).toContain(`image/${f}`);
    }
  });

  it("leaves out tests, benchmarks, tools and TypeScript sources (but for the examples)", () => {
    expect(files.filter((f) => /^(test|bench|tools|scripts|lib|bin)\//.test(f))).toEqual([]);
    expect(
      files.filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts") && !f.startsWith("examples/")),
    ).toEqual([]);
  });

  it("installs no dependencies: its users install the peers of the part they use, nothing else", () => {
    expect(manifest.dependencies ?? {}).toEqual({});
    expect(manifest.optionalDependencies ?? {}).toEqual({});
    expect(Object.keys(manifest.peerDependencies).sort()).toEqual([
      "@cdktf/provider-kubernetes",
      "aws-cdk-lib",
      "cdktf",
      "constructs",
    ]);
  });

  it.each(["lib/aws/index.js", "lib/kubernetes/index.js", "lib/index.js", "lib/proxy/index.js"])(
    "loads dist/%s with only the peer dependencies and Node's built-ins",
    (entry) => {
      const file = path.join(pkg, "dist", entry);
      const run = nodeWithPeersOnly([
        "-e",
        `console.log(Object.keys(require(${JSON.stringify(file)})).length)`,
      ]);
      expect(run.stderr).toBe("");
      expect(Number(run.stdout.trim())).toBeGreaterThan(0);
    },
  );

  it("catches a compiled file that loads a package beyond the peers", () => {
    // given a construct file that imports pino, as a careless edit of lib/aws would
    const file = path.join(pkg, "dist", "lib", "aws", "careless.js");
    writeFileSync(file, `require("pino");\n`);
    try {
      const run = nodeWithPeersOnly(["-e", `require(${JSON.stringify(file)})`]);
      expect(run.status).not.toBe(0);
      expect(run.stderr).toMatch(
        /Cannot find module 'pino': dist\/lib\/aws\/careless\.js loads it, and it is not a peer dependency/,
      );
    } finally {
      rmSync(file);
    }
  });

  it("gives working gomirror and gomirror-kubernetes commands", () => {
    const help = nodeWithPeersOnly([path.join(pkg, manifest.bin.gomirror!), "--help"]);
    expect(help.stdout).toMatch(/GOMIRROR_LISTEN/);
    expect(manifest.bin.gomirror).toBe("image/dist/gomirror.js");
    const config = path.join(work, "mirror.json");
    writeFileSync(config, JSON.stringify({ image: "registry.example.com/gomirror:1.0.0" }));
    const yaml = nodeWithPeersOnly([
      path.join(pkg, manifest.bin["gomirror-kubernetes"]!),
      "manifests",
      "--config",
      config,
    ]);
    expect(yaml.stderr).toBe("");
    expect(yaml.stdout).toMatch(/^apiVersion: v1\nkind: Namespace\n/);
  });

  it("says which peers gomirror-kubernetes needs where only the AWS ones are installed", () => {
    const config = path.join(work, "mirror.json");
    writeFileSync(config, JSON.stringify({ image: "registry.example.com/gomirror:1.0.0" }));
    const bin = path.join(pkg, manifest.bin["gomirror-kubernetes"]!);
    const run = nodeWithPeersOnly([bin, "manifests", "--config", config], ["aws-cdk-lib", "constructs"]);
    expect(run.status).toBe(2);
    const peers = manifest.peerDependencies;
    expect(run.stderr).toMatch(/^gomirror-kubernetes: cannot load (cdktf|@cdktf\/provider-kubernetes): /);
    expect(run.stderr).toContain(
      `npm install cdktf@${peers.cdktf} @cdktf/provider-kubernetes@${peers["@cdktf/provider-kubernetes"]}`,
    );
  });

  /** The packages an entry point's declarations name, following their relative imports. */
  function declaredPackages(entry: string): string[] {
    const seen = new Set<string>();
    const packages = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = readFileSync(file, "utf8");
      const specs = [
        ...text.matchAll(/\bfrom\s+"([^"]+)"/g),
        ...text.matchAll(/\bimport\(\s*"([^"]+)"\s*\)/g),
        ...text.matchAll(/\brequire\(\s*"([^"]+)"\s*\)/g),
        ...text.matchAll(/<reference\s+types="([^"]+)"/g),
      ].map((m) => m[1]!);
      for (const spec of specs) {
        if (spec.startsWith(".")) {
          const base = path.resolve(path.dirname(file), spec);
          const next = [`${base}.d.ts`, path.join(base, "index.d.ts")].find((f) => existsSync(f));
          if (next === undefined) throw new Error(`${file} names ${spec}, which is not shipped`);
          visit(next);
        } else if (!isBuiltin(spec) && spec !== "node") {
          packages.add(packageName(spec));
        }
      }
    };
    visit(path.join(pkg, entry));
    return [...packages].sort();
  }

  it("declares the constructs' types with their peers' alone, and the proxy's with the packages README names", () => {
    const peers = Object.keys(manifest.peerDependencies);
    const beyondPeers = (entry: string) => declaredPackages(entry).filter((p) => !peers.includes(p));
    expect(beyondPeers("dist/lib/aws/index.d.ts")).toEqual([]);
    expect(beyondPeers("dist/lib/kubernetes/index.d.ts")).toEqual([]);
    expect(beyondPeers("dist/lib/proxy/index.d.ts")).toEqual(PROXY_TYPE_PACKAGES);
    const readme = readFileSync(path.join(pkg, "README.md"), "utf8");
    for (const p of PROXY_TYPE_PACKAGES) expect(readme).toContain(`\`${p}\``);
  });

  it("makes its users install no Node.js binary (the one the tests run on is for development)", () => {
    const installed = ["dependencies", "optionalDependencies", "peerDependencies"].flatMap((field) =>
      Object.keys((manifest[field] as Record<string, string> | undefined) ?? {}),
    );
    expect(
      installed.filter((name) =>
        /^node(-bin)?(-(linux|darwin|win|aix|sunos|freebsd)-[a-z0-9]+)?$/.test(name),
      ),
    ).toEqual([]);
  });
});
