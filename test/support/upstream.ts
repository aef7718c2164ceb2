import { createReadStream } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";

/**
 * An in-process GOPROXY upstream for tests: serves a directory laid out as a GOPROXY tree
 * (`<escaped module path>/@v/list`, `<escaped version>.info|.mod|.zip`, `<escaped module path>/@latest`)
 * on 127.0.0.1, records every request, and can be told to misbehave per path or globally.
 *
 * Paths arrive already case-escaped (`!`), so a file is looked up under its escaped name as is;
 * nothing is unescaped here. `$GOMODCACHE/cache/download` of a go command run is such a tree too.
 */

/** One way for the upstream to misbehave on a request. Several fields may be combined. */
export interface Fault {
  /** Answer with this status and a short text body instead of the file (404, 410, 500, ...). */
  readonly status?: number;
  /** Wait this long before answering (headers included). @default 0 */
  readonly delayMs?: number;
  /**
   * Send the headers with the file's full Content-Length, then only the first half of the bytes,
   * then destroy the socket (what a dropped connection looks like to a client).
   */
  readonly truncate?: boolean;
  /** Answer 200 with bytes that are not the file (same length; deterministic). */
  readonly garbage?: boolean;
  /** Send the headers with the file's Content-Length and the first `cutAt` bytes, then close the connection. */
  readonly cutAt?: number;
  /** Send the headers and the first `stallAt` bytes, then nothing more (the connection stays open). */
  readonly stallAt?: number;
  /** Send the headers and the first `resetAt` bytes, then reset the connection (TCP RST). */
  readonly resetAt?: number;
  /** Declare this many bytes more than the file has, send the whole file, then close the connection. */
  readonly extraLength?: number;
  /** Answer 200 with this many bytes of garbage, chunked (no Content-Length), at full speed. */
  readonly oversized?: number;
  /** Answer every request with a redirect to itself. */
  readonly redirectLoop?: boolean;
  /** Only the next `times` matching requests misbehave; afterwards the fault is spent. @default unlimited */
  readonly times?: number;
}

/**
 * A request as the upstream saw it: method and URL path relative to the upstream's base path,
 * percent-decoded (so `%21upper` and `!upper` both log as `!upper`).
 */
export interface UpstreamRequest {
  readonly method: string;
  readonly path: string;
}

/** Where a fault applies: an exact path (`example.test/a/@v/v1.0.0.zip`), a pattern, or every request. */
export type FaultTarget = string | RegExp | "*";

export interface FaultTable {
  /** Make requests matching `target` misbehave. A later `set` for the same target replaces it. */
  set(target: FaultTarget, fault: Fault): void;
  /** Remove the fault of `target`, or every fault when no target is given. */
  clear(target?: FaultTarget): void;
}

export interface StaticUpstream {
  /** Base URL to put into GOPROXY, without a trailing slash (e.g. `http://127.0.0.1:41234`). */
  readonly url: string;
  /** The directory being served. */
  readonly root: string;
  /** Every request so far, in arrival order (a copy). Paths have no leading slash and no query. */
  readonly requests: readonly UpstreamRequest[];
  /** Forget the recorded requests and per-path counters. */
  resetRequests(): void;
  /** How many requests asked for `path` (exact, as in `requests`), or matched a RegExp. */
  count(path: string | RegExp): number;
  readonly faults: FaultTable;
  /** Stop listening and drop open connections. Safe to call twice. */
  close(): Promise<void>;
}

export interface StaticUpstreamOptions {
  /** Directory laid out as a GOPROXY tree. */
  readonly root: string;
  /**
   * A path prefix the upstream lives under (`/goproxy`), so a GOPROXY entry with a path can be
   * tested. Requests outside it get 404 and are still recorded (with their full path).
   * @default "" (the server root)
   */
  readonly basePath?: string;
}

const CONTENT_TYPES: Record<string, string> = {
  ".info": "application/json",
  ".mod": "text/plain; charset=utf-8",
  ".zip": "application/zip",
};

function contentTypeOf(file: string): string {
  if (file.endsWith("/@latest")) return "application/json";
  return CONTENT_TYPES[path.extname(file)] ?? "text/plain; charset=utf-8";
}

function matches(target: FaultTarget, p: string): boolean {
  if (target === "*") return true;
  if (typeof target === "string") return target === p;
  return target.test(p);
}

