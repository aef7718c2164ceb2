import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { generateToken, formatRecord } from "../../../lib/proxy/auth/token";
import { TokenSecret, type SecretReader } from "../../../lib/proxy/auth/token-secret";
import { loadConfig } from "../../../lib/proxy/config";
import { ProxyMetrics } from "../../../lib/proxy/metrics";
import { startProxy } from "../../../lib/proxy/server";
import { DiskStorage } from "../../../lib/proxy/storage/disk";
import { FakeSource } from "../../support/fake-source";
import { bearer, request } from "../../support/http-client";
import { LogCapture } from "../../support/log-capture";

/**
 * The token file kept in AWS Secrets Manager (GOMIRROR_AUTH_SECRET, what the AWS construct
 * uses): read at startup, read again on a timer, the last good one kept when a read fails.
 */

/** A fake secret: its text and version can change, and reads can be made to fail. */
class FakeSecret implements SecretReader {
  text = "";
  version = "v1";
  failure: Error | undefined;
  reads = 0;

  async read(secretId: string): Promise<{ text: string; version: string }> {
    this.reads++;
    if (secretId !== "gomirror/tokens")
      throw Object.assign(new Error("no such secret"), { name: "ResourceNotFoundException" });
    if (this.failure) throw this.failure;
    return { text: this.text, version: this.version };
  }
}

describe("TokenSecret", () => {
  const log = new LogCapture("info");
  const alice = generateToken("alice");
  const bob = generateToken("bob");

  it("verifies the tokens of the secret's current version, and follows new versions", async () => {
    const fake = new FakeSecret();
    fake.text = `# tokens\n${formatRecord(alice.record)}\n`;
    const secret = await TokenSecret.open("gomirror/tokens", {
      logger: log.logger,
      reader: fake,
      intervalMs: 60_000,
    });
    try {
      expect(secret.verify(alice.token)?.name).toBe("alice");
      expect(secret.verify(bob.token)).toBeUndefined();
      // a new version adds bob and revokes alice
      fake.text = `${formatRecord(bob.record)}\n`;
      fake.version = "v2";
      await secret.refresh();
      expect(secret.verify(alice.token)).toBeUndefined();
      expect(secret.verify(bob.token)?.name).toBe("bob");
    } finally {
      secret.close();
    }
  });

  it("keeps the last good token file when a read fails or a version is malformed, and logs why", async () => {
    const fake = new FakeSecret();
    fake.text = formatRecord(alice.record);
    const secret = await TokenSecret.open("gomirror/tokens", {
      logger: log.logger,
      reader: fake,
      intervalMs: 60_000,
    });
    try {
      fake.failure = Object.assign(new Error("throttled"), { name: "ThrottlingException" });
      await secret.refresh();
      fake.failure = undefined;
      fake.text = `not a record ${alice.token}`;
      fake.version = "v2";
      await secret.refresh();
      expect(secret.verify(alice.token)?.name).toBe("alice");
      const reasons = log.lines.filter((l) => l.event === "auth_file_invalid").map((l) => l.reason);
      expect(reasons).toEqual(["cannot read it (ThrottlingException)", expect.stringMatching(/^line 1 /)]);
      expect(log.text).not.toContain(alice.token);
    } finally {
      secret.close();
    }
  });

  it("stops startup when the secret cannot be read, naming the setting", async () => {
    await expect(
      TokenSecret.open("gomirror/missing", { logger: log.logger, reader: new FakeSecret() }),
    ).rejects.toThrow('GOMIRROR_AUTH_SECRET="gomirror/missing": cannot read it (ResourceNotFoundException)');
  });
});

describe("a proxy whose tokens live in Secrets Manager", () => {
  it("needs a token, and tells caches that only the client may keep its answers", async () => {
    const work = mkdtempSync(path.join(tmpdir(), "gomirror-token-secret-"));
    const fake = new FakeSecret();
    const ci = generateToken("ci");
    fake.text = formatRecord(ci.record);
    const config = loadConfig({
      env: {
        GOPROXY: "off",
        GONOPROXY: "corp.example",
        GOSUMDB: "off",
        GOMIRROR_LISTEN: "127.0.0.1:0",
        GOMIRROR_STORAGE: path.join(work, "cache"),
        GOMIRROR_AUTH_SECRET: "gomirror/tokens",
      },
      argv: [],
    });
    const proxy = await startProxy(config, {
      logger: new LogCapture("silent").logger,
      metrics: new ProxyMetrics(),
      storage: new DiskStorage(config.storage),
      direct: new FakeSource({
        "corp.example/x": { versions: ["v1.0.0"], mods: { "v1.0.0": "module corp.example/x\n" } },
      }),
      secretReader: fake,
    });
    try {
      expect((await request(`${proxy.url}/corp.example/x/@v/list`)).status).toBe(401);
      const list = await request(`${proxy.url}/corp.example/x/@v/list`, { headers: bearer(ci.token) });
      expect(list.status).toBe(200);
      expect(list.headers["cache-control"]).toBe("private, max-age=60");
      const mod = await request(`${proxy.url}/corp.example/x/@v/v1.0.0.mod`, { headers: bearer(ci.token) });
      expect(mod.headers["cache-control"]).toBe("private, max-age=31536000, immutable");
    } finally {
      await proxy.close();
      rmSync(work, { recursive: true, force: true });
    }
  });
});
