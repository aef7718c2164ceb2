import { stat } from "node:fs/promises";
import { posix } from "node:path";
import type yauzl from "yauzl";
import { ProxyError } from "../errors";
import { MAX_GO_MOD_BYTES, MAX_LICENSE_BYTES, MAX_ZIP_BYTES } from "../limits";
import { openZip } from "./dirhash";
import { checkFilePath } from "./path";
import { strToFold } from "./zip";

/**
 * Checks a module zip (its file, or the bytes of a small one) the way the go command does before
 * it trusts one (x/mod's CheckZip): every entry under `module@version/`, clean and valid file
 * paths, no two names that differ only in case, go.mod and LICENSE within their limits, 500 MiB
 * in all. Only the central directory is read; contents are checked by the checksum database
 * where one applies.
 * @throws ProxyError "upstream" naming the first problem ("too-large" for size limits)
 */
export async function checkModuleZip(
  zip: string | Buffer,
  modulePath: string,
  version: string,
): Promise<void> {
  const what = `${modulePath}@${version} zip`;
  const size = typeof zip === "string" ? (await stat(zip)).size : zip.length;
  if (size > MAX_ZIP_BYTES) {
    throw new ProxyError("too-large", `${what}: ${size} bytes, over the limit of ${MAX_ZIP_BYTES}`);
  }
  let entries: yauzl.ZipFile;
  try {
    entries = await openZip(zip);
  } catch (err) {
    throw new ProxyError("upstream", `${what}: not a valid zip file (${(err as Error).message})`);
  }
  const bad = (why: string) => new ProxyError("upstream", `${what}: ${why}`);
  const prefix = `${modulePath}@${version}/`;
  const seen = new Map<string, { name: string; isDir: boolean }>();
  const claim = (name: string, isDir: boolean): void => {
    const fold = strToFold(name);
    const other = seen.get(fold);
    if (other) {
      if (other.name !== name)
        throw bad(`case-insensitive file name collision: "${other.name}" and "${name}"`);
      if (other.isDir !== isDir) throw bad(`entry "${name}" is both a file and a directory`);
      if (!isDir) throw bad(`multiple entries for file "${name}"`);
      return;
    }
    seen.set(fold, { name, isDir });
    const slash = name.lastIndexOf("/");
    if (slash > 0) claim(name.slice(0, slash), true);
  };
  let total = 0;
  try {
    for await (const entry of entries.eachEntry()) {
      const full = Buffer.from(entry.fileNameRaw).toString("utf8");
      if (!full.startsWith(prefix))
        throw bad(`${JSON.stringify(full)}: path does not have prefix ${JSON.stringify(prefix)}`);
      let name = full.slice(prefix.length);
      if (name === "") continue;
      const isDir = name.endsWith("/");
      if (isDir) name = name.slice(0, -1);
      if (posix.normalize(name) !== name || name.startsWith("../"))
        throw bad(`${JSON.stringify(full)}: file path is not clean`);
      try {
        checkFilePath(name);
      } catch (err) {
        throw bad(`${JSON.stringify(full)}: ${(err as Error).message}`);
      }
      claim(name, isDir);
      if (isDir) continue;
      const base = posix.basename(name);
      if (base.toLowerCase() === "go.mod") {
        if (base !== name) throw bad(`${JSON.stringify(full)}: go.mod file not in module root directory`);
        if (name !== "go.mod")
          throw bad(`${JSON.stringify(full)}: go.mod files must be named go.mod, in lower case`);
      }
      if (name === "go.mod" && entry.uncompressedSize > MAX_GO_MOD_BYTES) {
        throw new ProxyError(
          "too-large",
          `${what}: go.mod file too large (max size is ${MAX_GO_MOD_BYTES} bytes)`,
        );
      }
      if (name === "LICENSE" && entry.uncompressedSize > MAX_LICENSE_BYTES) {
        throw new ProxyError(
          "too-large",
          `${what}: LICENSE file too large (max size is ${MAX_LICENSE_BYTES} bytes)`,
        );
      }
      total += entry.uncompressedSize;
      if (total > MAX_ZIP_BYTES) {
        throw new ProxyError(
          "too-large",
          `${what}: total uncompressed size over the limit of ${MAX_ZIP_BYTES} bytes`,
        );
      }
    }
  } catch (err) {
    if (err instanceof ProxyError) throw err;
    throw bad(`not a valid zip file (${(err as Error).message})`);
  } finally {
    entries.close();
  }
}
