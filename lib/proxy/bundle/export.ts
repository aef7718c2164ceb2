import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { hashGoMod, hashZipFile } from "../module/dirhash";
import type { ModuleSource } from "../sources/source";
import type { SumdbClientOptions } from "../sumdb/client";
import { needsVerification } from "../sumdb/verify";
import {
  BUNDLE_FORMAT,
  formatManifest,
  MANIFEST_NAME,
  moduleEntryNames,
  type BundleManifest,
  type HashedFile,
  type ManifestFile,
  type ManifestModule,
} from "./manifest";
import { collectProofs } from "./proofs";
import { startProgress, type ProgressOptions } from "./progress";
import type { WantedVersion } from "./select";
import { TarWriter } from "./tar";

/**
 * `gomirror export`: writes a bundle (see manifest.ts for its layout) of the wanted versions.
 * Everything is fetched and checked before the tar is started: each go.mod and each zip hash
 * against the checksum database (and against the go.sum that named it), so the manifest, which
 * comes first, is known in full. Zips are then streamed in one at a time through a temporary
 * file and hashed again on the way in: the bundle says what its bytes are. The tar is written
 * under a temporary name and appears only when complete.
 */

export interface ExportOptions {
  readonly out: string;
  readonly wanted: readonly WantedVersion[];
  /** Where module files come from: the cache over a storage, or another gomirror. */
  readonly source: ModuleSource;
  /** The checksum database client's options; undefined with GOSUMDB=off (no proofs travel). */
  readonly sumdb?: SumdbClientOptions;
  /** GONOSUMDB patterns: versions not looked up (marked private). */
  readonly noSumdb: string;
  /** An earlier bundle: what it holds is left out, and its tree is proven a prefix of this one. */
  readonly since?: { readonly manifest: BundleManifest; readonly latest?: Buffer };
  readonly progress: ProgressOptions;
  /** Where zips are spooled. @default os.tmpdir() */
  readonly tmpDir?: string;
}

export interface ExportSummary {
  readonly versions: number;
  readonly zips: number;
  readonly bytes: number;
  /** Versions left out because the `--since` bundle holds them. */
  readonly alreadyBundled: number;
}

export class ExportError extends Error {}

interface Planned {
  readonly wanted: WantedVersion;
  readonly mod: Buffer;
  readonly modH1: string;
  readonly info: Buffer | undefined;
  zip?: HashedFile;
  readonly isPrivate: boolean;
}

const sha256 = (data: Buffer): string => createHash("sha256").update(data).digest("hex");

/** A zip spooled to `file`: its size and h1. */
async function spoolZip(body: Readable, file: string): Promise<HashedFile> {
  await pipeline(body, createWriteStream(file, { flags: "wx" }));
  return { size: (await stat(file)).size, h1: await hashZipFile(file) };
}

