import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { startTestProxy, writeFiles, type TestProxy } from "../../support/proxy";
import { startStaticUpstream, type Fault, type StaticUpstream } from "../../support/upstream";

/**
 * Small answers (list, .info, @latest, .mod) whose body breaks off: the upstream failed, so the
 * client gets 502 (never 500, "our fault") and the log says upstream_error.
 */
describe("small upstream answers that break off", () => {
  const M = "example.test/m";
  let root: string;
  let upstream: StaticUpstream;
  let mirror: TestProxy;

  beforeAll(async () => {
    root = mkdtempSync(path.join(tmpdir(), "gomirror-small-faults-"));
    const info = JSON.stringify({ Version: "v1.0.0", Time: "2024-01-02T03:04:05Z" });
    writeFiles(root, {
      [`${M}/@v/list`]: "v1.0.0\nv1.1.0\nv1.2.0\nv1.3.0\n",
      [`${M}/@v/v1.0.0.info`]: info,
      [`${M}/@latest`]: info,
      [`${M}/@v/v1.0.0.mod`]: `module ${M}\n\ngo 1.21\n`,
    });
    upstream = await startStaticUpstream({ root });
  });
  afterAll(async () => {
    await upstream.close();
    rmSync(root, { recursive: true, force: true });
  });
  // A fresh mirror for each case: nothing cached by the one before.
  beforeEach(async () => {
    upstream.faults.clear();
    mirror = await startTestProxy({ GOPROXY: upstream.url, GOMIRROR_UPSTREAM_TIMEOUT: "1" });
  });
  afterEach(() => mirror.close());

  const files: [string, string][] = [
    ["list", `${M}/@v/list`],
    [".info", `${M}/@v/v1.0.0.info`],
    ["@latest", `${M}/@latest`],
    [".mod", `${M}/@v/v1.0.0.mod`],
  ];
  const faults: [string, Fault][] = [
    ["stalls", { stallAt: 5 }],
    ["is reset", { resetAt: 5 }],
    ["is truncated", { cutAt: 5 }],
    ["promises more than it sends", { extraLength: 100 }],
  ];

  describe.each(files)("%s", (_name, file) => {
    it.each(faults)("answers 502 and logs an upstream error when the body %s", async (_what, fault) => {
      upstream.faults.set(file, fault);
      const before = mirror.logs.events("upstream_error").length;
      const res = await fetch(`${mirror.url}/${file}`);
      expect(res.status).toBe(502);
      expect(await res.text()).not.toMatch(/internal error/);
      const logged = mirror.logs.events("upstream_error").slice(before);
      expect(logged).toContainEqual(expect.objectContaining({ level: 40, path: file }));
      upstream.faults.clear();
      expect((await fetch(`${mirror.url}/${file}`)).status).toBe(200);
    });
  });
});
