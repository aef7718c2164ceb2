// `npm run image`: bundles the server, then builds image/Dockerfile with podman if present, else
// docker. Settings come from the environment:
//   GOMIRROR_IMAGE    tag(s) to build, comma-separated    default gomirror:<package version>
//   BASE_IMAGE        the Node 24+ base                    default: the Dockerfile's ARG
//   GIT_BUILDER_IMAGE the Debian 12 stage git comes from   default: the Dockerfile's ARG
//   CONTAINER_TOOL    podman or docker                     default: whichever is installed
// Anything after `--` goes to the build command as is, e.g.
//   npm run image -- --platform linux/arm64 --pull
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const pkg = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8"));

function has(tool) {
  return spawnSync(tool, ["--version"], { stdio: "ignore" }).status === 0;
}

function sourceUrl() {
  const repo = typeof pkg.repository === "string" ? pkg.repository : pkg.repository?.url;
  return (repo ?? "").replace(/^git\+/, "").replace(/\.git$/, "");
}

function revision() {
  try {
    return execFileSync("git", ["rev-parse", "HEAD"], {
      cwd: root,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
  } catch {
    return "unknown";
  }
}

const tool = process.env.CONTAINER_TOOL || (has("podman") ? "podman" : has("docker") ? "docker" : "");
if (!tool) {
  console.error("image: neither podman nor docker is installed; install one, or set CONTAINER_TOOL");
  process.exit(1);
}

const bundled = spawnSync(process.execPath, [path.join(root, "scripts", "bundle.mjs")], { stdio: "inherit" });
if (bundled.status !== 0) process.exit(bundled.status ?? 1);

const tags = (process.env.GOMIRROR_IMAGE || `gomirror:${pkg.version}`)
  .split(",")
  .map((t) => t.trim())
  .filter(Boolean);
const args = ["build", "-f", path.join(root, "image", "Dockerfile")];
for (const tag of tags) args.push("-t", tag);
const buildArgs = { VERSION: pkg.version, REVISION: revision(), SOURCE: sourceUrl() };
for (const arg of ["BASE_IMAGE", "GIT_BUILDER_IMAGE"])
  if (process.env[arg]) buildArgs[arg] = process.env[arg];
for (const [k, v] of Object.entries(buildArgs)) if (v) args.push("--build-arg", `${k}=${v}`);

const env = { ...process.env };
if (tool === "podman" || tool.endsWith("/podman")) {
  // OCI image format has no HEALTHCHECK; docker format keeps it.
  args.push("--format", "docker");
  env.BUILDAH_FORMAT = "docker";
} else {
  // Debian's docker.io has no buildx; the classic builder needs nothing else. Set
  // DOCKER_BUILDKIT=1 yourself to use BuildKit where it is installed.
  env.DOCKER_BUILDKIT ??= "0";
}
args.push(...process.argv.slice(2), path.join(root, "image"));

console.log(`image: ${tool} ${args.join(" ")}`);
const built = spawnSync(tool, args, { stdio: "inherit", env });
if (built.status !== 0) {
  console.error(`image: ${tool} build failed (exit ${built.status ?? built.signal})`);
  process.exit(built.status ?? 1);
}
console.log(`image: built ${tags.join(", ")}`);
