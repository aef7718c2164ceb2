import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { ProxyError } from "../../../lib/proxy/errors";
import { checkPath, checkPathMajor, splitPathVersion } from "../../../lib/proxy/module/path";
import { offlineGoEnv } from "../../support/gohelper";
import { describeWithTools, findGo } from "../../support/tools";

/**
 * The real go command as the oracle: with GOPROXY=off it refuses a malformed module path before
 * any lookup ("malformed module path ...") and reaches "module lookup disabled" for a valid one;
 * parsing a go.mod it refuses a version that does not fit the path's major version.
 */

const LOOKUP_DISABLED = "module lookup disabled by GOPROXY=off";

function problemOf(f: () => void): string | undefined {
  try {
    f();
    return undefined;
  } catch (err) {
    if (err instanceof ProxyError) return err.message;
    throw err;
  }
}

describeWithTools({ go: true }, "module rules agree with the go command", () => {
  let work: string;
  let gopath: string;

  beforeAll(() => {
    work = mkdtempSync(path.join(tmpdir(), "gomirror-modrules-"));
    gopath = path.join(work, "gopath");
  });

  afterAll(() => {
    rmSync(work, { recursive: true, force: true });
  });

  function runGo(args: string[], goMod: string): string {
    const dir = mkdtempSync(path.join(work, "mod-"));
    writeFileSync(path.join(dir, "go.mod"), goMod);
    const result = spawnSync(findGo() as string, args, {
      cwd: dir,
      env: offlineGoEnv(gopath),
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(result.error).toBeUndefined();
    expect(result.status).not.toBe(0); // nothing can succeed offline
    return result.stderr;
  }

  const paths = [
    "example.com/ok",
    "example.com/ok/v2",
    "gopkg.in/yaml.v2",
    "github.com/Azure/azure-sdk-for-go",
    "Example.com/m",
    "example/m",
    "example.com/m/v1",
    "example.com/m/v02",
    "gopkg.in/yaml",
    "example.com/CON",
    "example.com/a~1",
    "example.com/.hidden",
    "example.com/trailing.",
    "example.com/a+b",
    "example.com/é",
    "exa_mple.com/m",
  ];

  it.each(paths)("go mod download refuses %s exactly when checkPath does, with the same words", (modPath) => {
    // given a module with no requirements, and the go command offline
    const stderr = runGo(["mod", "download", `${modPath}@v1.0.0`], "module example.com/main\n\ngo 1.23\n");
    // when our checkPath looks at the same path
    const problem = problemOf(() => checkPath(modPath));
    // then both refuse it for the same reason, or both let it through to the (disabled) lookup
    if (problem === undefined) {
      expect(stderr).toContain(LOOKUP_DISABLED);
      expect(stderr).not.toContain("malformed");
    } else {
      expect(stderr).toContain(`${modPath}@v1.0.0: ${problem}`);
    }
  });

  const requirements: [string, string][] = [
    ["example.com/m", "v1.2.3"],
    ["example.com/m", "v2.0.0"],
    ["example.com/m", "v2.0.0+incompatible"],
    ["example.com/m/v2", "v1.0.0"],
    ["example.com/m/v2", "v2.0.0"],
    ["example.com/m/v3", "v2.0.0"],
    ["gopkg.in/yaml.v2", "v1.0.0"],
    ["gopkg.in/yaml.v2", "v2.4.0"],
    ["gopkg.in/check.v1", "v0.0.0-20161208181325-20d25e280405"],
  ];

  it.each(requirements)(
    "go.mod parsing refuses %s %s exactly when checkPathMajor does",
    (modPath, version) => {
      // given a go.mod requiring the pair
      const stderr = runGo(
        ["list", "-m", "all"],
        `module example.com/main\n\ngo 1.23\n\nrequire ${modPath} ${version}\n`,
      );
      // when our checkPathMajor judges the same pair
      const pathMajor = splitPathVersion(modPath)?.pathMajor ?? "";
      const problem = problemOf(() => checkPathMajor(version, pathMajor));
      // then
      if (problem === undefined) {
        expect(stderr).toContain(LOOKUP_DISABLED);
        expect(stderr).not.toContain("invalid");
      } else {
        expect(stderr).toContain(`require ${modPath}: ${problem}`);
      }
    },
  );
});
