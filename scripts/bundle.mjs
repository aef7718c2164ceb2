// Bundles the server (bin/gomirror.ts) and the image's health probe (image/healthcheck.ts) into
// single files under image/dist/, the only things the image build copies. Runs before the image
// build so the build itself needs no network and no node_modules.
//
//   node scripts/bundle.mjs            minified, no source map
//   GOMIRROR_BUNDLE_SOURCEMAP=1 ...    adds an inline source map (the image stays one file)
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const outdir = path.join(root, "image", "dist");
const entries = {
  gomirror: path.join(root, "bin", "gomirror.ts"),
  healthcheck: path.join(root, "image", "healthcheck.ts"),
};

const sourcemap = ["1", "true", "inline"].includes(process.env.GOMIRROR_BUNDLE_SOURCEMAP ?? "");

// Built beside image/dist and moved in file by file (rename is atomic), so that a concurrent
// image build or test never reads a half-written bundle.
const staging = path.join(root, "image", `.dist-${process.pid}`);
rmSync(staging, { recursive: true, force: true });
mkdirSync(staging, { recursive: true });

const result = await build({
  absWorkingDir: root,
  entryPoints: entries,
  outdir: staging,
  bundle: true,
  platform: "node",
  target: "node24",
  format: "cjs",
  minify: true,
  // Error and class names show up in logs and in `instanceof`-free checks; keep them readable.
  keepNames: true,
  sourcemap: sourcemap ? "inline" : false,
  // Third-party licence notices stay in the shipped file.
  legalComments: "eof",
  logLevel: "warning",
  // The bundle is the whole app: prefer packages' CommonJS/Node builds, never browser ones.
  mainFields: ["main", "module"],
  metafile: true,
}).catch(() => {
  // esbuild has already printed the errors, with file and line.
  console.error("bundle: esbuild failed; nothing written to image/dist/");
  rmSync(staging, { recursive: true, force: true });
  process.exit(1);
});

for (const [name, file] of Object.entries(result.metafile.outputs)) {
  console.log(
    `image/dist/${path.basename(name)}: ${(statSync(path.join(root, name)).size / 1024).toFixed(1)} KiB (${Object.keys(file.inputs).length} inputs)`,
  );
}

// A bundle that cannot even print its usage is broken (a missing optional dependency, a
// dynamic require esbuild could not follow): fail here, not at container start.
try {
  execFileSync(process.execPath, [path.join(staging, "gomirror.js"), "--help"], {
    stdio: ["ignore", "ignore", "pipe"],
    timeout: 30_000,
  });
} catch (err) {
  console.error(`bundle: image/dist/gomirror.js --help failed:\n${err.stderr ?? err.message}`);
  rmSync(staging, { recursive: true, force: true });
  process.exit(1);
}

mkdirSync(outdir, { recursive: true });
for (const name of readdirSync(staging)) renameSync(path.join(staging, name), path.join(outdir, name));
rmSync(staging, { recursive: true, force: true });
