// Bundles the server (bin/gomirror.ts) and the image's health probe (image/healthcheck.ts) into
// single files under image/dist/, the only things the image build copies. Runs before the image
// build so the build itself needs no network and no node_modules. How: scripts/build-bundle.cjs
// (the AWS SDK is carried as text, compiled on first use).
//
//   node scripts/bundle.mjs            minified, no source map
//   GOMIRROR_BUNDLE_SOURCEMAP=1 ...    adds an inline source map (the image stays one file)
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const { buildBundle } = createRequire(import.meta.url)("./build-bundle.cjs");
const outdir = path.join(root, "image", "dist");

const sourcemap = ["1", "true", "inline"].includes(process.env.GOMIRROR_BUNDLE_SOURCEMAP ?? "");

// Built beside image/dist and moved in file by file (rename is atomic), so that a concurrent
// image build or test never reads a half-written bundle.
const staging = path.join(root, "image", `.dist-${process.pid}`);
rmSync(staging, { recursive: true, force: true });
mkdirSync(staging, { recursive: true });

let result;
try {
  result = await buildBundle({ root, outdir: staging, minify: true, sourcemap, healthcheck: true });
} catch (err) {
  // esbuild has already printed its errors, with file and line; a failed check has not.
  console.error(`bundle: ${err.message}\nbundle: nothing written to image/dist/`);
  rmSync(staging, { recursive: true, force: true });
  process.exit(1);
}

for (const [name, file] of Object.entries(result.metafile.outputs)) {
  console.log(
    `image/dist/${path.basename(name)}: ${(statSync(path.join(staging, path.basename(name))).size / 1024).toFixed(1)} KiB (${Object.keys(file.inputs).length} inputs parsed at start)`,
  );
}
for (const [name, group] of Object.entries(result.groups)) {
  console.log(
    `  compiled on first use: ${name} (${group.packages.join(", ")}), ${(group.text.length / 1024).toFixed(1)} KiB, ${Object.keys(group.metafile.inputs).length} inputs`,
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
