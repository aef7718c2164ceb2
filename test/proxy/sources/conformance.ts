import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { errorKind, ProxyError } from "../../../lib/proxy/errors";
import { checkInfo } from "../../../lib/proxy/module/info";
import type { Download, ModuleSource } from "../../../lib/proxy/sources/source";
import { readChecked } from "../../support/fake-source";
import { makeModuleZip } from "../../support/module-zip";

/**
 * The contract every ModuleSource keeps (lib/proxy/sources/source.ts), whatever it wraps: the
 * same answers for the same modules, "not-found" only for what is not there, ProxyErrors only,
 * zips that survive slow and vanishing readers. Each source's test calls
 * `runSourceConformance` with a factory that serves the given modules from a fresh source.
 */

/** One version of a conformance module: its files as the source must serve them. */
export interface ConformanceVersion {
  readonly version: string;
  readonly time: string;
  readonly mod: Buffer;
  readonly zip: Buffer;
}

export interface ConformanceModule {
  readonly path: string;
  readonly versions: readonly ConformanceVersion[];
}

export interface SourceUnderTest {
  readonly source: ModuleSource;
  /** Makes whatever the source stands on (an upstream, a git server) fail until the end of the test. */
  breakBackend(): void;
  cleanup(): Promise<void>;
}

export type SourceFactory = (modules: readonly ConformanceModule[]) => Promise<SourceUnderTest>;

async function version(path: string, v: string, time: string): Promise<ConformanceVersion> {
  const mod = Buffer.from(`module ${path}\n\ngo 1.21\n`);
  const zip = await makeModuleZip(path, v, {
    files: { "go.mod": mod.toString(), "conf.go": `package conf\n\n// ${v}\n` },
    fillerBytes: 96 * 1024,
  });
  return { version: v, time, mod, zip };
}

/** The modules every source serves: several versions, a capital letter, a major version suffix. */
export async function conformanceModules(): Promise<ConformanceModule[]> {
  return [
    {
      path: "example.test/conf",
      versions: [
        await version("example.test/conf", "v1.0.0", "2024-01-02T03:04:05Z"),
        await version("example.test/conf", "v1.1.0", "2024-02-03T04:05:06Z"),
      ],
    },
    {
      path: "example.test/Conf/Upper",
      versions: [await version("example.test/Conf/Upper", "v0.1.0", "2024-03-04T05:06:07Z")],
    },
    {
      path: "example.test/conf/v2",
      versions: [await version("example.test/conf/v2", "v2.0.0", "2024-04-05T06:07:08Z")],
    },
  ];
}

export function runSourceConformance(name: string, make: SourceFactory): void {
  describe(`${name}: ModuleSource conformance`, () => {
    let modules: ConformanceModule[];
    let subject: SourceUnderTest;
    let source: ModuleSource;
    let spool: string;

    beforeAll(async () => {
      modules = await conformanceModules();
    });
    beforeEach(async () => {
      subject = await make(modules);
      source = subject.source;
      spool = mkdtempSync(path.join(tmpdir(), "gomirror-conformance-"));
    });
    afterEach(async () => {
      await subject.cleanup();
      rmSync(spool, { recursive: true, force: true });
    });

    const [conf, upper, v2] = [0, 1, 2].map((i) => () => modules[i]);
    /** A zip's bytes, read as a consumer must read them (its check run on the whole file). */
    const zipBytes = (download: Download): Promise<Buffer> => readChecked(download, spool);
    /** The error `p` rejects with; fails the test when it resolves. */
    const rejection = async (p: Promise<unknown>): Promise<unknown> => {
      const outcome = await p.then(
        (value) => ({ value }),
        (err: unknown) => ({ err }),
      );
      if (!("err" in outcome)) throw new Error(`expected a failure, got ${JSON.stringify(outcome.value)}`);
      return outcome.err;
    };

    it("lists every version of a module", async () => {
      for (const m of modules) {
        expect((await source.list(m.path)).sort()).toEqual(m.versions.map((v) => v.version).sort());
      }
    });

    it("answers a canonical .info with that version and its time", async () => {
      for (const m of modules) {
        for (const v of m.versions) {
          const info = await source.info(m.path, v.version);
          expect({ Version: info.Version, Time: info.Time }).toEqual({ Version: v.version, Time: v.time });
          expect(() => checkInfo(m.path, v.version, info)).not.toThrow();
        }
      }
    });

    it("answers @latest with a version the module has", async () => {
      const latest = await source.latest(conf().path);
      expect(conf().versions.map((v) => v.version)).toContain(latest.Version);
      expect(() => checkInfo(conf().path, undefined, latest)).not.toThrow();
    });

    it("serves each .mod and .zip byte for byte", async () => {
      for (const m of modules) {
        for (const v of m.versions) {
          expect((await source.mod(m.path, v.version)).equals(v.mod)).toBe(true);
          const download = await source.zip(m.path, v.version);
          if (download.size !== undefined) expect(download.size).toBe(v.zip.length);
          expect((await zipBytes(download)).equals(v.zip)).toBe(true);
        }
      }
    });

    it("says not-found, and only that, for a module it does not have", async () => {
      const missing = "example.test/missing";
      for (const call of [
        () => source.list(missing),
        () => source.info(missing, "v1.0.0"),
        () => source.latest(missing),
        () => source.mod(missing, "v1.0.0"),
        () => source.zip(missing, "v1.0.0"),
      ]) {
        const err = await rejection(call());
        expect(err).toBeInstanceOf(ProxyError);
        expect(errorKind(err)).toBe("not-found");
      }
    });

    it("says not-found for a version a module it has does not have", async () => {
      for (const call of [
        () => source.info(conf().path, "v1.9.0"),
        () => source.mod(conf().path, "v1.9.0"),
        () => source.zip(conf().path, "v1.9.0"),
      ]) {
        expect(errorKind(await rejection(call()))).toBe("not-found");
      }
    });

    it("keeps a zip whole for a reader that starts late", async () => {
      const v = conf().versions[0];
      const download = await source.zip(conf().path, v.version);
      await delay(200);
      expect((await zipBytes(download)).equals(v.zip)).toBe(true);
    });

    it("stays whole after readers that stop early", async () => {
      const v = upper().versions[0];
      for (let i = 0; i < 3; i++) (await source.zip(upper().path, v.version)).body.destroy();
      await delay(50);
      expect((await zipBytes(await source.zip(upper().path, v.version))).equals(v.zip)).toBe(true);
      expect((await source.mod(upper().path, v.version)).equals(v.mod)).toBe(true);
    });

    it("gives concurrent callers the same right answers", async () => {
      const v = v2().versions[0];
      const zips = await Promise.all(
        Array.from({ length: 8 }, async () => zipBytes(await source.zip(v2().path, v.version))),
      );
      const mods = await Promise.all(Array.from({ length: 8 }, () => source.mod(v2().path, v.version)));
      for (const z of zips) expect(z.equals(v.zip)).toBe(true);
      for (const m of mods) expect(m.equals(v.mod)).toBe(true);
    });

    it("fails as a fault, never as not-found or internal, when what it stands on fails", async () => {
      subject.breakBackend();
      const v = conf().versions[1];
      for (const call of [
        () => source.list(conf().path),
        () => source.info(conf().path, v.version),
        () => source.latest(conf().path),
        () => source.mod(conf().path, v.version),
        () => source.zip(conf().path, v.version).then(zipBytes),
      ]) {
        const err = await rejection(call());
        expect(err).toBeInstanceOf(ProxyError);
        expect(["not-found", "internal"]).not.toContain(errorKind(err));
      }
    });
  });
}
