import { spawn } from "node:child_process";
import http from "node:http";
import { constants as zlibConstants, gunzipSync } from "node:zlib";
import type { AddressInfo } from "node:net";

/**
 * A git smart-HTTP server for tests, on 127.0.0.1: `git http-backend` run as a CGI program
 * (spawned without a shell) for every request under a project root, plus a responder for
 * `?go-get=1` that answers go-import meta tags for vanity paths. It records every request
 * (method, path, query, whether credentials came along) so tests can prove that a request
 * never happened, and can require a Basic-auth token.
 *
 * It also accepts absolute-form request targets (`GET http://vanity.test/x?go-get=1`), so the
 * go command can reach a made-up host through `HTTP_PROXY` pointed at this server.
 */

export interface GitServerOptions {
  /** Directory holding the bare repositories (`<root>/hello.git`, `<root>/group/sub/proj.git`). */
  readonly projectRoot: string;
  /**
   * When set, every request must carry `Authorization: Basic base64(user:token)` with this
   * password (any user name), else 401 with a `WWW-Authenticate` challenge.
   * @default no authentication
   */
  readonly token?: string;
  /**
   * go-import answers: for a request `/path?go-get=1`, the first entry whose `prefix` (without its
   * host) equals `/path` or is a path prefix of it is answered as
   * `<meta name="go-import" content="prefix git repoURL[ subdir]">`.
   * @default none (go-get requests get 404)
   */
  readonly goImports?: readonly GoImport[];
  /**
   * Ref lines (`<hash> <name>`) a repository advertises besides its own, keyed by the
   * repository's path (`/spaceref.git`): what a server that is not git itself may send, e.g. a
   * ref name with a space. Added to protocol v0 advertisements and v2 `ls-refs` answers.
   * @default none
   */
  readonly extraRefs?: Readonly<Record<string, readonly string[]>>;
  /** Answers to git (not go-get pages) are sent at most this fast. @default no limit */
  readonly bytesPerSecond?: number;
  /** Each `fetch` (the request for a pack) is answered only after this long, in ms. @default 0 */
  readonly fetchDelayMs?: number;
}

export interface GoImport {
  readonly prefix: string;
  readonly repoURL: string;
  readonly subdir?: string;
  /** Extra go-import tags served on the same page (to test ambiguity handling). */
  readonly extra?: readonly string[];
  /** Bytes of filler (an HTML comment) in the page's head, after the meta tags. @default 0 */
  readonly headPadding?: number;
  /** Bytes of filler text in the page's body. @default 0 */
  readonly bodyPadding?: number;
}

export interface GitServerRequest {
  readonly method: string;
  /** Host the client addressed (the Host header or the absolute-form target's host). */
  readonly host: string;
  readonly path: string;
  readonly query: string;
  /** Whether an Authorization header came with the request (its value is never recorded). */
  readonly authorized: boolean;
  readonly status: number;
  /**
   * For a POST to git-upload-pack: what it asks, from the start of its body: `ls-refs` or
   * `fetch` (protocol v2; a v0 request with `want` lines counts as `fetch`).
   */
  readonly command?: string;
}

export interface GitServer {
  /** `http://127.0.0.1:PORT` (no trailing slash). */
  readonly url: string;
  readonly port: number;
  readonly requests: readonly GitServerRequest[];
  resetRequests(): void;
  close(): Promise<void>;
}

