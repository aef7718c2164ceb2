import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { CachedSource } from "../../../lib/proxy/cache/cached-source";
import { storageKeys } from "../../../lib/proxy/cache/keys";
import {
  addListedVersions,
  heldVersions,
  listHeldVersions,
  readStoredList,
} from "../../../lib/proxy/cache/version-list";
import { ProxyError } from "../../../lib/proxy/errors";
import { silentLogger } from "../../../lib/proxy/logger";
import { DiskStorage } from "../../../lib/proxy/storage/disk";
import { FakeSource } from "../../support/fake-source";
import { LogCapture } from "../../support/log-capture";

/** Versions brought by import or sync are listed as if the mirror had fetched them. */

const M = "example.test/Imported";
const PSEUDO = "v0.0.0-20240102030405-abcdefabcdef";

describe("the stored version list", () => {
  let dir: string;
  let storage: DiskStorage;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "gomirror-list-"));
    storage = new DiskStorage(dir);
  });
  /** Caches made by a test: drained (their stores done) before the directory goes. */
  const caches: CachedSource[] = [];
  afterEach(async () => {
    await Promise.all(caches.splice(0).map((c) => c.drain()));
    rmSync(dir, { recursive: true, force: true });
  });

  const holdZip = (version: string) => storage.put(storageKeys.zip(M, version), Buffer.from("zip"));

  it("merges versions into the GOPROXY layout's list, in semver order, never a pseudo-version", async () => {
    await storage.put(storageKeys.list(M), Buffer.from("v1.10.0\nv1.2.0\n"));
    expect(await addListedVersions(storage, M, ["v1.9.0", PSEUDO, "v1.2.0", "v1.9.0"])).toBe(true);
    expect(readFileSync(path.join(dir, "example.test/!imported/@v/list"), "utf8")).toBe(
      "v1.2.0\nv1.9.0\nv1.10.0\n",
    );
    expect(await addListedVersions(storage, M, ["v1.9.0", PSEUDO])).toBe(false);
  });

  it("lists only versions whose zip is held (a go.mod alone cannot be built from)", async () => {
    await holdZip("v1.0.0");
    await storage.put(storageKeys.mod(M, "v1.1.0"), Buffer.from(`module ${M}\n`));
    await listHeldVersions(storage, [
      { path: M, version: "v1.0.0" },
      { path: M, version: "v1.1.0" },
    ]);
    expect(await readStoredList(storage, M)).toEqual(["v1.0.0"]);
    expect(await heldVersions(storage, M)).toEqual(["v1.0.0"]);
    expect(await heldVersions(storage, M, ["v1.0.0"])).toEqual([]);
  });

  describe("as the cache answers list", () => {
    const cacheOver = (inner: FakeSource, now = Date.now): CachedSource => {
      const cached = new CachedSource(inner, storage, { ttlSeconds: 60, logger: silentLogger(), now });
      caches.push(cached);
      return cached;
    };

    it("adds held versions the upstream does not list", async () => {
      await holdZip("v1.5.0");
      await addListedVersions(storage, M, ["v1.5.0"]);
      const inner = new FakeSource({ [M]: { versions: ["v1.0.0", "v1.1.0"] } });
      const later = () => Date.now() + 3600_000;
      await expect(cacheOver(inner, later).list(M)).resolves.toEqual(["v1.0.0", "v1.1.0", "v1.5.0"]);
      expect(inner.count("list")).toBe(1);
    });

    it("answers with the held versions when the upstream has no such module", async () => {
      await holdZip("v1.5.0");
      await addListedVersions(storage, M, ["v1.5.0"]);
      const later = () => Date.now() + 3600_000;
      await expect(cacheOver(new FakeSource({}), later).list(M)).resolves.toEqual(["v1.5.0"]);
    });

    it("still says not found when the stored list names nothing held", async () => {
      await storage.put(storageKeys.list(M), Buffer.from("v1.5.0\n"));
      const later = () => Date.now() + 3600_000;
      await expect(cacheOver(new FakeSource({}), later).list(M)).rejects.toMatchObject({ kind: "not-found" });
    });

    it("serves the stored list, whatever its age, when the upstream is off", async () => {
      await holdZip("v1.5.0");
      await addListedVersions(storage, M, ["v1.5.0"]);
      const off = new FakeSource({});
      off.failure = new ProxyError("forbidden", "GOPROXY=off");
      const later = () => Date.now() + 30 * 24 * 3600_000;
      const logs = new LogCapture("debug");
      const cached = new CachedSource(off, storage, { ttlSeconds: 60, logger: logs.logger, now: later });
      caches.push(cached);
      await expect(cached.list(M)).resolves.toEqual(["v1.5.0"]);
      // How an air-gapped mirror works, not a fault: no warning on every list.
      expect(logs.events("serving_stale").map((l) => l.level)).toEqual([20]);
    });
  });
});
