// How the server is bundled (esbuild), shared by scripts/bundle.mjs (the image's files) and the
// benchmark (bench/gomirror.ts), so that what is measured is what ships.
//
// Packages that only some deployments or some requests use are kept out of the code Node
// parses at start: the AWS SDK (S3 storage, the token secret) and undici (the HTTP client of
// upstreams, checksum databases, git discovery and peers: a mirror answering from its cache or
// air-gapped never needs it) are each bundled on their own and carried at the end of the server
// bundle in a comment (gzip, base64), read back and compiled on their first require.
// Parsing code costs memory even when it never runs: carried this way instead of as code, it
// costs megabytes less resident memory in every process that does not use it. The image keeps
// one file.
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const { compileFunction } = require("node:vm");
const zlib = require("node:zlib");

/** Groups of packages compiled on first use; a group is one unit (its packages share code). */
const LAZY_GROUPS = {
  aws: [
    "@aws-sdk/client-s3",
    "@aws-sdk/lib-storage",
    "@aws-sdk/s3-request-presigner",
    "@aws-sdk/client-secrets-manager",
  ],
  undici: ["undici"],
};

/** Packages that must never be parsed at start (what the groups above pull in). */
const NEVER_EAGER = /(^|\/)node_modules\/(@aws-sdk|@smithy|undici)\//;

/** The parameters a group's code is compiled with: those of a CommonJS module. */
const MODULE_PARAMS = ["module", "exports", "require", "__filename", "__dirname"];

function baseOptions(root, minify) {
  return {
    absWorkingDir: root,
    bundle: true,
    platform: "node",
    target: "node24",
    format: "cjs",
    minify,
    // Error and class names show up in logs and in `instanceof`-free checks; keep them readable.
    keepNames: true,
    // Third-party licence notices stay in the shipped file.
    legalComments: "eof",
    logLevel: "warning",
    // The bundle is the whole app: prefer packages' CommonJS/Node builds, never browser ones.
    mainFields: ["main", "module"],
    metafile: true,
  };
}

/**
 * Non-Latin-1 characters as \u escapes, so that V8 keeps the source as a one-byte string (half
 * the memory of a two-byte one). esbuild escapes strings and identifiers but not regular
 * expression literals or comments; an escape means the same in a string, a template's cooked
 * value, a regular expression and a comment.
 */
