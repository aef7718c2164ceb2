import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { DiskStorage } from "../../../lib/proxy/storage/disk";
import { openStorage } from "../../../lib/proxy/storage/open";
import { S3Storage } from "../../../lib/proxy/storage/s3";

describe("openStorage", () => {
  it("opens a directory as DiskStorage rooted there", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "gomirror-open-"));
    try {
      const storage = openStorage(path.join(dir, "cache"));
      expect(storage).toBeInstanceOf(DiskStorage);
      await storage.put("m/@v/list", Buffer.from("v1.0.0\n"));
      expect(await readFile(path.join(dir, "cache", "m", "@v", "list"), "utf8")).toBe("v1.0.0\n");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("opens a relative directory against the working directory", () => {
    const storage = openStorage("./.gomirror") as DiskStorage;
    expect(storage.root).toBe(path.resolve(".gomirror"));
  });

  it("opens s3://bucket/prefix as S3Storage with the endpoint, path style and region given", async () => {
    const storage = openStorage("s3://team-cache/go/mirror", {
      endpoint: "http://minio.internal:9000",
      forcePathStyle: true,
      region: "eu-west-1",
    });
    try {
      expect(storage).toBeInstanceOf(S3Storage);
      const s3 = storage as S3Storage;
      expect(s3.bucket).toBe("team-cache");
      expect(s3.prefix).toBe("go/mirror");
      expect(await s3.client.config.region()).toBe("eu-west-1");
      expect(s3.client.config.forcePathStyle).toBe(true);
      const endpoint = await s3.client.config.endpoint!();
      expect(`${endpoint.protocol}//${endpoint.hostname}:${endpoint.port}`).toBe(
        "http://minio.internal:9000",
      );
    } finally {
      (storage as S3Storage).destroy();
    }
  });

  it("defaults the region to us-east-1 for a custom endpoint", async () => {
    const storage = openStorage("s3://team-cache", { endpoint: "http://127.0.0.1:9000" }) as S3Storage;
    try {
      expect(await storage.client.config.region()).toBe("us-east-1");
      expect(storage.prefix).toBe("");
    } finally {
      storage.destroy();
    }
  });

  it.each([
    ["gs://bucket/prefix", /unsupported scheme gs:/],
    ["https://example.com/cache", /unsupported scheme https:/],
    ["", /empty/],
    ["s3://Not_A_Bucket/x", /not a valid S3 bucket name/],
  ])("refuses %j", (spec, message) => {
    expect(() => openStorage(spec)).toThrow(message);
  });
});
