import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Transform, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { listHeldVersions } from "../cache/version-list";
import { MAX_GO_MOD_BYTES, MAX_ZIP_BYTES } from "../limits";
import { hashGoMod, hashZipFile } from "../module/dirhash";
import { readLimited } from "../read-limited";
import type { Storage } from "../storage/storage";
import type { SumdbClientOptions } from "../sumdb/client";
import { needsVerification } from "../sumdb/verify";
import {
  MANIFEST_NAME,
  MAX_MANIFEST_BYTES,
  moduleEntryNames,
  parseManifest,
  type BundleManifest,
} from "./manifest";
import { checkProofs, type ProofCheck } from "./proofs";
import { startProgress, type ProgressOptions } from "./progress";
import { readTar, type TarEntry } from "./tar";

/**
 * `gomirror import`: two passes over the bundle. The first checks everything and stores
 * nothing: each entry against the manifest (listed, once, size, SHA-256; each go.mod's and zip's
 * `h1:`), the checksum database's tree head against the configured key and the tree the mirror
 * trusts, each public version's lookup and hashes against that tree. Any failure refuses the
 * whole bundle, with every failure in the report. The second pass stores the proofs, then each
 * file atomically and only if it is absent (create-only puts), each re-hashed on the way in, so
 * a bundle changed between the passes is cut off before the changed file lands. Running import
 * again after a crash stores what is missing and keeps the rest.
 */

export interface ImportOptions {
  readonly file: string;
  /** Where modules go (an IndexedStorage, so /index lists them). */
  readonly storage: Storage;
  /** The checksum database client's options; undefined with GOSUMDB=off. */
  readonly sumdb?: SumdbClientOptions;
  /** GONOSUMDB patterns: versions taken on the manifest's word alone. */
  readonly noSumdb: string;
  readonly progress: ProgressOptions;
  readonly tmpDir?: string;
}

export interface ImportReport {
  /** Everything was proven and stored. */
  readonly ok: boolean;
  /** Why the bundle was refused, one line each. */
  readonly failures: readonly string[];
  readonly versions: number;
  /** Files stored now, and files the storage already held (kept as they were). */
  readonly stored: number;
  readonly present: number;
  /** Versions checked against the manifest only: private (GONOSUMDB) or GOSUMDB=off. */
  readonly unverified: number;
}

type Expected =
  | { readonly kind: "file"; readonly size: number; readonly sha256: string }
  | { readonly kind: "mod"; readonly size: number; readonly h1: string; readonly what: string }
  | { readonly kind: "zip"; readonly size: number; readonly h1: string; readonly what: string };

const hex = (h: ReturnType<typeof createHash>): string => h.digest("hex");

function expectations(manifest: BundleManifest): Map<string, Expected> {
  const out = new Map<string, Expected>();
  for (const m of manifest.modules) {
    const names = moduleEntryNames(m);
    const what = `${m.path}@${m.version}`;
    out.set(names.mod, { kind: "mod", size: m.mod.size, h1: m.mod.h1, what });
    if (m.zip) out.set(names.zip, { kind: "zip", size: m.zip.size, h1: m.zip.h1, what });
  }
  for (const f of manifest.files) out.set(f.name, { kind: "file", size: f.size, sha256: f.sha256 });
  return out;
}

/** Counts and hashes what passes, and fails it when it grows past `limit`. */
function measured(limit: number): Transform & { readonly size: () => number; readonly sha256: () => string } {
  const hash = createHash("sha256");
  let size = 0;
  const t = new Transform({
    transform(chunk: Buffer, _enc, done) {
      size += chunk.length;
      if (size > limit) done(new Error(`longer than the ${limit} bytes the manifest says`));
      else done(null, hash.update(chunk) && chunk);
    },
  });
  let digest: string | undefined;
  return Object.assign(t, { size: () => size, sha256: () => (digest ??= hex(hash)) });
}