function latin1(text) {
  return text.replace(/[\u0100-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** Bundles one lazy group into CommonJS code exporting `{ [package]: exports }`, and its licence notices. */
async function buildGroup(esbuild, root, minify, packages) {
  const result = await esbuild.build({
    ...baseOptions(root, minify),
    stdin: {
      contents: `module.exports = {${packages.map((p) => `${JSON.stringify(p)}: require(${JSON.stringify(p)})`).join(",")}};`,
      resolveDir: root,
      sourcefile: "lazy-group.js",
    },
    // Kept apart, to be shipped readable: the code itself is carried compressed.
    legalComments: "external",
    outfile: path.join(root, "lazy-group.js"),
    write: false,
  });
  const text = result.outputFiles.find((f) => f.path.endsWith(".js")).text;
  const legal = result.outputFiles.find((f) => f.path.endsWith(".LEGAL.txt"))?.text ?? "";
  return { text, legal, metafile: result.metafile };
}

/** The comment carrying a group's code: base64 has no `*` and no character outside ASCII. */
function carrier(name, text) {
  return `/*gomirror-lazy ${name} ${zlib.gzipSync(text, { level: 9 }).toString("base64")}*/`;
}

/** A group's code read back from a bundle's text, as the lazy module does at run time. */
function carried(bundle, name) {
  const marker = `/*gomirror-lazy ${name} `;
  const start = bundle.lastIndexOf(marker);
  if (start < 0) return undefined;
  const data = bundle.slice(start + marker.length, bundle.indexOf("*/", start));
  return zlib.gunzipSync(Buffer.from(data, "base64")).toString("utf8");
}

/** An esbuild plugin that answers the lazy groups' packages from the code carried in the bundle. */
function lazyGroupsPlugin(groups) {
  const owner = new Map();
  for (const [name, group] of Object.entries(groups)) for (const p of group.packages) owner.set(p, name);
  const escape = (s) => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  const filter = new RegExp(`^(${[...owner.keys()].map(escape).join("|")})$`);
  return {
    name: "lazy-groups",
    setup(build) {
      build.onResolve({ filter }, (args) => ({ path: args.path, namespace: "lazy-package" }));
      build.onLoad({ filter: /.*/, namespace: "lazy-package" }, (args) => ({
        contents: `module.exports = require(${JSON.stringify(`gomirror-lazy:${owner.get(args.path)}`)})[${JSON.stringify(args.path)}];`,
        loader: "js",
      }));
      build.onResolve({ filter: /^gomirror-lazy:/ }, (args) => ({
        path: args.path.slice("gomirror-lazy:".length),
        namespace: "lazy-group",
      }));
      build.onLoad({ filter: /.*/, namespace: "lazy-group" }, (args) => ({
        // Runs on the first require of one of the group's packages, never at start. The
        // carrier comments are the last thing in the file, after every use of the marker.
        contents: [
          `const { readFileSync } = require("node:fs");`,
          `const { compileFunction } = require("node:vm");`,
          `const { gunzipSync } = require("node:zlib");`,
          `const bundle = readFileSync(__filename, "latin1");`,
          `const marker = ${JSON.stringify(`/*gomirror-lazy ${args.path} `)};`,
          `const start = bundle.lastIndexOf(marker);`,
          `const data = bundle.slice(start + marker.length, bundle.indexOf("*/", start));`,
          `const text = gunzipSync(Buffer.from(data, "base64")).toString("utf8");`,
          `const m = { exports: {} };`,
          `compileFunction(text, ${JSON.stringify(MODULE_PARAMS)}, {`,
          `  filename: ${JSON.stringify(`gomirror-${args.path}.js`)},`,
          `})(m, m.exports, require, __filename, __dirname);`,
          `module.exports = m.exports;`,
        ].join("\n"),
        loader: "js",
      }));
    },
  };
}

/** The server bundle's text: the code, then the lazy groups' notices and carried code. */
function withCarriedGroups(text, groups) {
  const notices = Object.values(groups)
    .map((g) => g.legal)
    .join("\n")
    .split("\n")
    .map((line) => `// ${line}`.trimEnd());
  const tail = [
    "// Licence notices of the code carried below, compiled on first use:",
    ...notices,
    ...Object.entries(groups).map(([name, g]) => carrier(name, g.text)),
    "",
  ].join("\n");
  // An inline source map stays the last line.
  const map = text.lastIndexOf("\n//# sourceMappingURL=");
  return map < 0 ? `${text}${tail}` : `${text.slice(0, map + 1)}${tail}${text.slice(map + 1)}`;
}

/**
 * Fails when a lazy group's packages are parsed at start after all (imported some other way
 * than by a package name listed above), or when the code carried in the bundle does not read
 * back as the group's code, or does not compile.
 */
function checkLazy(metafile, groups, bundleFile) {
  for (const [out, info] of Object.entries(metafile.outputs)) {
    const eager = Object.keys(info.inputs).filter((input) => NEVER_EAGER.test(input));
    if (eager.length > 0) {
      throw new Error(
        `${out} parses at start what should load on first use: ${eager.slice(0, 5).join(", ")}`,
      );
    }
  }
  const bundle = fs.readFileSync(bundleFile, "latin1");
  for (const [name, group] of Object.entries(groups)) {
    const text = carried(bundle, name);
    if (text !== group.text) throw new Error(`${bundleFile} does not carry the code of ${name} intact`);
    compileFunction(text, MODULE_PARAMS, { filename: `gomirror-${name}.js` });
  }
}

/**
 * Bundles bin/gomirror.ts (and image/healthcheck.ts with `healthcheck: true`) into `outdir`.
 * Returns esbuild's metafile of what is parsed at start, and what each lazy group holds.
 */
async function buildBundle({ root, outdir, minify = true, sourcemap = false, healthcheck = false }) {
  const esbuild = require(require.resolve("esbuild", { paths: [root] }));
  const groups = {};
  for (const [name, packages] of Object.entries(LAZY_GROUPS)) {
    groups[name] = { packages, ...(await buildGroup(esbuild, root, minify, packages)) };
  }
  const entryPoints = { gomirror: path.join(root, "bin", "gomirror.ts") };
  if (healthcheck) entryPoints.healthcheck = path.join(root, "image", "healthcheck.ts");
  const result = await esbuild.build({
    ...baseOptions(root, minify),
    entryPoints,
    outdir,
    sourcemap: sourcemap ? "inline" : false,
    plugins: [lazyGroupsPlugin(groups)],
    write: false,
  });
  fs.mkdirSync(outdir, { recursive: true });
  for (const file of result.outputFiles) {
    const server = path.basename(file.path) === "gomirror.js";
    const text = latin1(server ? withCarriedGroups(file.text, groups) : file.text);
    fs.writeFileSync(file.path, text, { mode: text.startsWith("#!") ? 0o755 : 0o644 });
  }
  checkLazy(result.metafile, groups, path.join(outdir, "gomirror.js"));
  return { metafile: result.metafile, groups };
}

/**
 * Bundles one module of the npm package (`entry`, a .ts file under lib/) into `outfile`, with the
 * packages it uses inlined so that users install none of them: the proxy's entry point
 * (`gomirror/proxy`), whose AWS SDK is carried as in the server bundle, and any file the
 * constructs load that imports a package other than a peer. `shared` lists the sources that stay
 * separate files beside the bundle (the constructs load them too, so both see one copy of each
 * class); imports of them stay `require`s of the compiled file. `external` names the packages
 * left for the user to install (the peer dependencies).
 */
async function buildLibraryBundle({ root, entry, outfile, shared, external }) {
  const esbuild = require(require.resolve("esbuild", { paths: [root] }));
  const entryFile = path.join(root, entry);
  const sharedFiles = new Set([...shared].map((f) => path.join(root, f)));
  sharedFiles.delete(entryFile);
  const sharedPlugin = {
    name: "shared-modules",
    setup(build) {
      build.onResolve({ filter: /^\.\.?\// }, (args) => {
        const base = path.resolve(args.resolveDir, args.path);
        const file = [`${base}.ts`, path.join(base, "index.ts")].find((f) => sharedFiles.has(f));
        if (file === undefined) return undefined;
        // The bundle sits where the entry's compiled file would: the same relative paths hold.
        let rel = path
          .relative(path.dirname(entryFile), file.slice(0, -".ts".length))
          .split(path.sep)
          .join("/");
        if (!rel.startsWith(".")) rel = `./${rel}`;
        return { path: rel, external: true };
      });
    },
  };
  // Which packages the entry's own code imports: a lazy group is carried only where it is used.
  const probe = await esbuild.build({
    ...baseOptions(root, false),
    entryPoints: [entryFile],
    packages: "external",
    plugins: [sharedPlugin],
    write: false,
    outfile,
  });
  const imported = new Set(
    Object.values(probe.metafile.inputs).flatMap((input) => input.imports.map((i) => i.path)),
  );
  const usesGroup = (p) => imported.has(p);
  const groups = {};
  for (const [name, packages] of Object.entries(LAZY_GROUPS)) {
    if (!packages.some(usesGroup)) continue;
    groups[name] = { packages, ...(await buildGroup(esbuild, root, true, packages)) };
  }
  const result = await esbuild.build({
    ...baseOptions(root, false),
    // Readable, for users' stack traces; the carried groups are minified (they are compressed).
    minifySyntax: true,
    entryPoints: [entryFile],
    external,
    plugins: [sharedPlugin, lazyGroupsPlugin(groups)],
    outfile,
    write: false,
  });
  const [file] = result.outputFiles;
  fs.mkdirSync(path.dirname(outfile), { recursive: true });
  const text = Object.keys(groups).length > 0 ? withCarriedGroups(file.text, groups) : file.text;
  fs.writeFileSync(outfile, latin1(text));
  checkLazy(result.metafile, groups, outfile);
  return { metafile: result.metafile, groups };
}

module.exports = { buildBundle, buildLibraryBundle, LAZY_GROUPS };
