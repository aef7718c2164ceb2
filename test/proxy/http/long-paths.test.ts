import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { startTestProxy, writeFiles, type TestProxy } from "../../support/proxy";
import { startStaticUpstream, type StaticUpstream } from "../../support/upstream";

/**
 * Module paths as long as the proxy accepts (1,024 bytes, any element length): "not found" like
 * any module nobody has, never a storage failure, and never an error-level log for such input.
 */
describe("long module paths on disk storage", () => {
  let root: string;
  let upstream: StaticUpstream;
  let mirror: TestProxy;

  beforeAll(async () => {
    root = mkdtempSync(path.join(tmpdir(), "gomirror-long-paths-"));
    writeFiles(root, { "example.test/x/@v/v1.0.0.mod": "module example.test/x\n" });
    upstream = await startStaticUpstream({ root });
    mirror = await startTestProxy({ GOPROXY: upstream.url });
    // Something cached under example.test/, so that the long paths' directories are looked up.
    expect((await fetch(`${mirror.url}/example.test/x/@v/v1.0.0.mod`)).status).toBe(200);
  });
  afterAll(async () => {
    await mirror.close();
    await upstream.close();
    rmSync(root, { recursive: true, force: true });
  });

  const longElement = `example.test/${"a".repeat(300)}`;
  const nearLimit = `example.test/${Array.from({ length: 50 }, () => "b".repeat(19)).join("/")}`;

  it.each([
    ["an element of 300 bytes", longElement],
    ["1,012 bytes", nearLimit],
  ])("answers 404 for a path with %s, logging no error", async (_what, modulePath) => {
    for (const file of ["@v/list", "@v/v1.0.0.info", "@v/v1.0.0.mod", "@v/v1.0.0.zip", "@latest"]) {
      const res = await fetch(`${mirror.url}/${modulePath}/${file}`);
      expect(`${file}: ${res.status}`).toBe(`${file}: 404`);
    }
    expect(mirror.logs.lines.filter((l) => (l.level as number) >= 50)).toEqual([]);
  });
});
