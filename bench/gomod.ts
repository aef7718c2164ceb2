import type { BuiltModule } from "../test/support/fixtures";
import { createGoWorkspace, expectGoSuccess } from "../test/support/gocmd";

/**
 * The real go command downloading every module of a small program through a proxy, in a fresh
 * GOPATH (so an empty module cache): `go mod download`, timed from spawn to exit.
 */
export async function timeGoModDownload(goproxy: string, modules: readonly BuiltModule[]): Promise<number> {
  const ws = createGoWorkspace({ goproxy, timeoutMs: 300_000 });
  try {
    ws.writeMainModule({
      modulePath: "example.test/benchapp",
      imports: modules.map((m) => m.path),
      requires: modules.map((m) => ({ module: m.path, version: m.version })),
    });
    const started = process.hrtime.bigint();
    const res = await ws.run(["mod", "download", "-x"]);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    expectGoSuccess(res, `go mod download through ${goproxy}`);
    // -x prints one line per fetched zip; all of them must have come through the proxy.
    const fetched = (res.stderr.match(/\.zip/g) ?? []).length;
    if (fetched < modules.length) {
      throw new Error(
        `go mod download through ${goproxy} fetched ${fetched} zips, want ${modules.length}:\n${res.stderr}`,
      );
    }
    return seconds;
  } finally {
    ws.cleanup();
  }
}