function garbageOf(length: number): Buffer {
  const buf = Buffer.alloc(Math.max(length, 16));
  let x = 0x2545f491;
  for (let i = 0; i < buf.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    buf[i] = x & 0xff;
  }
  return buf;
}

interface FaultEntry {
  target: FaultTarget;
  fault: Fault;
  remaining: number;
}

function targetKey(t: FaultTarget): string {
  return typeof t === "string" ? `s:${t}` : `r:${t.source}/${t.flags}`;
}

/** Start a static GOPROXY upstream on 127.0.0.1 at an OS-chosen port. */
export async function startStaticUpstream(options: StaticUpstreamOptions): Promise<StaticUpstream> {
  const root = path.resolve(options.root);
  const basePath = (options.basePath ?? "").replace(/\/+$/, "");
  if (basePath !== "" && !basePath.startsWith("/")) {
    throw new Error(`basePath ${JSON.stringify(options.basePath)} must start with "/" (e.g. "/goproxy")`);
  }
  let log: UpstreamRequest[] = [];
  // Injected delays end early when the upstream closes, so no timer outlives it.
  const delays = new Set<() => void>();
  const delay = (ms: number): Promise<void> =>
    new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        delays.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      delays.add(done);
    });
  const faults = new Map<string, FaultEntry>();
  // Stalled answers hold their connection until the upstream closes.
  const stalled = new Set<() => void>();

  /** The fault for this request, consuming one use of a limited fault. Exact paths win over patterns. */
  function takeFault(p: string): Fault | undefined {
    const entries = [...faults.values()].filter((e) => e.remaining > 0 && matches(e.target, p));
    entries.sort((a, b) => rank(a.target) - rank(b.target));
    const entry = entries[0];
    if (!entry) return undefined;
    entry.remaining -= 1;
    return entry.fault;
  }
  const rank = (t: FaultTarget): number => (t === "*" ? 2 : typeof t === "string" ? 0 : 1);

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const rawPath = (req.url ?? "/").split("?")[0];
    const method = req.method ?? "GET";
    let rel: string | undefined;
    if (rawPath === basePath || rawPath.startsWith(`${basePath}/`)) rel = rawPath.slice(basePath.length + 1);
    if (rel === undefined) {
      log.push({ method, path: rawPath });
      return sendText(res, 404, `not under ${basePath}: ${rawPath}\n`);
    }
    // The go command percent-encodes `!` (`%21upper`); log and match the decoded form.
    let decoded: string | undefined;
    try {
      decoded = decodeURIComponent(rel);
    } catch {
      decoded = undefined;
    }
    log.push({ method, path: decoded ?? rel });
    if (decoded === undefined) return sendText(res, 400, `bad percent-encoding in ${rel}\n`);

    const fault = takeFault(decoded);
    if (fault?.delayMs) await delay(fault.delayMs);
    if (fault?.status !== undefined)
      return sendText(res, fault.status, `injected fault ${fault.status}: ${decoded}\n`);
    if (method !== "GET" && method !== "HEAD") return sendText(res, 405, `method ${method} not allowed\n`);

    if (
      decoded === "" ||
      decoded.split("/").some((seg) => seg === ".." || seg === ".") ||
      decoded.includes("\\")
    ) {
      return sendText(res, 400, `refusing path ${JSON.stringify(decoded)}\n`);
    }
    const file = path.join(root, decoded);
    const st = await stat(file).catch(() => undefined);
    if (!st || !st.isFile()) return sendText(res, 404, `not found: ${decoded}\n`);

    if (fault?.redirectLoop) {
      res.writeHead(302, { Location: req.url ?? "/", "Content-Length": "0" });
      res.end();
      return;
    }
    const headers = { "Content-Type": contentTypeOf(decoded), "Content-Length": String(st.size) };
    if (fault?.oversized !== undefined) return sendOversized(res, fault.oversized);
    const partial = partialAnswer(fault, st.size);
    if (partial) return sendPartial(req, file, contentTypeOf(decoded), partial, stalled);
    if (fault?.garbage) {
      res.writeHead(200, headers);
      res.end(method === "HEAD" ? undefined : garbageOf(st.size).subarray(0, st.size));
      return;
    }
    res.writeHead(200, headers);
    if (method === "HEAD") return void res.end();
    if (fault?.truncate) {
      const half = Math.floor(st.size / 2);
      const stream = half > 0 ? createReadStream(file, { start: 0, end: half - 1 }) : undefined;
      if (stream) {
        stream.pipe(res, { end: false });
        await new Promise<void>((resolve) => stream.on("close", () => resolve()));
        if (res.writableNeedDrain) await new Promise((r) => res.once("drain", r));
      }
      // Let the partial body reach the socket, then cut the connection mid-response.
      await new Promise((r) => setTimeout(r, 50));
      req.socket.destroy();
      return;
    }
    const stream = createReadStream(file);
    stream.on("error", () => req.socket.destroy());
    stream.pipe(res);
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendText(res, 500, `static upstream failed: ${String(err)}\n`);
      else req.socket.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  let closed: Promise<void> | undefined;

  return {
    url: `http://127.0.0.1:${port}${basePath}`,
    root,
    get requests() {
      return log.slice();
    },
    resetRequests() {
      log = [];
    },
    count(p: string | RegExp) {
      return log.filter((r) => (typeof p === "string" ? r.path === p : p.test(r.path))).length;
    },
    faults: {
      set(target, fault) {
        faults.set(targetKey(target), { target, fault, remaining: fault.times ?? Infinity });
      },
      clear(target) {
        if (target === undefined) faults.clear();
        else faults.delete(targetKey(target));
      },
    },
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        for (const done of [...delays]) done();
        for (const done of [...stalled]) done();
      });
      return closed;
    },
  };
}

