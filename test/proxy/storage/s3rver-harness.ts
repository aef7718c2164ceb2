import { spawn } from "node:child_process";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";

/**
 * A real S3-protocol server on 127.0.0.1 for tests: s3rver (a child process, files in a temp
 * directory) behind a small HTTP front that adds what s3rver lacks and the S3 backend relies on:
 *
 * - conditional create: s3rver ignores `If-None-Match: *` on PutObject and
 *   CompleteMultipartUpload. The front answers 412 PreconditionFailed when the key exists.
 * - atomic objects: s3rver writes an object's file in place, so a GET racing a PUT reads a torn
 *   file (and hangs on the missing bytes). The front lets whole-object requests (GET, HEAD, PUT,
 *   DELETE, CompleteMultipartUpload) on one key take turns; this also gives a create-only race
 *   exactly one winner, as S3 does.
 * - AbortMultipartUpload: s3rver answers it with MethodNotAllowed. The front deletes the
 *   upload's parts from s3rver's directory and answers 204.
 *
 * s3rver encrypts ListObjectsV2 continuation tokens with DES, which OpenSSL 3 only has in its
 * legacy provider: without it every truncated listing is a 500. So s3rver runs in its own node
 * process started with --openssl-legacy-provider (not the test process: that would change the
 * crypto of the code under test).
 *
 * Everything else is forwarded unchanged. `pendingUploads()` lists multipart uploads neither
 * completed nor aborted (s3rver has no ListMultipartUploads either), so a test can check that a
 * failed put left no orphan parts behind.
 */
export interface S3TestServer {
  /** The endpoint to give the S3 client (path-style addressing). */
  readonly endpoint: string;
  readonly bucket: string;
  /** Static credentials s3rver accepts. */
  readonly credentials: { accessKeyId: string; secretAccessKey: string };
  /** How many conditional writes the front refused with 412. */
  refusedConditionalWrites(): number;
  /** How many multipart uploads were aborted through the front. */
  abortedUploads(): number;
  pendingUploads(): Promise<string[]>;
  close(): Promise<void>;
}

const PRECONDITION_FAILED_XML =
  '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>PreconditionFailed</Code>' +
  "<Message>At least one of the pre-conditions you specified did not hold</Message>" +
  "<Condition>If-None-Match</Condition></Error>";

