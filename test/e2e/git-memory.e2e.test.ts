import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { importRepo, packBytes } from "../support/gitbig";
import { bundleGomirror, rssOf, sampleMemory, startProxyProcess } from "../support/gitproxy";
import { imageTuning } from "../support/image-tuning";
import { GIT_HOST } from "../support/gitrepos";
import { type GitServer, startGitServer } from "../support/gitserver";
import { describeWithTools } from "../support/tools";

/**
 * Memory bounded by design: gomirror (a separate process, the production bundle) fetches a
 * repository whose pack is over 300 MiB from a loopback git server and serves a 30 MiB zip from
 * it, while its RSS is sampled every 50 ms. git writes the pack to disk and indexes it there, and
 * zips go through temporary files, so the proxy's RSS must stay under 300 MB, grow by far less
 * than the pack, and settle back near idle afterwards. (isomorphic-git held the whole pack in
 * memory: a 600 MiB pack grew the process by 1.1 to 1.7 GiB.)
 */

const MIB = 1 << 20;
const FILES = 32;
const FILE_BYTES = 10 * MIB;
const KEPT = 3;
const MODULE = `${GIT_HOST}/big.git`;

describeWithTools({ bins: ["git"] }, "git source memory", () => {
  let tmp: string;
  let server: GitServer;
  let bundle: string;
  let pack: number;

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(tmpdir(), "gomirror-git-memory-"));
    const gomod = `module ${MODULE}\n\ngo 1.21\n`;
    const day = Date.UTC(2024, 11, 1) / 1000;
    const data = Array.from({ length: FILES }, (_, i) => ({
      path: `data/blob-${String(i).padStart(2, "0")}.bin`,
      data: () => randomBytes(FILE_BYTES),
    }));
    await importRepo(path.join(tmp, "repos", "big.git"), [
      {
        time: day,
        message: "all the data",
        files: [{ path: "go.mod", data: gomod }, ...data],
        tags: ["v0.1.0"],
      },
      {
        time: day + 3600,
        message: "most of it gone",
        deletes: data.slice(KEPT).map((f) => f.path),
        tags: ["v1.0.0"],
      },
    ]);
    pack = packBytes(path.join(tmp, "repos", "big.git"));
    server = await startGitServer({ projectRoot: path.join(tmp, "repos") });
    bundle = await bundleGomirror(path.join(tmp, "bundle"));
  }, 300_000);

  afterAll(async () => {
    await server?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it("fetches a pack of over 300 MiB and serves a 30 MiB zip with the proxy's RSS under 300 MB, back near idle afterwards", async () => {
    const proxy = await startProxyProcess(bundle, {
      // As the image runs it (NODE_OPTIONS, MALLOC_*): what a deployment's memory is.
      ...imageTuning(),
      GOPROXY: "direct",
      GONOPROXY: GIT_HOST,
      GOSUMDB: "off",
      GOMIRROR_STORAGE: path.join(tmp, "storage"),
      GOMIRROR_GIT_CACHE: path.join(tmp, "git-cache"),
      GOMIRROR_GIT_REWRITE: `https://${GIT_HOST}/=${server.url}/`,
    });
    try {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const idle = rssOf(proxy.pid);
      const sampler = sampleMemory(proxy.pid);
      const started = Date.now();
      // v0.1.0's tree is the whole pack; v1.0.0 keeps three of the files.
      const info = await fetch(`${proxy.url}/${MODULE}/@v/v0.1.0.info`);
      const answer = await info.text();
      expect({
        status: info.status,
        answer,
        logs: info.status === 200 ? "" : proxy.output().slice(-3000),
      }).toEqual({
        status: 200,
        answer: expect.stringContaining('"Version":"v0.1.0"'),
        logs: "",
      });
      const zip = await fetch(`${proxy.url}/${MODULE}/@v/v1.0.0.zip`);
      expect(zip.status).toBe(200);
      let zipBytes = 0;
      for await (const chunk of zip.body as unknown as AsyncIterable<Uint8Array>) zipBytes += chunk.length;
      const seconds = (Date.now() - started) / 1000;
      const { peak, peakChildren } = sampler.stop();
      await new Promise((resolve) => setTimeout(resolve, 3000));
      const after = rssOf(proxy.pid);
      const mb = (n: number) => `${(n / 1e6).toFixed(0)} MB`;
      console.log(
        `git memory: pack ${mb(pack)}, zip ${mb(zipBytes)} in ${seconds.toFixed(1)} s; proxy RSS idle ${mb(idle)}, ` +
          `peak ${mb(peak)}, after ${mb(after)}; git processes' peak RSS ${mb(peakChildren)}`,
      );
      expect(pack).toBeGreaterThan(300 * MIB);
      expect(zipBytes).toBeGreaterThan(KEPT * FILE_BYTES);
      expect(peak).toBeLessThan(300e6);
      // Independent of the pack's size: the growth is a small fraction of it.
      expect(peak - idle).toBeLessThan(pack / 4);
      expect(after).toBeLessThan(idle + 40e6);
    } finally {
      await proxy.stop();
    }
  }, 300_000);
});