/** `from.pipe(to)`, with a failure of `from` passed on (pipe alone would leave `to` waiting). */
function through<T extends Transform>(from: Readable, to: T): T {
  from.on("error", (err) => to.destroy(err));
  return from.pipe(to);
}

export async function runImport(options: ImportOptions): Promise<ImportReport> {
  const failures: string[] = [];
  const total = (await stat(options.file)).size;
  const spoolDir = await mkdtemp(path.join(options.tmpDir ?? tmpdir(), "gomirror-import-"));
  let manifest: BundleManifest | undefined;
  let expected = new Map<string, Expected>();
  const sha256Of = new Map<string, string>();
  const small = new Map<string, Buffer>();
  const refuse = (versions = manifest?.modules.length ?? 0): ImportReport => ({
    ok: false,
    failures,
    versions,
    stored: 0,
    present: 0,
    unverified: 0,
  });

  try {
    // Pass 1: check everything, store nothing.
    const checking = startProgress("checking", total, "bytes", options.progress);
    const checkEntry = async (entry: TarEntry): Promise<boolean> => {
      if (!manifest) {
        if (entry.name !== MANIFEST_NAME) {
          failures.push(
            `the first entry is ${JSON.stringify(entry.name)}, not ${MANIFEST_NAME}: not a gomirror bundle`,
          );
          return false;
        }
        manifest = parseManifest(await readLimited(entry.body, MAX_MANIFEST_BYTES, MANIFEST_NAME));
        expected = expectations(manifest);
        return true;
      }
      const want = expected.get(entry.name);
      if (entry.type !== "file" || !want || sha256Of.has(entry.name)) {
        failures.push(
          `${entry.name}: ${entry.type !== "file" ? `a ${entry.type}, not a file` : !want ? "not in the manifest" : "appears twice"}`,
        );
        return true;
      }
      const m = measured(want.size);
      if (want.kind === "zip") {
        const spool = path.join(spoolDir, "module.zip");
        await rm(spool, { force: true });
        await pipeline(entry.body, m, createWriteStream(spool, { flags: "wx" })).catch((err: unknown) => {
          failures.push(`${entry.name}: ${(err as Error).message}`);
        });
        sha256Of.set(entry.name, m.sha256());
        if (m.size() !== want.size) {
          failures.push(`${entry.name}: ${m.size()} bytes, the manifest says ${want.size}`);
          return true;
        }
        const h1 = await hashZipFile(spool).catch((err: unknown) => `unreadable (${(err as Error).message})`);
        if (h1 !== want.h1)
          failures.push(`${want.what}: zip: ${h1} in the bundle, the manifest says ${want.h1}`);
        return true;
      }
      const data = await readLimited(
        through(entry.body, m),
        Math.min(want.size, MAX_GO_MOD_BYTES),
        entry.name,
      ).catch((err: unknown) => {
        failures.push(`${entry.name}: ${(err as Error).message}`);
        return Buffer.alloc(0);
      });
      sha256Of.set(entry.name, m.sha256());
      if (data.length !== want.size) {
        failures.push(`${entry.name}: ${data.length} bytes, the manifest says ${want.size}`);
      } else if (want.kind === "mod") {
        const h1 = await hashGoMod(data);
        if (h1 !== want.h1)
          failures.push(`${want.what}: go.mod: ${h1} in the bundle, the manifest says ${want.h1}`);
      } else if (m.sha256() !== want.sha256) {
        failures.push(`${entry.name}: SHA-256 ${m.sha256()}, the manifest says ${want.sha256}`);
      } else if (entry.name.startsWith("sumdb/")) {
        small.set(entry.name, data);
      }
      return true;
    };
    try {
      await readTar(options.file, checkEntry, (n) => checking.update(n));
    } catch (err) {
      failures.push(`reading the bundle: ${(err as Error).message}`);
    } finally {
      checking.stop();
    }
    if (!manifest) return refuse();
    const missing = [...expected.keys()].filter((name) => !sha256Of.has(name));
    for (const name of missing) failures.push(`${name}: listed in the manifest but not in the bundle`);

    const verifiable = manifest.modules.filter(
      (m) => options.sumdb && needsVerification(options.noSumdb, m.path),
    );
    let proofs: ProofCheck | undefined;
    if (verifiable.length > 0 && options.sumdb) {
      proofs = await checkBundleProofs(options.sumdb, manifest, small, verifiable, failures);
    }
    if (failures.length > 0) return refuse();

    // Pass 2: the proofs first (what is stored is always provable), then every file, if absent.
    await proofs?.commit();
    let stored = 0;
    let present = 0;
    const storing = startProgress("storing", total, "bytes", options.progress);
    try {
      await readTar(
        options.file,
        async (entry) => {
          const want = expected.get(entry.name);
          if (!want || entry.name.startsWith("sumdb/")) return;
          const m = measured(want.size);
          const sha = sha256Of.get(entry.name);
          const same = new Transform({
            transform: (chunk: Buffer, _enc, done) => done(null, chunk),
            flush: (done) =>
              done(
                m.sha256() === sha
                  ? null
                  : new Error(`${entry.name} changed since it was checked; nothing of it was stored`),
              ),
          });
          const body: Readable = through(through(entry.body, m), same);
          const limit = want.kind === "zip" ? MAX_ZIP_BYTES : MAX_GO_MOD_BYTES;
          const result = await options.storage.put(entry.name, body, { ifNoneMatch: true, maxBytes: limit });
          if (result.created) stored++;
          else present++;
        },
        (n) => storing.update(n),
      );
    } finally {
      storing.stop();
    }
    // Listed as a mirror that fetched them lists them (also with every upstream off).
    await listHeldVersions(options.storage, manifest.modules);
    return {
      ok: true,
      failures,
      versions: manifest.modules.length,
      stored,
      present,
      unverified: manifest.modules.length - verifiable.length,
    };
  } finally {
    await rm(spoolDir, { recursive: true, force: true });
  }
}

