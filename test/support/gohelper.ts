import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import path from "node:path";
import { findGo } from "./tools";

/**
 * Builds the small offline Go programs under test/support/gohelper/<name>/ that give the test
 * suite reference answers from golang.org/x/mod v0.19.0 (the copy vendored in Debian's
 * golang-1.23-src, the same code the go command runs). Binaries are cached by content hash.
 */

const VENDORED_XMOD = "/usr/lib/go-1.23/src/cmd/vendor/golang.org/x/mod";
const ROOT = path.resolve(__dirname, "../..");
export const TEST_CACHE = path.join(ROOT, "node_modules", ".cache", "gomirror-test");

/** The environment every go invocation of the test suite runs with: offline and isolated. */
export function offlineGoEnv(gopath: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: gopath,
    GOPATH: gopath,
    GOMODCACHE: path.join(gopath, "pkg", "mod"),
    GOCACHE: path.join(TEST_CACHE, "gocache"),
    GOTOOLCHAIN: "local",
    GOPROXY: "off",
    GOSUMDB: "off",
    GOFLAGS: "-mod=mod",
    GONOSUMDB: "",
    GOPRIVATE: "",
    GONOPROXY: "",
    GOINSECURE: "",
    GOTELEMETRY: "off",
    CGO_ENABLED: "0",
  };
}

function xmodCopy(): string {
  const dest = path.join(TEST_CACHE, "x-mod-v0.19.0");
  if (existsSync(path.join(dest, "go.mod"))) return dest;
  if (!existsSync(VENDORED_XMOD)) {
    throw new Error(`${VENDORED_XMOD} is missing: install golang-1.23-src (see .ci/install-system.sh)`);
  }
  const tmp = `${dest}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  cpSync(VENDORED_XMOD, tmp, { recursive: true });
  writeFileSync(path.join(tmp, "go.mod"), "module golang.org/x/mod\n\ngo 1.22\n");
  try {
    renameSync(tmp, dest);
  } catch {
    rmSync(tmp, { recursive: true, force: true }); // another worker won the race
  }
  return dest;
}

/** Path of the built helper binary `name` (its sources: test/support/gohelper/<name>/*.go). */
export function buildGoHelper(name: string): string {
  const go = findGo();
  if (!go) throw new Error("go >= 1.23 is required to build the reference helpers");
  const srcDir = path.join(__dirname, "gohelper", name);
  const files = readdirSync(srcDir)
    .filter((f) => f.endsWith(".go"))
    .sort();
  const hash = createHash("sha256");
  for (const f of files) hash.update(f).update(readFileSync(path.join(srcDir, f)));
  const bin = path.join(TEST_CACHE, "bin", `${name}-${hash.digest("hex").slice(0, 16)}`);
  if (existsSync(bin)) return bin;

  const xmod = xmodCopy();
  const work = path.join(TEST_CACHE, "build", `${name}-${process.pid}-${Date.now()}`);
  mkdirSync(work, { recursive: true });
  for (const f of files) cpSync(path.join(srcDir, f), path.join(work, f));
  writeFileSync(
    path.join(work, "go.mod"),
    `module gomirror.test/${name}\n\ngo 1.23\n\nrequire golang.org/x/mod v0.19.0\n\nreplace golang.org/x/mod => ${xmod}\n`,
  );
  mkdirSync(path.dirname(bin), { recursive: true });
  const tmpBin = `${bin}.tmp-${process.pid}`;
  execFileSync(go, ["build", "-o", tmpBin, "."], {
    cwd: work,
    env: offlineGoEnv(path.join(TEST_CACHE, "gopath")),
    stdio: ["ignore", "pipe", "pipe"],
    timeout: 300_000,
  });
  renameSync(tmpBin, bin);
  rmSync(work, { recursive: true, force: true });
  return bin;
}
