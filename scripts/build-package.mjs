// Builds what the npm package ships under dist/ (`npm run build`, also run by `npm pack`), so that
// users install only the peer dependencies of the part they use:
//
// - tsc compiles lib/ and bin/ (JS and declarations);
// - the proxy's entry point (dist/lib/proxy/index.js) is replaced by a bundle with the packages
//   it uses inlined (the AWS SDK and undici carried compressed, as in the server bundle), and so
//   is any file the constructs load that imports a package other than a peer (the YAML writer);
// - compiled files nothing loads any more (the proxy's modules, now inside its bundle) are
//   removed, and every file left is checked to load only peers, Node built-ins and its own
//   package's files.
//
// The `gomirror` command is the server bundle (`npm run bundle`, image/dist/gomirror.js).
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { createRequire, isBuiltin } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(import.meta.url);
const { buildLibraryBundle } = require("./build-bundle.cjs");
const esbuild = require(require.resolve("esbuild", { paths: [root] }));
const dist = path.join(root, "dist");

const pkg = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8"));
const PEERS = Object.keys(pkg.peerDependencies ?? {});
/** The construct entry points: what they load stays compiled file by file (one copy of each class). */
const CONSTRUCT_ENTRIES = ["lib/aws/index.ts", "lib/kubernetes/index.ts"];
/** The compiled files users run: every other compiled file must be reachable from these. */
const SHIPPED_ENTRIES = ["dist/lib/index.js", "dist/bin/gomirror-kubernetes.js"];
/** Entry points bundled whatever they import. */
const BUNDLED = ["lib/proxy/index.ts"];

const packageName = (spec) =>
  spec
    .split("/")
    .slice(0, spec.startsWith("@") ? 2 : 1)
    .join("/");
const allowed = (spec) => isBuiltin(spec) || PEERS.includes(packageName(spec));

/** What esbuild finds when it follows `entries`' imports, packages left out. */
async function imports(entries) {
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: entries,
    bundle: true,
    platform: "node",
    format: "cjs",
    packages: "external",
    write: false,
    metafile: true,
    outdir: path.join(root, ".build-package"),
    logLevel: "warning",
  });
  return result.metafile.inputs;
}

rmSync(dist, { recursive: true, force: true });
execFileSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", "tsconfig.build.json"], {
  cwd: root,
  stdio: "inherit",
});

// The sources the constructs load, and those among them that import a package users would
// otherwise have to install.
const constructInputs = await imports(CONSTRUCT_ENTRIES);
const shared = Object.keys(constructInputs);
const carriers = shared.filter((file) =>
  constructInputs[file].imports.some((i) => i.external && !allowed(i.path)),
);
for (const entry of [...BUNDLED, ...carriers]) {
  const outfile = path.join(dist, entry.replace(/\.ts$/, ".js"));
  await buildLibraryBundle({ root, entry, outfile, shared, external: PEERS.flatMap((p) => [p, `${p}/*`]) });
}

// Remove what nothing loads, then check what is left.
const shipped = await imports(SHIPPED_ENTRIES);
const reachable = new Set(Object.keys(shipped).map((f) => path.join(root, f)));
for (const entry of readdirSync(dist, { recursive: true, withFileTypes: true })) {
  const file = path.join(entry.parentPath, entry.name);
  const compiled =
    file.endsWith(".js") || (file.endsWith(".d.ts") && file.startsWith(path.join(dist, "bin")));
  if (entry.isFile() && compiled && !reachable.has(file)) rmSync(file);
}
const problems = Object.entries(shipped).flatMap(([file, input]) =>
  input.imports.filter((i) => i.external && !allowed(i.path)).map((i) => `${file} loads ${i.path}`),
);
if (problems.length > 0) {
  console.error(
    `build: compiled files load packages that are not peer dependencies:\n  ${problems.join("\n  ")}\n` +
      `build: bundle them (scripts/build-package.mjs) or make them peer dependencies`,
  );
  process.exit(1);
}
