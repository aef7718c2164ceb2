import { CopyObjectCommand, HeadObjectCommand } from "@aws-sdk/client-s3";
import { S3Storage } from "../../../lib/proxy/storage/s3";
import { LastRequestedStorage } from "../../../lib/proxy/storage/s3-last-requested";
import { openStorage } from "../../../lib/proxy/storage/open";
import { LogCapture } from "../../support/log-capture";
import { collect, readAll } from "./conformance";
import { startS3TestServer, type S3TestServer } from "./s3rver-harness";

const DAY = 24 * 60 * 60 * 1000;
const ZIP = "example.test/m/@v/v1.0.0.zip";
const MOD = "example.test/m/@v/v1.0.0.mod";
const LIST = "example.test/m/@v/list";

let server: S3TestServer;
let counter = 0;

beforeAll(async () => {
  server = await startS3TestServer();
});
afterAll(async () => {
  await server?.close();
});

describe("LastRequestedStorage: S3 objects show when they were last requested", () => {
  let s3: S3Storage;
  let now: number;
  let copies: string[];
  let heads: number;
  let refuseCopies: boolean;
  let logs: LogCapture;
  let storage: LastRequestedStorage;

  beforeEach(async () => {
    s3 = new S3Storage({
      bucket: server.bucket,
      prefix: `last-requested/run-${++counter}`,
      endpoint: server.endpoint,
      forcePathStyle: true,
      region: "us-east-1",
      credentials: server.credentials,
    });
    // Every object the test writes looks two days old to the storage under test.
    now = Date.now() + 2 * DAY;
    logs = new LogCapture();
    storage = new LastRequestedStorage(s3, { now: () => now, logger: logs.logger });
    copies = [];
    heads = 0;
    refuseCopies = false;
    const send = s3.client.send.bind(s3.client);
    jest.spyOn(s3.client, "send").mockImplementation(((command: unknown) => {
      if (command instanceof HeadObjectCommand) heads++;
      if (command instanceof CopyObjectCommand) {
        if (refuseCopies) return Promise.reject(new Error("AccessDenied"));
        copies.push(command.input.Key!);
      }
      return send(command as never);
    }) as typeof s3.client.send);
    for (const key of [ZIP, MOD, LIST]) await storage.put(key, Buffer.from(`content of ${key}`));
  });
  afterEach(() => {
    s3.destroy();
  });

  const metadata = async (key: string) =>
    (await s3.client.send(new HeadObjectCommand({ Bucket: server.bucket, Key: `${s3.prefix}/${key}` })))
      .Metadata ?? {};

  it("copies a module file onto itself when it is read a day after it was written, marked with the day", async () => {
    const found = await storage.get(ZIP);
    expect((await readAll(found!.body)).toString()).toBe(`content of ${ZIP}`);
    await storage.idle();
    expect(copies).toEqual([`${s3.prefix}/${ZIP}`]);
    expect(await metadata(ZIP)).toEqual({
      "gomirror-last-requested": new Date(now).toISOString().slice(0, 10),
    });
    // The copy is the same object.
    expect((await readAll((await s3.get(ZIP))!.body)).toString()).toBe(`content of ${ZIP}`);
  });

  it("renews each object at most once a day, a stat counting as a request", async () => {
    await storage.stat(MOD);
    (await storage.get(MOD))!.body.resume();
    await storage.stat(MOD);
    await storage.idle();
    expect(copies).toEqual([`${s3.prefix}/${MOD}`]);
    now += DAY;
    await storage.stat(MOD);
    await storage.idle();
    expect(copies).toHaveLength(2);
  });

  it("leaves fresh objects, lists and other answers that are rewritten anyway alone", async () => {
    now = Date.now();
    (await storage.get(ZIP))!.body.resume();
    now += 2 * DAY;
    (await storage.get(LIST))!.body.resume();
    await storage.idle();
    expect(copies).toEqual([]);
    // Not even a HEAD: what was read tells a fresh object at once.
    expect(heads).toBe(0);
  });

  it("still serves the object when the renewal fails, and logs why", async () => {
    refuseCopies = true;
    const found = await storage.get(MOD);
    expect((await readAll(found!.body)).toString()).toBe(`content of ${MOD}`);
    await storage.idle();
    expect(logs.events("last_requested_failed")).toEqual([
      expect.objectContaining({ key: MOD, err: "Error: AccessDenied", level: 40 }),
    ]);
  });

  it("passes everything else through, presigning included", async () => {
    expect(await collect(storage.list("example.test/"))).toEqual([LIST, MOD, ZIP].sort());
    await storage.delete(LIST);
    expect(await storage.get(LIST)).toBeUndefined();
    expect(await storage.presignedGetUrl(ZIP, 60)).toContain(`${s3.prefix}/example.test/m/%40v/v1.0.0.zip?`);
  });
});

describe("openStorage with GOMIRROR_S3_LAST_REQUESTED", () => {
  it("wraps S3 storage only when asked", () => {
    const options = { endpoint: server.endpoint, forcePathStyle: true };
    const plain = openStorage(`s3://${server.bucket}/x`, options);
    const renewing = openStorage(`s3://${server.bucket}/x`, { ...options, lastRequested: true });
    expect(plain).toBeInstanceOf(S3Storage);
    expect(renewing).toBeInstanceOf(LastRequestedStorage);
    (plain as S3Storage).destroy();
    (renewing as LastRequestedStorage).s3.destroy();
  });
});