export async function startS3TestServer(bucket = "gomirror-test"): Promise<S3TestServer> {
  const directory = await mkdtemp(path.join(tmpdir(), "gomirror-s3rver-"));
  const backend = await runS3rver(directory, bucket);
  const uploadsDir = path.join(directory, bucket, "._S3rver_uploads");

  /** Per-object queue: one request at a time touches an object's file. */
  const locks = new Map<string, Promise<void>>();
  let refused = 0;
  let aborted = 0;

  async function withObjectLock(objectPath: string, work: () => Promise<void>): Promise<void> {
    const previous = locks.get(objectPath) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => mine);
    locks.set(objectPath, tail);
    await previous;
    try {
      await work();
    } finally {
      release();
      if (locks.get(objectPath) === tail) locks.delete(objectPath);
    }
  }

  /** Forwards a request to s3rver; resolves when the answer is fully sent or the client left. */
  function forward(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    return new Promise((resolve) => {
      const upstream = http.request(
        { host: "127.0.0.1", port: backend.port, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
          answer.on("error", () => res.destroy());
          res.on("close", () => {
            answer.destroy();
            resolve();
          });
        },
      );
      upstream.on("error", (err) => {
        if (!res.headersSent) res.writeHead(502);
        res.end(String(err));
        resolve();
      });
      req.pipe(upstream);
    });
  }

  function exists(objectPath: string): Promise<boolean> {
    return new Promise((resolve, reject) => {
      http
        .request({ host: "127.0.0.1", port: backend.port, method: "HEAD", path: objectPath }, (answer) => {
          answer.resume();
          resolve(answer.statusCode === 200);
        })
        .on("error", reject)
        .end();
    });
  }

  async function conditionalWrite(req: http.IncomingMessage, res: http.ServerResponse, objectPath: string) {
    if (await exists(objectPath)) {
      refused++;
      req.resume();
      await new Promise((resolve) => req.on("end", resolve));
      res.writeHead(412, { "content-type": "application/xml" });
      res.end(PRECONDITION_FAILED_XML);
      return;
    }
    await forward(req, res);
  }

  async function abortUpload(req: http.IncomingMessage, res: http.ServerResponse, uploadId: string) {
    req.resume();
    if (!/^[0-9a-f]+$/.test(uploadId)) {
      res.writeHead(404, { "content-type": "application/xml" });
      res.end('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchUpload</Code></Error>');
      return;
    }
    await rm(path.join(uploadsDir, uploadId), { recursive: true, force: true });
    aborted++;
    res.writeHead(204);
    res.end();
  }

  const front = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://front");
    const objectPath = url.pathname;
    const isObject = objectPath.split("/").filter(Boolean).length >= 2;
    const createOnly = req.headers["if-none-match"] === "*";
    const uploadId = url.searchParams.get("uploadId");
    // s3rver writes objects in place: a GET during a PUT of the same key would see a partial
    // file. S3 publishes objects atomically, so whole-object requests on one key take turns.
    const wholeObject =
      isObject &&
      (((req.method === "GET" || req.method === "HEAD" || req.method === "DELETE" || req.method === "PUT") &&
        uploadId === null) ||
        (req.method === "POST" && uploadId !== null));
    let work: Promise<void>;
    if (isObject && req.method === "DELETE" && uploadId !== null) {
      work = abortUpload(req, res, uploadId);
    } else if (wholeObject && createOnly && req.method !== "GET" && req.method !== "HEAD") {
      work = withObjectLock(objectPath, () => conditionalWrite(req, res, objectPath));
    } else if (wholeObject) {
      work = withObjectLock(objectPath, () => forward(req, res));
    } else {
      work = forward(req, res);
    }
    work.catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(err));
    });
  });
  await new Promise<void>((resolve) => front.listen(0, "127.0.0.1", resolve));
  const port = (front.address() as AddressInfo).port;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
    refusedConditionalWrites: () => refused,
    abortedUploads: () => aborted,
    async pendingUploads() {
      return readdir(uploadsDir).catch(() => []);
    },
    async close() {
      front.closeAllConnections();
      await new Promise<void>((resolve) => front.close(() => resolve()));
      await backend.stop();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/** The child's program: start s3rver, print its port, stop when the parent closes stdin. */
const S3RVER_MAIN = `
const S3rver = require(process.argv[1]);
const [directory, bucket] = process.argv.slice(2);
const server = new S3rver({ address: "127.0.0.1", port: 0, silent: true, directory, configureBuckets: [{ name: bucket }] });
server.run().then((address) => {
  process.stdout.write(JSON.stringify({ port: address.port }) + "\\n");
  process.stdin.on("end", () => server.close().then(() => process.exit(0)));
  process.stdin.resume();
}, (err) => { console.error(err); process.exit(1); });
`;

async function runS3rver(
  directory: string,
  bucket: string,
): Promise<{ port: number; stop(): Promise<void> }> {
  const child = spawn(
    process.execPath,
    ["--openssl-legacy-provider", "-e", S3RVER_MAIN, require.resolve("s3rver"), directory, bucket],
    { stdio: ["pipe", "pipe", "inherit"] },
  );
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split("\n")[0];
      if (out.includes("\n")) resolve((JSON.parse(line) as { port: number }).port);
    });
    child.once("exit", (code) => reject(new Error(`s3rver exited with code ${code} before listening`)));
  });
  return {
    port,
    async stop() {
      child.stdin.end();
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
