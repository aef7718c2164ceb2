import { close, fstat, open, read, readFile } from "node:fs";
import { createServer, type ServerResponse } from "node:http";
import path from "node:path";

/**
 * The benchmark's node:http column: the least a Node.js server can do to serve a GOPROXY tree
 * from disk, to show what the runtime itself costs at each row. Small files are answered from
 * memory after their first read (kept without bound: the benchmark's tree is small); larger ones
 * are read by position into one 256 KiB buffer per response, each read after the last write was
 * taken, as gomirror sends a stored zip. No validation, no logs, no metrics, no cache headers:
 * nothing here is fit to serve anyone, it is a yardstick.
 *
 * Run by bench/node-floor.ts as `node <bundle> <root> <port>`, bundled so that nothing but this
 * file is loaded.
 */

const SMALL = 1024 * 1024;
const CHUNK = 256 * 1024;
const TYPES: Record<string, string> = {
  ".info": "application/json",
  ".mod": "text/plain; charset=utf-8",
  ".zip": "application/zip",
};

const [root, port] = process.argv.slice(2);
if (!root || !port) throw new Error("usage: node-floor-server <root> <port>");
const small = new Map<string, Buffer>();

function fail(res: ServerResponse, status: number): void {
  res.writeHead(status, { "content-type": "text/plain" });
  res.end(`${status}\n`);
}

function sendLarge(res: ServerResponse, fd: number, size: number): void {
  const buffer = Buffer.allocUnsafeSlow(Math.min(CHUNK, size));
  let position = 0;
  let closed = false;
  const finish = (): void => {
    if (closed) return;
    closed = true;
    close(fd, () => undefined);
  };
  // A client that leaves mid-body: the write callback may never come.
  res.once("close", finish);
  const next = (): void => {
    if (position >= size || res.destroyed) {
      finish();
      res.end();
      return;
    }
    read(fd, buffer, 0, Math.min(buffer.length, size - position), position, (err, bytes) => {
      if (err || bytes === 0) {
        finish();
        res.destroy();
        return;
      }
      position += bytes;
      res.write(bytes < buffer.length ? buffer.subarray(0, bytes) : buffer, (writeErr) => {
        if (writeErr) finish();
        else next();
      });
    });
  };
  next();
}

createServer((req, res) => {
  const urlPath = (req.url ?? "/").split("?")[0]!;
  if (urlPath.includes("..")) return fail(res, 400);
  const file = path.join(root, urlPath);
  const type = TYPES[path.extname(file)] ?? "text/plain; charset=utf-8";
  const kept = small.get(file);
  if (kept) {
    res.writeHead(200, { "content-type": type, "content-length": kept.length });
    res.end(kept);
    return;
  }
  open(file, "r", (err, fd) => {
    if (err) return fail(res, 404);
    fstat(fd, (statErr, st) => {
      if (statErr || !st.isFile()) {
        close(fd, () => undefined);
        return fail(res, 404);
      }
      if (st.size > SMALL) {
        res.writeHead(200, { "content-type": type, "content-length": st.size });
        sendLarge(res, fd, st.size);
        return;
      }
      readFile(fd, (readErr, data) => {
        close(fd, () => undefined);
        if (readErr) return fail(res, 500);
        small.set(file, data);
        res.writeHead(200, { "content-type": type, "content-length": data.length });
        res.end(data);
      });
    });
  });
}).listen(Number(port), "127.0.0.1");
