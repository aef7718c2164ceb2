import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import yauzl from "yauzl";
import yazl from "yazl";
import { ProxyError } from "../errors";
import { checkModuleFiles, MAX_LICENSE, type ModuleFile } from "../module/zip";
import type { Download } from "../sources/source";
import type { ModuleRepo } from "./versions";

/**
 * The module zip of one version, made the way the go command makes it from git
 * (modfetch.codeRepo.Zip): `git archive` of the commit (only the module's directory), every file
 * of it under that directory as the archive describes it (regular file, symlink, directory), the
 * repository root's LICENSE for a module in a subdirectory that has none, then x/mod's zip rules
 * (module/zip.ts: which files are left out, which make the whole zip invalid).
 *
 * Both zips live in a temporary directory, never in memory: the archive is read entry by entry
 * and each file streamed into the module zip, so a version's size does not change this
 * process's memory. A rule violation is an error before any byte is served; the returned
 * stream removes the directory when it closes.
 */
export async function buildModuleZip(repo: ModuleRepo, version: string, tmpRoot: string): Promise<Download> {
  const { rev, dir } = await repo.zipSource(version);
  const work = await mkdtemp(path.join(tmpRoot, "gomirror-zip-git-"));
  try {
    const archivePath = path.join(work, "archive.zip");
    await repo.code.archive(rev.name, dir, archivePath);
    const archive = await openZip(archivePath);
    try {
      const files = await moduleFiles(archive, dir);
      if (dir !== "" && !files.some((f) => f.path === "LICENSE")) {
        const license = await rootLicense(repo, rev.name);
        if (license) files.push(license);
      }
      const output = path.join(work, "module.zip");
      const size = await writeZip(output, `${repo.modPath}@${version}`, files);
      const body = createReadStream(output);
      body.on("close", () => void rm(work, { recursive: true, force: true }));
      return { body, size };
    } finally {
      archive.close();
    }
  } catch (err) {
    await rm(work, { recursive: true, force: true });
    throw err;
  }
}

/** A file offered for the module zip that can be streamed into it. */
export interface SourceFile extends ModuleFile {
  open(): Promise<Readable>;
}

/** The files of `git archive` output under `subdir`, named relative to it, in archive order. */
async function moduleFiles(archive: yauzl.ZipFile, subdir: string): Promise<SourceFile[]> {
  const prefix = "prefix/";
  const under = subdir === "" ? "" : `${subdir.replace(/^\/+|\/+$/g, "")}/`;
  const files: SourceFile[] = [];
  for (const entry of await listEntries(archive)) {
    // Go reads zip names as bytes; an invalid UTF-8 sequence stays invalid for the path check.
    const name = entry.fileNameRaw.toString("utf8");
    if (!name.startsWith(prefix))
      throw new ProxyError("internal", "git archive wrote an entry outside its prefix");
    const rel = name.slice(prefix.length);
    if (!rel.startsWith(under)) continue;
    const p = rel.slice(under.length);
    if (p === "" || p.endsWith("/")) continue;
    const open = () => openEntry(archive, entry);
    files.push({
      path: p,
      kind: kindOf(entry),
      size: entry.uncompressedSize,
      open,
      read: () => readAll(open()),
    });
  }
  return files;
}

/** What Go's archive/zip FileHeader.Mode() makes of an entry: regular file, symlink, or other. */
function kindOf(entry: yauzl.Entry): ModuleFile["kind"] {
  const creator = entry.versionMadeBy >> 8;
  if (creator === 3 || creator === 19) {
    const type = (entry.externalFileAttributes >>> 16) & 0o170000;
    if (type === 0o120000) return "symlink";
    if (type !== 0 && type !== 0o100000) return "other";
  } else if (creator === 0 || creator === 10 || creator === 14) {
    if (entry.externalFileAttributes & 0x10) return "other";
  }
  return "file";
}