function sendText(res: http.ServerResponse, status: number, body: string): void {
  res.writeHead(status, {
    "Content-Type": "text/plain; charset=utf-8",
    "Content-Length": Buffer.byteLength(body),
  });
  res.end(body);
}

/** How an answer goes wrong after its headers: how much of the body is sent, and what then. */
interface Partial {
  readonly declared: number;
  readonly sent: number;
  readonly then: "close" | "stall" | "reset";
}

function partialAnswer(fault: Fault | undefined, size: number): Partial | undefined {
  if (!fault) return undefined;
  const upTo = (n: number): number => Math.max(0, Math.min(n, size));
  if (fault.cutAt !== undefined) return { declared: size, sent: upTo(fault.cutAt), then: "close" };
  if (fault.stallAt !== undefined) return { declared: size, sent: upTo(fault.stallAt), then: "stall" };
  if (fault.resetAt !== undefined) return { declared: size, sent: upTo(fault.resetAt), then: "reset" };
  if (fault.extraLength !== undefined)
    return { declared: size + fault.extraLength, sent: size, then: "close" };
  return undefined;
}

/**
 * Writes the answer straight to the socket (node:http refuses to send fewer or more bytes than
 * the Content-Length it was given), then misbehaves.
 */
async function sendPartial(
  req: http.IncomingMessage,
  file: string,
  type: string,
  partial: Partial,
  stalled: Set<() => void>,
): Promise<void> {
  const socket = req.socket;
  const data = (await readFile(file)).subarray(0, partial.sent);
  socket.write(`HTTP/1.1 200 OK\r\nContent-Type: ${type}\r\nContent-Length: ${partial.declared}\r\n\r\n`);
  await new Promise<void>((resolve) => socket.write(data, () => resolve()));
  if (partial.then === "stall") {
    await new Promise<void>((resolve) => {
      const done = (): void => {
        stalled.delete(done);
        socket.destroy();
        resolve();
      };
      stalled.add(done);
      socket.once("close", done);
    });
    return;
  }
  // Let the bytes reach the client before the connection goes.
  await new Promise((r) => setTimeout(r, 20));
  if (partial.then === "reset") socket.resetAndDestroy();
  else socket.destroy();
}

/** A 200 answer that never ends before `bytes` bytes of garbage, sent as fast as the client reads. */
async function sendOversized(res: http.ServerResponse, bytes: number): Promise<void> {
  res.writeHead(200, { "Content-Type": "application/octet-stream" });
  const chunk = garbageOf(64 * 1024);
  let sent = 0;
  while (sent < bytes && !res.destroyed) {
    const n = Math.min(chunk.length, bytes - sent);
    sent += n;
    if (!res.write(chunk.subarray(0, n))) {
      await new Promise<void>((resolve) => {
        // Whichever comes first; the other listener goes too, or they pile up on a long answer.
        const done = (): void => {
          res.off("drain", done);
          res.off("close", done);
          resolve();
        };
        res.on("drain", done);
        res.on("close", done);
      });
    }
  }
  res.end();
}
