import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { CachedSource } from "../../../lib/proxy/cache/cached-source";
import { notFound } from "../../../lib/proxy/errors";
import { SpoolDirectory } from "../../../lib/proxy/cache/spool-directory";
import { silentLogger } from "../../../lib/proxy/logger";
import { hashGoMod, hashZipFile } from "../../../lib/proxy/module/dirhash";
import { escapePath, escapeVersion } from "../../../lib/proxy/module/escape";
import { ProxyChainSource } from "../../../lib/proxy/sources/chain";
import { UpstreamProxySource } from "../../../lib/proxy/sources/upstream";
import { DiskStorage } from "../../../lib/proxy/storage/disk";
import { VerifyingSource, type ChecksumDatabase } from "../../../lib/proxy/sumdb/verify";
import { writeFiles } from "../../support/proxy";
import { startStaticUpstream, type StaticUpstream } from "../../support/upstream";
import { runSourceConformance, type ConformanceModule, type SourceUnderTest } from "./conformance";

/**
 * The sources that stand on an upstream GOPROXY, each over a static upstream serving the
 * conformance modules. (The git source gets its factory once its rewrite lands: it builds the
 * same modules as repositories on a git server.)
 */

/** A GOPROXY tree of `modules` in a fresh directory. */
function proxyTree(modules: readonly ConformanceModule[]): string {
  const root = mkdtempSync(path.join(tmpdir(), "gomirror-conformance-tree-"));
  for (const m of modules) {
    const base = escapePath(m.path);
    const files: Record<string, string | Buffer> = {
      [`${base}/@v/list`]: m.versions.map((v) => `${v.version}\n`).join(""),
    };
    for (const v of m.versions) {
      const info = JSON.stringify({ Version: v.version, Time: v.time });
      const file = `${base}/@v/${escapeVersion(v.version)}`;
      Object.assign(files, { [`${file}.info`]: info, [`${file}.mod`]: v.mod, [`${file}.zip`]: v.zip });
      files[`${base}/@latest`] = info;
    }
    writeFiles(root, files);
  }
  return root;
}

/** An upstream serving `modules`, with a source on it. */
async function upstreamSource(
  modules: readonly ConformanceModule[],
): Promise<{ upstream: StaticUpstream; source: UpstreamProxySource; cleanup(): Promise<void> }> {
  const root = proxyTree(modules);
  const upstream = await startStaticUpstream({ root });
  const source = new UpstreamProxySource(upstream.url, { timeoutMs: 2000, retries: 0 });
  return {
    upstream,
    source,
    async cleanup() {
      await upstream.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** A checksum database that knows the hashes of `modules` (computed here, as a database would). */
async function databaseOf(modules: readonly ConformanceModule[]): Promise<ChecksumDatabase> {
  const dir = mkdtempSync(path.join(tmpdir(), "gomirror-conformance-db-"));
  const hashes = new Map<string, { zipHash: string; modHash: string }>();
  for (const m of modules) {
    for (const v of m.versions) {
      const file = path.join(dir, "m.zip");
      writeFileSync(file, v.zip);
      hashes.set(`${m.path}@${v.version}`, {
        zipHash: await hashZipFile(file),
        modHash: await hashGoMod(v.mod),
      });
    }
  }
  rmSync(dir, { recursive: true, force: true });
  return {
    name: "sumdb.example.test",
    lookup: async (p, v) => {
      const h = hashes.get(`${p}@${v}`);
      if (!h) throw notFound(`not found: ${p}@${v}`);
      return { id: 1, ...h, raw: Buffer.alloc(0) };
    },
  };
}

/** A cache over `inner`, in a fresh storage and spool directory. */
function cached(inner: UpstreamProxySource | VerifyingSource): { source: CachedSource; cleanup(): void } {
  const dir = mkdtempSync(path.join(tmpdir(), "gomirror-conformance-cache-"));
  const source = new CachedSource(inner, new DiskStorage(path.join(dir, "storage")), {
    ttlSeconds: 60,
    logger: silentLogger(),
    spools: new SpoolDirectory({ root: dir }),
  });
  return { source, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

runSourceConformance("UpstreamProxySource", async (modules): Promise<SourceUnderTest> => {
  const u = await upstreamSource(modules);
  return {
    source: u.source,
    breakBackend: () => u.upstream.faults.set("*", { status: 500 }),
    cleanup: u.cleanup,
  };
});

runSourceConformance("ProxyChainSource (a proxy with nothing, then one with everything)", async (modules) => {
  const empty = await upstreamSource([]);
  const full = await upstreamSource(modules);
  return {
    source: new ProxyChainSource([
      { source: empty.source, fallBackOnError: false },
      { source: full.source, fallBackOnError: false },
    ]),
    breakBackend: () => full.upstream.faults.set("*", { status: 500 }),
    async cleanup() {
      await empty.cleanup();
      await full.cleanup();
    },
  };
});

runSourceConformance("VerifyingSource", async (modules) => {
  const u = await upstreamSource(modules);
  return {
    source: new VerifyingSource(u.source, { database: await databaseOf(modules) }),
    breakBackend: () => u.upstream.faults.set("*", { status: 500 }),
    cleanup: u.cleanup,
  };
});

runSourceConformance("CachedSource", async (modules) => {
  const u = await upstreamSource(modules);
  const c = cached(u.source);
  return {
    source: c.source,
    breakBackend: () => u.upstream.faults.set("*", { status: 500 }),
    async cleanup() {
      await c.source.drain();
      await u.cleanup();
      c.cleanup();
    },
  };
});

runSourceConformance("CachedSource over VerifyingSource (the server's stack)", async (modules) => {
  const u = await upstreamSource(modules);
  const c = cached(new VerifyingSource(u.source, { database: await databaseOf(modules) }));
  return {
    source: c.source,
    breakBackend: () => u.upstream.faults.set("*", { status: 500 }),
    async cleanup() {
      await c.source.drain();
      await u.cleanup();
      c.cleanup();
    },
  };
});