export async function runExport(options: ExportOptions): Promise<ExportSummary> {
  const { source } = options;
  const spoolDir = await mkdtemp(path.join(options.tmpDir ?? tmpdir(), "gomirror-export-"));
  const spoolFile = path.join(spoolDir, "module.zip");
  try {
    const inSince = new Map<string, { zip: boolean }>();
    for (const m of options.since?.manifest.modules ?? [])
      inSince.set(`${m.path}@${m.version}`, { zip: !!m.zip });
    const wanted = options.wanted.filter((w) => {
      const had = inSince.get(`${w.path}@${w.version}`);
      return !had || (w.zip && !had.zip);
    });

    // Plan: every file fetched and checked, zips hashed, before a byte of the tar is written.
    const planned: Planned[] = [];
    for (const w of wanted) {
      const what = `${w.path}@${w.version}`;
      const mod = await source.mod(w.path, w.version);
      const modH1 = await hashGoMod(mod);
      if (w.goSum?.mod && w.goSum.mod !== modH1) {
        throw new ExportError(`${what}: go.mod hashes to ${modH1}, but go.sum says ${w.goSum.mod}`);
      }
      const info = await source.info(w.path, w.version).then(
        (i) => Buffer.from(JSON.stringify(i)),
        () => undefined,
      );
      const isPrivate = !options.sumdb || !needsVerification(options.noSumdb, w.path);
      const p: Planned = { wanted: w, mod, modH1, info, isPrivate };
      if (w.zip) {
        await rm(spoolFile, { force: true });
        p.zip = await spoolZip((await source.zip(w.path, w.version)).body, spoolFile);
        if (w.goSum?.zip && w.goSum.zip !== p.zip.h1) {
          throw new ExportError(`${what}: the zip hashes to ${p.zip.h1}, but go.sum says ${w.goSum.zip}`);
        }
      }
      planned.push(p);
    }

    const files: { name: string; data: Buffer }[] = [];
    let sumdbName: string | undefined;
    let tree = 0;
    const publicOnes = planned.filter((p) => !p.isPrivate).map((p) => p.wanted);
    if (options.sumdb && publicOnes.length > 0) {
      const proofs = await collectProofs(options.sumdb, publicOnes, options.since?.latest);
      sumdbName = options.sumdb.config.name;
      const base = `sumdb/${sumdbName}/`;
      tree = Number(proofs.latest.toString("utf8").split("\n")[1]);
      files.push({ name: `${base}latest`, data: proofs.latest });
      for (const [p, data] of proofs.tiles) files.push({ name: `${base}${p}`, data });
      for (const [key, data] of proofs.lookups) files.push({ name: `${base}lookup/${key}`, data });
      for (const p of planned.filter((x) => !x.isPrivate)) {
        const what = `${p.wanted.path}@${p.wanted.version}`;
        const verified = proofs.hashes.get(what);
        if (verified?.mod !== p.modH1) {
          throw new ExportError(
            `${what}: go.mod hashes to ${p.modH1}, the checksum database says ${verified?.mod}`,
          );
        }
        if (p.zip && verified.zip !== p.zip.h1) {
          throw new ExportError(
            `${what}: the zip hashes to ${p.zip.h1}, the checksum database says ${verified.zip}`,
          );
        }
      }
    }
    for (const p of planned) {
      if (p.info) files.push({ name: moduleEntryNames(p.wanted).info, data: p.info });
    }

    const manifest: BundleManifest = {
      format: BUNDLE_FORMAT,
      created: new Date().toISOString(),
      ...(sumdbName ? { sumdb: { name: sumdbName, tree } } : {}),
      modules: planned.map((p): ManifestModule => ({
        path: p.wanted.path,
        version: p.wanted.version,
        mod: { h1: p.modH1, size: p.mod.length },
        ...(p.zip ? { zip: p.zip } : {}),
        ...(p.isPrivate ? { private: true } : {}),
      })),
      files: files.map((f): ManifestFile => ({ name: f.name, size: f.data.length, sha256: sha256(f.data) })),
    };

    const zipBytes = planned.reduce((n, p) => n + (p.zip?.size ?? 0), 0);
    const writer = new TarWriter(options.out, new Date(manifest.created));
    const progress = startProgress("export", zipBytes, "bytes", options.progress);
    let written = 0;
    try {
      await writer.add(MANIFEST_NAME, formatManifest(manifest));
      for (const f of files) await writer.add(f.name, f.data);
      for (const p of planned) {
        const names = moduleEntryNames(p.wanted);
        await writer.add(names.mod, p.mod);
        if (!p.zip) continue;
        await rm(spoolFile, { force: true });
        const again = await spoolZip((await source.zip(p.wanted.path, p.wanted.version)).body, spoolFile);
        if (again.h1 !== p.zip.h1 || again.size !== p.zip.size) {
          throw new ExportError(
            `${p.wanted.path}@${p.wanted.version}: the zip changed while the bundle was written`,
          );
        }
        await writer.addStream(names.zip, again.size, createReadStream(spoolFile));
        written += again.size;
        progress.update(written, `${p.wanted.path}@${p.wanted.version}`);
      }
      await writer.finish();
    } catch (err) {
      await writer.abort();
      throw err;
    } finally {
      progress.stop();
    }
    return {
      versions: planned.length,
      zips: planned.filter((p) => p.zip).length,
      bytes: (await stat(options.out)).size,
      alreadyBundled: options.wanted.length - wanted.length,
    };
  } finally {
    await rm(spoolDir, { recursive: true, force: true });
  }
}
