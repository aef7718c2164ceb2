import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";

/**
 * Locating the external tools the end-to-end tests drive (go, git, podman, cfn-lint).
 * Under CI=true a missing tool is a test failure; elsewhere the suite is skipped with a printed
 * reason, so a developer without the tool still gets the rest of the run.
 */

const GO_CANDIDATES = [process.env.GOMIRROR_TEST_GO, "/usr/lib/go-1.23/bin/go", "go"];

function versionOf(bin: string, args: string[]): string | undefined {
  try {
    return execFileSync(bin, args, {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
      timeout: 20_000,
    });
  } catch {
    return undefined;
  }
}

let goCache: string | null | undefined;

/** A go binary of version 1.23 or newer, or undefined. */
export function findGo(): string | undefined {
  if (goCache !== undefined) return goCache ?? undefined;
  goCache = null;
  for (const candidate of GO_CANDIDATES) {
    if (!candidate || (candidate.includes("/") && !existsSync(candidate))) continue;
    const out = versionOf(candidate, ["version"]);
    const m = out && /go1\.(\d+)/.exec(out);
    if (m && Number(m[1]) >= 23) {
      goCache = candidate;
      break;
    }
  }
  return goCache ?? undefined;
}

/** Whether a command answers `--version` (git, podman, cfn-lint, nginx -v, ...). */
export function hasTool(bin: string, args: string[] = ["--version"]): boolean {
  return versionOf(bin, args) !== undefined;
}

const inCI = process.env.CI === "true";

/**
 * `describe` for a suite that needs external tools. When a tool is missing: under CI=true the
 * suite fails with the tool's name; elsewhere it is skipped with a printed reason.
 */
export function describeWithTools(
  tools: { go?: boolean; bins?: (string | readonly [string, string[]])[] },
  name: string,
  body: () => void,
): void {
  const missing: string[] = [];
  if (tools.go && !findGo()) missing.push("go (>= 1.23)");
  // A tool that does not answer --version comes with the arguments that make it print its version.
  for (const tool of tools.bins ?? []) {
    const [bin, args] = typeof tool === "string" ? [tool, undefined] : tool;
    if (!hasTool(bin, args)) missing.push(bin);
  }
  if (missing.length === 0) {
    describe(name, body);
    return;
  }
  if (inCI) {
    describe(name, () => {
      it("has the tools it needs", () => {
        throw new Error(`missing tools under CI=true: ${missing.join(", ")} (.ci/run should install them)`);
      });
    });
    return;
  }
  console.warn(`skipping "${name}": missing ${missing.join(", ")}`);
  describe.skip(name, body);
}
