import { parseModuleFileKey, storageKeys } from "../../../lib/proxy/cache/keys";

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
});
