import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { PassThrough } from "node:stream";
import { setTimeout as delay } from "node:timers/promises";
import { DiskStorage } from "../../../lib/proxy/storage/disk";
import { collect, readAll, runStorageConformance } from "./conformance";

async function tempRoot(): Promise<string> {
  return mkdtemp(path.join(tmpdir(), "gomirror-disk-"));
}

async function tempFiles(root: string): Promise<string[]> {
  return readdir(path.join(root, ".tmp")).catch(() => []);
}

runStorageConformance("DiskStorage", async () => {
  const root = await tempRoot();
  return {
    storage: new DiskStorage(root),
    cleanup: () => rm(root, { recursive: true, force: true }),
    leftovers: () => tempFiles(root),
  };
});

describe("DiskStorage on disk", () => {
  let root: string;

  beforeEach(async () => {
    root = await tempRoot();
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("stores a key as the file at that relative path under the root", async () => {
    const storage = new DiskStorage(root);
    await storage.put("golang.org/x/text/@v/v0.14.0.mod", Buffer.from("module golang.org/x/text\n"));
    expect(await readFile(path.join(root, "golang.org", "x", "text", "@v", "v0.14.0.mod"), "utf8")).toBe(
      "module golang.org/x/text\n",
    );
  });

  it("removes crash leftovers older than an hour, and keeps recent temp files of other writers", async () => {
    await mkdir(path.join(root, ".tmp"), { recursive: true });
    const stale = path.join(root, ".tmp", "0123456789abcdef01234567.part");
    const recent = path.join(root, ".tmp", "89abcdef0123456789abcdef.part");
    await writeFile(stale, "half a zip from a crashed process");
    await writeFile(recent, "another replica is writing this right now");
    const twoHoursAgo = new Date(Date.now() - 2 * 3600 * 1000);
    await utimes(stale, twoHoursAgo, twoHoursAgo);

    const storage = new DiskStorage(root);
    await storage.put("m/@v/list", Buffer.from("v1.0.0\n"));

    expect(await tempFiles(root)).toEqual([path.basename(recent)]);
  });

  it("never serves or lists a half-written temp file", async () => {
    await mkdir(path.join(root, ".tmp"), { recursive: true });
    await writeFile(path.join(root, ".tmp", "feedfacefeedfacefeedface.part"), "partial");
    const storage = new DiskStorage(root);
    expect(await collect(storage.list(""))).toEqual([]);
    expect(await collect(storage.list(".t"))).toEqual([]);
    await expect(storage.get(".tmp/feedfacefeedfacefeedface.part")).rejects.toThrow(
      /escapes the storage root/,
    );
    await expect(storage.stat(".tmp/feedfacefeedfacefeedface.part")).rejects.toThrow();
    await expect(storage.put(".tmp/x.part", Buffer.from("x"))).rejects.toThrow();
    await expect(storage.delete(".tmp/feedfacefeedfacefeedface.part")).rejects.toThrow();
    await expect(collect(storage.list(".tmp/"))).rejects.toThrow();
  });

  it("writes an unfinished put only to a temp file, never to the key's path", async () => {
    const storage = new DiskStorage(root);
    const body = new PassThrough();
    const pending = storage.put("m/@v/v1.0.0.zip", body);
    body.write(Buffer.alloc(100_000, 1));
    await delay(100);
    expect(await tempFiles(root)).toHaveLength(1);
    await expect(stat(path.join(root, "m", "@v", "v1.0.0.zip"))).rejects.toMatchObject({ code: "ENOENT" });
    body.end();
    await pending;
    expect((await stat(path.join(root, "m", "@v", "v1.0.0.zip"))).size).toBe(100_000);
    expect(await tempFiles(root)).toEqual([]);
  });

  it("works when the root itself is a symlink (a mounted cache volume)", async () => {
    const real = path.join(root, "volume");
    const link = path.join(root, "cache");
    await mkdir(real);
    await symlink(real, link);
    const storage = new DiskStorage(link);
    await storage.put("m/@v/v1.0.0.info", Buffer.from("{}"));
    expect((await readAll((await storage.get("m/@v/v1.0.0.info"))!.body)).toString()).toBe("{}");
    expect(await collect(storage.list(""))).toEqual(["m/@v/v1.0.0.info"]);
    expect(await readFile(path.join(real, "m", "@v", "v1.0.0.info"), "utf8")).toBe("{}");
  });

  // get() checks the file it opened through /proc/self/fd on Linux, the directory's real path
  // elsewhere: both ways are run here.
  describe.each([
    ["/proc/self/fd", true],
    ["the directory's real path", false],
  ])("a symlink planted inside the root (reads checked with %s)", (_how, procFds) => {
    let outside: string;
    let cache: string;
    let storage: DiskStorage;

    beforeEach(async () => {
      outside = path.join(root, "outside");
      cache = path.join(root, "cache");
      await mkdir(path.join(outside, "secret"), { recursive: true });
      await writeFile(path.join(outside, "secret", "file"), "not the cache's");
      await mkdir(path.join(cache, "m"), { recursive: true });
      await symlink(outside, path.join(cache, "escape"));
      await symlink(path.join(outside, "secret", "file"), path.join(cache, "m", "linked"));
      storage = new DiskStorage(cache);
      (storage as unknown as { procFds: boolean }).procFds = procFds;
    });

    it("is not followed when listing", async () => {
      await storage.put("m/@v/list", Buffer.from(""));
      expect(await collect(storage.list(""))).toEqual(["m/@v/list"]);
      expect(await collect(storage.list("esc"))).toEqual([]);
      await expect(collect(storage.list("escape/"))).rejects.toMatchObject({ kind: "security" });
      await expect(collect(storage.list("escape/secret/"))).rejects.toMatchObject({ kind: "security" });
    });

    it("as a directory is never read, written or deleted through", async () => {
      await expect(storage.get("escape/secret/file")).rejects.toMatchObject({ kind: "security" });
      await expect(storage.stat("escape/secret/file")).rejects.toMatchObject({ kind: "security" });
      await expect(storage.put("escape/secret/new", Buffer.from("x"))).rejects.toMatchObject({
        kind: "security",
      });
      await expect(storage.delete("escape/secret/file")).rejects.toMatchObject({ kind: "security" });
      expect(await readdir(path.join(outside, "secret"))).toEqual(["file"]);
      expect(await tempFiles(cache)).toEqual([]);
    });

    it("in place of a stored file is never served", async () => {
      await expect(storage.get("m/linked")).rejects.toMatchObject({ kind: "security" });
      expect(await storage.stat("m/linked")).toBeUndefined();
    });
  });

  it("stores into a directory removed by hand since an earlier put made it", async () => {
    const storage = new DiskStorage(root);
    await storage.put("m/@v/v1.0.0.mod", Buffer.from("module m\n"));
    await rm(path.join(root, "m"), { recursive: true });
    expect(await storage.put("m/@v/v1.1.0.mod", Buffer.from("module m\n"), { ifNoneMatch: true })).toEqual({
      created: true,
      size: 9,
    });
    expect(await readFile(path.join(root, "m", "@v", "v1.1.0.mod"), "utf8")).toBe("module m\n");
    expect(await tempFiles(root)).toEqual([]);
  });

  it("never writes through a directory swapped for a symlink after an earlier put made it", async () => {
    const cache = path.join(root, "cache");
    const outside = path.join(root, "outside");
    await mkdir(outside);
    const storage = new DiskStorage(cache);
    await storage.put("m/@v/v1.0.0.mod", Buffer.from("module m\n"));
    await rm(path.join(cache, "m", "@v"), { recursive: true });
    await symlink(outside, path.join(cache, "m", "@v"));
    await expect(storage.put("m/@v/v1.1.0.mod", Buffer.from("module m\n"))).rejects.toMatchObject({
      kind: "security",
    });
    expect(await readdir(outside)).toEqual([]);
    expect(await tempFiles(cache)).toEqual([]);
  });

  it("never opens a FIFO planted in place of a stored file for good (no hang)", async () => {
    await mkdir(path.join(root, "m", "@v"), { recursive: true });
    execFileSync("mkfifo", [path.join(root, "m", "@v", "v1.0.0.zip")]);
    const storage = new DiskStorage(root);
    expect(await storage.get("m/@v/v1.0.0.zip")).toBeUndefined();
  });

  it("serves a file opened before it was deleted to the end", async () => {
    const storage = new DiskStorage(root);
    const data = Buffer.alloc(1024 * 1024, 3);
    await storage.put("m/@v/v1.0.0.zip", data);
    const stored = await storage.get("m/@v/v1.0.0.zip");
    await storage.delete("m/@v/v1.0.0.zip");
    expect((await readAll(stored!.body)).equals(data)).toBe(true);
    expect(await storage.get("m/@v/v1.0.0.zip")).toBeUndefined();
  });

  it("recovers when the root could not be created at first", async () => {
    const blocked = path.join(root, "cache");
    await writeFile(blocked, "a file where the cache directory should be");
    const storage = new DiskStorage(blocked);
    await expect(storage.put("m/@v/list", Buffer.from("v1.0.0\n"))).rejects.toThrow();
    await rm(blocked);
    await expect(storage.put("m/@v/list", Buffer.from("v1.0.0\n"))).resolves.toEqual({
      created: true,
      size: 7,
    });
  });
});