export async function startGitServer(options: GitServerOptions): Promise<GitServer> {
  const requests: GitServerRequest[] = [];
  const server = http.createServer((req, res) => {
    const target = new URL(req.url ?? "/", `http://${req.headers.host ?? "127.0.0.1"}`);
    // The start of the request body (git gzips larger ones), to tell ls-refs from fetch.
    const gzipped = req.headers["content-encoding"] === "gzip";
    let raw = Buffer.alloc(0);
    let head = "";
    req.on("data", (chunk: Buffer) => {
      if (raw.length >= 1 << 16) return;
      raw = Buffer.concat([raw, chunk]);
      const plain = gzipped ? gunzipSync(raw, { finishFlush: zlibConstants.Z_SYNC_FLUSH }) : raw;
      head = plain.subarray(0, 512).toString("latin1");
    });
    const record = (status: number): void => {
      const command =
        /command=([a-z-]+)/.exec(head)?.[1] ?? (/want [0-9a-f]{40}/.test(head) ? "fetch" : undefined);
      requests.push({
        method: req.method ?? "GET",
        host: target.host,
        path: decodeURIComponent(target.pathname),
        query: target.search.replace(/^\?/, ""),
        authorized: req.headers.authorization !== undefined,
        status,
        ...(command ? { command } : {}),
      });
    };
    if (options.token !== undefined && !hasToken(req.headers.authorization, options.token)) {
      record(401);
      req.resume();
      res.writeHead(401, { "WWW-Authenticate": 'Basic realm="git"', "Content-Type": "text/plain" });
      res.end("authentication required\n");
      return;
    }
    if (target.searchParams.get("go-get") === "1") {
      const status = answerGoGet(options.goImports ?? [], target, res);
      record(status);
      return;
    }
    // A repository is reached with or without its `.git` suffix (the go command leaves it out).
    const repo = Object.keys(options.extraRefs ?? {}).find(
      (r) => target.pathname.startsWith(`${r}/`) || target.pathname.startsWith(`${r.replace(/\.git$/, "")}/`),
    );
    const extra = repo ? (options.extraRefs?.[repo] ?? []) : [];
    const delay = options.fetchDelayMs ?? 0;
    runBackend(req, res, target, {
      ...(delay > 0 ? { delayMs: () => (/command=fetch|want [0-9a-f]{40}/.test(head) ? delay : 0) } : {}),
      projectRoot: options.projectRoot,
      record,
      extraRefs: () => (advertises(req, target, head) ? extra : []),
      ...(options.bytesPerSecond ? { bytesPerSecond: options.bytesPerSecond } : {}),
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get requests() {
      return [...requests];
    },
    resetRequests() {
      requests.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function hasToken(header: string | undefined, token: string): boolean {
  const m = header && /^Basic\s+(\S+)$/i.exec(header);
  if (!m) return false;
  const decoded = Buffer.from(m[1], "base64").toString("utf8");
  return decoded.slice(decoded.indexOf(":") + 1) === token;
}

function answerGoGet(imports: readonly GoImport[], target: URL, res: http.ServerResponse): number {
  // Matched on the path alone: the request may name the made-up host (through HTTP_PROXY) or
  // this server's own address (after a rewrite).
  const requested = target.pathname.replace(/\/$/, "");
  const found = imports.find((i) => {
    const prefixPath = i.prefix.slice(i.prefix.indexOf("/"));
    return requested === prefixPath || requested.startsWith(`${prefixPath}/`);
  });
  if (!found) {
    res.writeHead(404, { "Content-Type": "text/plain" });
    res.end("no go-import here\n");
    return 404;
  }
  const content = [found.prefix, "git", found.repoURL, ...(found.subdir ? [found.subdir] : [])].join(" ");
  const tags = [content, ...(found.extra ?? [])]
    .map((c) => `<meta name="go-import" content="${c}">`)
    .join("\n");
  const headFiller = found.headPadding ? `<!-- ${"h".repeat(found.headPadding)} -->\n` : "";
  const bodyFiller = "b".repeat(found.bodyPadding ?? 0);
  res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
  res.end(
    `<!DOCTYPE html>\n<html><head>\n${tags}\n${headFiller}</head><body>go get ${found.prefix}${bodyFiller}</body></html>\n`,
  );
  return 200;
}

/** Whether the answer to this request lists refs: a v0 advertisement or a v2 `ls-refs`. */
function advertises(req: http.IncomingMessage, target: URL, body: string): boolean {
  const v2 = String(req.headers["git-protocol"] ?? "").includes("version=2");
  if (req.method === "GET") return target.pathname.endsWith("/info/refs") && !v2;
  return body.includes("command=ls-refs");
}

/** A pkt-line: four hex digits of length (themselves included), then the payload. */
function pktLine(payload: string): string {
  return (Buffer.byteLength(payload) + 4).toString(16).padStart(4, "0") + payload;
}

/**
 * Runs `git http-backend` as a CGI program for one request and relays its answer, with the ref
 * lines `extraRefs()` returns added before the answer's final flush packet, at most
 * `bytesPerSecond` fast. The backend is stopped when the client goes away.
 */
function runBackend(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  target: URL,
  how: {
    projectRoot: string;
    record: (status: number) => void;
    extraRefs: () => readonly string[];
    bytesPerSecond?: number;
    /** How long to hold the answer back once the request has been read. */
    delayMs?: () => number;
  },
): void {
  const { projectRoot, record, extraRefs } = how;
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    GIT_PROJECT_ROOT: projectRoot,
    GIT_HTTP_EXPORT_ALL: "1",
    // The repositories belong to whoever built them; the backend must not refuse them.
    GIT_CONFIG_COUNT: "1",
    GIT_CONFIG_KEY_0: "safe.directory",
    GIT_CONFIG_VALUE_0: "*",
    GIT_CONFIG_NOSYSTEM: "1",
    HOME: projectRoot,
    GATEWAY_INTERFACE: "CGI/1.1",
    SERVER_PROTOCOL: "HTTP/1.1",
    REQUEST_METHOD: req.method ?? "GET",
    PATH_INFO: decodeURIComponent(target.pathname),
    QUERY_STRING: target.search.replace(/^\?/, ""),
    CONTENT_TYPE: req.headers["content-type"] ?? "",
    REMOTE_ADDR: "127.0.0.1",
    REMOTE_USER: req.headers.authorization ? "git" : "",
  };
  if (req.headers["content-length"]) env.CONTENT_LENGTH = req.headers["content-length"];
  if (req.headers["content-encoding"]) env.HTTP_CONTENT_ENCODING = String(req.headers["content-encoding"]);
  if (req.headers["git-protocol"]) env.GIT_PROTOCOL = String(req.headers["git-protocol"]);

  const child = spawn("git", ["http-backend"], { env, stdio: ["pipe", "pipe", "pipe"] });
  req.pipe(child.stdin);
  child.stdin.on("error", () => undefined);
  res.on("error", () => undefined);
  res.on("close", () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });
  let head = Buffer.alloc(0);
  let headerDone = false;
  let status = 200;
  let extra: readonly string[] = [];
  const held: Buffer[] = [];
  const send = (chunk: Buffer): void => {
    if (extra.length > 0) {
      held.push(chunk);
      return;
    }
    res.write(chunk);
    if (how.bytesPerSecond) {
      child.stdout.pause();
      setTimeout(() => child.stdout.resume(), (chunk.length / how.bytesPerSecond) * 1000);
    }
  };
  req.on("end", () => {
    const delay = how.delayMs?.() ?? 0;
    if (delay > 0) {
      child.stdout.pause();
      setTimeout(() => child.stdout.resume(), delay);
    }
  });
  child.stdout.on("data", (chunk: Buffer) => {
    if (headerDone) {
      send(chunk);
      return;
    }
    head = Buffer.concat([head, chunk]);
    const sep = findHeaderEnd(head);
    if (!sep) return;
    headerDone = true;
    const headers: Record<string, string> = {};
    for (const line of head.subarray(0, sep.at).toString("latin1").split(/\r?\n/)) {
      const i = line.indexOf(":");
      if (i <= 0) continue;
      const name = line.slice(0, i).trim();
      const value = line.slice(i + 1).trim();
      if (name.toLowerCase() === "status") status = Number.parseInt(value, 10);
      else headers[name] = value;
    }
    extra = status === 200 ? extraRefs() : [];
    if (extra.length > 0) delete headers["Content-Length"];
    res.writeHead(status, headers);
    record(status);
    send(head.subarray(sep.at + sep.length));
  });
  const stderr: Buffer[] = [];
  child.stderr.on("data", (c: Buffer) => stderr.push(c));
  child.on("close", (code) => {
    if (!headerDone) {
      record(500);
      res.writeHead(500, { "Content-Type": "text/plain" });
      res.end(`git http-backend failed (${code}): ${Buffer.concat(stderr).toString()}`);
      return;
    }
    if (extra.length > 0) {
      const body = Buffer.concat(held).toString("latin1");
      const flush = body.lastIndexOf("0000");
      const lines = extra.map((l) => pktLine(`${l}\n`)).join("");
      res.write(Buffer.from(body.slice(0, flush) + lines + body.slice(flush), "latin1"));
    }
    res.end();
  });
}

function findHeaderEnd(buf: Buffer): { at: number; length: number } | undefined {
  const crlf = buf.indexOf("\r\n\r\n");
  const lf = buf.indexOf("\n\n");
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return { at: crlf, length: 4 };
  if (lf >= 0) return { at: lf, length: 2 };
  return undefined;
}
