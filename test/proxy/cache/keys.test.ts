import { fitStorageKey, parseModuleFileKey, storageKeys } from "../../../lib/proxy/cache/keys";
import { checkStorageKey } from "../../../lib/proxy/storage/storage";

describe("storage keys", () => {
  it("reads storage keys back into module paths and versions", () => {
    expect(parseModuleFileKey("example.test/!upper/@v/v1.0.0-!r!c.1.zip")).toEqual({
      key: "example.test/!upper/@v/v1.0.0-!r!c.1.zip",
      path: "example.test/Upper",
      version: "v1.0.0-RC.1",
      ext: "zip",
    });
    expect(parseModuleFileKey("example.test/x/@v/v1.0.0.info")).toBeUndefined();
    expect(parseModuleFileKey("sumdb/sum.golang.org/lookup/x/@v/v1.zip")).toBeUndefined();
  });

  it("reads back the keys it writes", () => {
    const key = storageKeys.mod("example.test/Upper/v2", "v2.0.0-RC.1");
    expect(parseModuleFileKey(key)).toMatchObject({ path: "example.test/Upper/v2", version: "v2.0.0-RC.1" });
  });

  it("keeps ordinary keys as they are", () => {
    expect(storageKeys.zip("golang.org/x/text", "v0.14.0")).toBe("golang.org/x/text/@v/v0.14.0.zip");
    const deep = `example.test/${"a".repeat(250)}/${"b".repeat(250)}`;
    expect(storageKeys.list(deep)).toBe(`${deep}/@v/list`);
  });

  it("hashes keys that some backend could not hold: long path elements, long paths", () => {
    const longElement = `example.test/${"a".repeat(300)}`;
    const longPath = `example.test/${Array.from({ length: 50 }, () => "b".repeat(19)).join("/")}`;
    for (const key of [
      storageKeys.list(longElement),
      storageKeys.mod(longPath, "v1.0.0"),
      storageKeys.zip(longPath, "v1.0.0"),
      storageKeys.query(longPath, "main"),
    ]) {
      expect(key).toMatch(/^@hashed\/[0-9a-f]{64}$/);
      expect(() => checkStorageKey(key)).not.toThrow();
    }
    expect(storageKeys.mod(longPath, "v1.0.0")).not.toBe(storageKeys.zip(longPath, "v1.0.0"));
    expect(fitStorageKey(`x/${"c".repeat(256)}`)).toMatch(/^@hashed\//);
    expect(fitStorageKey(`x/${"c".repeat(255)}`)).toBe(`x/${"c".repeat(255)}`);
  });
});