async function checkBundleProofs(
  sumdb: SumdbClientOptions,
  manifest: BundleManifest,
  files: ReadonlyMap<string, Buffer>,
  versions: BundleManifest["modules"],
  failures: string[],
): Promise<ProofCheck | undefined> {
  const name = sumdb.config.name;
  if (manifest.sumdb?.name !== name) {
    failures.push(
      manifest.sumdb
        ? `the bundle's proofs are for checksum database ${manifest.sumdb.name}, this mirror verifies with ${name}`
        : `the bundle carries no checksum database proofs, and ${versions.length} of its versions are public (set GONOSUMDB only for private modules)`,
    );
    return undefined;
  }
  const base = `sumdb/${name}/`;
  const tiles = new Map<string, Buffer>();
  const lookups = new Map<string, Buffer>();
  for (const [file, data] of files) {
    if (file.startsWith(`${base}tile/`)) tiles.set(file.slice(base.length), data);
    if (file.startsWith(`${base}lookup/`)) lookups.set(file.slice(`${base}lookup/`.length), data);
  }
  const latest = files.get(`${base}latest`);
  if (!latest) {
    failures.push(`the bundle has no tree head ${base}latest`);
    return undefined;
  }
  const check = await checkProofs(sumdb, { latest, tiles, lookups }, versions);
  failures.push(...check.failures);
  for (const m of versions) {
    const verified = check.hashes.get(`${m.path}@${m.version}`);
    if (!verified) continue;
    if (verified.mod !== m.mod.h1) {
      failures.push(
        `${m.path}@${m.version}: go.mod: the manifest says ${m.mod.h1}, ${name} says ${verified.mod}`,
      );
    }
    if (m.zip && verified.zip !== m.zip.h1) {
      failures.push(
        `${m.path}@${m.version}: zip: the manifest says ${m.zip.h1}, ${name} says ${verified.zip ?? "(none)"}`,
      );
    }
  }
  return check;
}
