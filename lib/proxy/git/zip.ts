import { createReadStream } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import path from "node:path";
import { randomBytes } from "node:crypto";
import type { Download } from "../sources/source";
import { MAX_LICENSE, type ModuleFile, writeModuleZip } from "../module/zip";
import { GitAttributes, toWorktree } from "./attributes";
import type { GitRepo } from "./repo";
import type { ModuleRepo } from "./versions";

/**
 * The module zip of one version, built from the git tree the way the go command builds it from
 * `git archive` (with export-ignore and export-subst switched off): every blob under the module's
 * directory, symlinks offered as symlinks (and so left out), submodules not offered at all, and
 * for a module in a subdirectory without its own LICENSE, the repository root's LICENSE. The
 * generic module zip rules (nested modules, vendor/, names, sizes) are in module/zip.ts.
 *
 * The zip is written to a temporary file first, so that a rule violation is an error before any
 * byte is served; the returned stream removes the file when it closes.
 */
export async function buildModuleZip(repo: ModuleRepo, version: string, tmpDir: string): Promise<Download> {
  const { rev, dir } = await repo.zipSource(version);
  const entries = await repo.code.listFiles(rev.name, dir);
  const attributes = await loadAttributes(repo.code, rev.name, dir, entries);
  const prefix = dir === "" ? "" : `${dir}/`;
  const files: ModuleFile[] = [];
  let haveLicense = false;
  for (const e of entries) {
    if (e.mode === "160000") continue; // a submodule: git archive writes only an empty directory
    const kind =
      e.mode === "120000" ? "symlink" : e.mode === "100644" || e.mode === "100755" ? "file" : "other";
    // What git archive writes for the blob (attribute conversions), not the blob itself.
    const read = async (): Promise<Buffer> => {
      const data = await repo.code.readBlob(e.oid);
      return attributes && kind === "file"
        ? toWorktree(data, attributes.lookup(prefix + e.path), e.oid)
        : data;
    };
    const size = kind === "file" ? (await read()).length : 0;
    files.push({ path: e.path, kind, size, read });
    if (e.path === "LICENSE") haveLicense = true;
  }
  if (!haveLicense && dir !== "") {
    // Read as `git cat-file blob` reads it: no attribute conversion.
    const license = await repo.code.readFile(rev.name, "LICENSE", MAX_LICENSE + 1);
    if (license)
      files.push({ path: "LICENSE", kind: "file", size: license.length, read: async () => license });
  }

  await mkdir(tmpDir, { recursive: true });
  const file = path.join(tmpDir, `zip-${randomBytes(8).toString("hex")}.zip`);
  try {
    const { size } = await writeModuleZip(file, repo.modPath, version, files);
    const body = createReadStream(file);
    body.on("close", () => void rm(file, { force: true }));
    return { body, size };
  } catch (err) {
    await rm(file, { force: true });
    throw err;
  }
}

/**
 * The `.gitattributes` rules that apply inside `dir` at commit `hash`: the files in `dir`'s
 * ancestors and those among `entries` (paths relative to `dir`), root first. Undefined when there
 * are none (the common case: no conversion at all).
 */
async function loadAttributes(
  code: GitRepo,
  hash: string,
  dir: string,
  entries: readonly { path: string; mode: string; oid: string }[],
): Promise<GitAttributes | undefined> {
  const found: { dir: string; text: string }[] = [];
  const parts = dir === "" ? [] : dir.split("/");
  for (let i = 0; i < parts.length; i++) {
    const d = parts.slice(0, i).join("/");
    const data = await code.readFile(hash, d === "" ? ".gitattributes" : `${d}/.gitattributes`, 1 << 20);
    if (data) found.push({ dir: d, text: data.toString("utf8") });
  }
  for (const e of entries) {
    if (e.path !== ".gitattributes" && !e.path.endsWith("/.gitattributes")) continue;
    if (e.mode !== "100644" && e.mode !== "100755") continue;
    const rel = e.path.slice(0, Math.max(0, e.path.length - "/.gitattributes".length));
    const d = [dir, e.path === ".gitattributes" ? "" : rel].filter((x) => x !== "").join("/");
    found.push({ dir: d, text: (await code.readBlob(e.oid)).toString("utf8") });
  }
  if (found.length === 0) return undefined;
  found.sort((a, b) => depth(a.dir) - depth(b.dir));
  const attributes = new GitAttributes();
  for (const f of found) attributes.add(f.dir, f.text);
  return attributes.empty ? undefined : attributes;
}

function depth(dir: string): number {
  return dir === "" ? 0 : dir.split("/").length;
}