/** The repository root's LICENSE (as `git cat-file` gives it), offered for a module in a subdirectory. */
async function rootLicense(repo: ModuleRepo, hash: string): Promise<SourceFile | undefined> {
  let data: Buffer | undefined;
  try {
    data = await repo.code.readFile(hash, "LICENSE", MAX_LICENSE);
  } catch (err) {
    if (!(err instanceof ProxyError) || err.kind !== "too-large") throw err;
    // Too large for a zip: offered at a size that makes the zip rules refuse it, as Go's do.
    const refuse = () => Promise.reject(err);
    return { path: "LICENSE", kind: "file", size: MAX_LICENSE + 1, open: refuse, read: refuse };
  }
  if (!data) return undefined;
  const license = data;
  return {
    path: "LICENSE",
    kind: "file",
    size: license.length,
    open: async () => Readable.from([license]),
    read: async () => license,
  };
}

/** Writes the module zip of `what` (`path@version`) to `file`; its size. Throws when the files break the rules. */
export async function writeZip(file: string, what: string, files: readonly SourceFile[]): Promise<number> {
  const checked = checkModuleFiles(files);
  if (checked.invalid.length > 0) {
    const list = checked.invalid.map((p) => `${p.path}: ${p.reason}`).join("; ");
    throw new ProxyError("invalid", `cannot build the module zip of ${what}: ${list}`);
  }
  if (checked.sizeError)
    throw new ProxyError("too-large", `cannot build the module zip of ${what}: ${checked.sizeError}`);

  const zip = new yazl.ZipFile();
  const out = createWriteStream(file);
  let failure: unknown;
  // yazl stops at an error without ending its output: ending it here lets `done` settle.
  const output = zip.outputStream as Readable;
  const fail = (err: Error): void => {
    failure ??= err;
    output.destroy(err);
  };
  zip.on("error", fail);
  const done = pipeline(output, out).catch((err: unknown) => {
    failure ??= err;
  });
  // A fixed timestamp: the zip's bytes then depend only on its contents.
  const options = { mtime: new Date(Date.UTC(1980, 0, 1)), mode: 0o100644, compress: true };
  // checkModuleFiles hands back the very objects it was given.
  for (const f of checked.valid as SourceFile[]) {
    // One entry open at a time; yazl verifies that each gives exactly `size` bytes.
    zip.addReadStreamLazy(`${what}/${f.path}`, { ...options, size: f.size }, (give) => {
      f.open().then(
        (stream) => {
          stream.on("error", fail);
          give(null, stream);
        },
        (err: Error) => fail(err),
      );
    });
  }
  zip.end();
  await done;
  if (failure) {
    throw failure instanceof ProxyError
      ? failure
      : new ProxyError("internal", `writing the module zip of ${what}: ${(failure as Error).message}`);
  }
  return out.bytesWritten;
}

function openZip(file: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) => {
    yauzl.open(file, { lazyEntries: true, decodeStrings: false, autoClose: false }, (err, zip) => {
      if (err) reject(new ProxyError("internal", `reading git archive output: ${err.message}`));
      else resolve(zip);
    });
  });
}

function listEntries(zip: yauzl.ZipFile): Promise<yauzl.Entry[]> {
  return new Promise((resolve, reject) => {
    const found: yauzl.Entry[] = [];
    zip.on("entry", (e: yauzl.Entry) => {
      found.push(e);
      zip.readEntry();
    });
    zip.on("end", () => resolve(found));
    zip.on("error", (err: Error) =>
      reject(new ProxyError("internal", `reading git archive output: ${err.message}`)),
    );
    zip.readEntry();
  });
}

function openEntry(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<Readable> {
  return new Promise((resolve, reject) => {
    zip.openReadStream(entry, (err, stream) => {
      if (err) reject(new ProxyError("internal", `reading git archive output: ${err.message}`));
      else resolve(stream);
    });
  });
}

async function readAll(stream: Promise<Readable>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of await stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
