import { readFileSync } from "node:fs";
import path from "node:path";

const ROOT = path.resolve(__dirname, "../..");

/**
 * The memory settings the image gives the server (NODE_OPTIONS and glibc's MALLOC_*, from the
 * ENV lines of image/Dockerfile), so that a benchmark or test measures the process as it runs there.
 */
export function imageTuning(): Record<string, string> {
  const dockerfile = readFileSync(path.join(ROOT, "image", "Dockerfile"), "utf8").replace(/\\\n/g, " ");
  const env: Record<string, string> = {};
  for (const line of dockerfile.split("\n").filter((l) => l.startsWith("ENV "))) {
    for (const [, key, value] of line.matchAll(/\b(NODE_OPTIONS|MALLOC_[A-Z_]+)=(\S+)/g)) env[key!] = value!;
  }
  if (!env.NODE_OPTIONS)
    throw new Error("image/Dockerfile sets no NODE_OPTIONS: cannot run gomirror as the image does");
  return env;
}
