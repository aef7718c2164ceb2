// Gathers what gomirror's git source runs into a directory tree to copy onto the image's base:
// git (with its HTTPS helper and `git init` templates), ssh, and the shared libraries they need
// except those every Node base has (the C library and its loader must be the base's). Runs in the image
// build's first stage, under node, with no shell:
//
//   node git-rootfs.js /git-rootfs
//
// On a Debian 12 builder without git (the default, node:24-bookworm-slim) it installs git and
// openssh-client with apt first; a builder that already has them (the tests' locally assembled
// one) needs no network.
"use strict";
const { spawnSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");

const out = process.argv[2];
if (!out) {
  console.error("usage: node git-rootfs.js OUTPUT_DIR");
  process.exit(2);
}

const GIT = "/usr/lib/git-core/git";
const HTTP_HELPER = "/usr/lib/git-core/git-remote-http";
const SSH = "/usr/bin/ssh";
const TEMPLATES = "/usr/share/git-core/templates";
// What every Node image has because node itself needs it: the C library and its loader, libm,
// the C++ runtime. The base's own copies are the ones to use. Other glibc parts (libresolv) are
// copied: a minimal base may lack them, and the builder is the base's Debian release.
const FROM_BASE = /^(ld-linux.*|libc|libm|libstdc\+\+|libgcc_s)\.so/;

function run(command, args) {
  const r = spawnSync(command, args, {
    stdio: "inherit",
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });
  if (r.status !== 0) {
    console.error(`git-rootfs: ${command} ${args.join(" ")} failed (${r.status ?? r.error})`);
    process.exit(1);
  }
}

if (![GIT, HTTP_HELPER, SSH].every((f) => fs.existsSync(f))) {
  run("apt-get", ["update", "-qq"]);
  run("apt-get", [
    "install",
    "-y",
    "-qq",
    "--no-install-recommends",
    "git",
    "openssh-client",
    "ca-certificates",
  ]);
}

const loader = ["/lib64/ld-linux-x86-64.so.2", "/lib/ld-linux-aarch64.so.1"].find((f) => fs.existsSync(f));
if (!loader) {
  console.error("git-rootfs: no dynamic loader found (x86-64 and arm64 glibc are supported)");
  process.exit(1);
}

/** The shared libraries a binary loads, as the dynamic loader resolves them (what ldd prints). */
function librariesOf(binary) {
  const r = spawnSync(loader, ["--list", binary], { encoding: "utf8" });
  if (r.status !== 0) {
    console.error(`git-rootfs: ${loader} --list ${binary} failed: ${r.stderr}`);
    process.exit(1);
  }
  const libs = [];
  for (const line of r.stdout.split("\n")) {
    const m = /=>\s+(\/\S+)/.exec(line);
    if (m && !FROM_BASE.test(path.basename(m[1]))) libs.push(m[1]);
  }
  return libs;
}

function put(file) {
  const target = path.join(out, file);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.copyFileSync(file, target); // follows symlinks: the library's real content under its soname
  fs.chmodSync(target, fs.statSync(file).mode & 0o755);
}

const binaries = [GIT, HTTP_HELPER, SSH];
const libraries = new Set(binaries.flatMap(librariesOf));
for (const f of [...binaries, ...libraries]) put(f);
fs.symlinkSync("../lib/git-core/git", path.join(out, "usr/bin/git"));
fs.symlinkSync("git-remote-http", path.join(out, "usr/lib/git-core/git-remote-https"));
fs.cpSync(TEMPLATES, path.join(out, TEMPLATES), { recursive: true, dereference: true });
console.log(`git-rootfs: ${binaries.length} programs and ${libraries.size} libraries in ${out}`);
