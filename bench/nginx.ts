import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { freePort, start, waitUntilUp, type Started } from "./processes";

/**
 * nginx as the reference static file server: the same files, from the same directory (gomirror's
 * disk cache is a GOPROXY tree), configured as one would for production static serving.
 */

/** The nginx binary, or undefined when nginx is not installed. */
export function findNginx(): string | undefined {
  for (const candidate of ["/usr/sbin/nginx", "nginx"]) {
    try {
      execFileSync(candidate, ["-v"], { stdio: "ignore", timeout: 5000 });
      return candidate;
    } catch {
      // try the next one
    }
  }
  return undefined;
}

export interface RunningNginx {
  readonly url: string;
  readonly proc: Started;
  readonly version: string;
}

function config(prefix: string, root: string, port: number): string {
  // Running as root, nginx would drop its workers to "nobody", who cannot read a 0700 temp dir.
  const user = process.getuid?.() === 0 ? "user root;\n" : "";
  return `${user}daemon off;
worker_processes auto;
pid ${path.join(prefix, "nginx.pid")};
error_log ${path.join(prefix, "error.log")} warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_timeout 65s;
  keepalive_requests 1000000;
  open_file_cache max=1000 inactive=60s;
  client_body_temp_path ${path.join(prefix, "client_body")};
  proxy_temp_path ${path.join(prefix, "proxy")};
  fastcgi_temp_path ${path.join(prefix, "fastcgi")};
  uwsgi_temp_path ${path.join(prefix, "uwsgi")};
  scgi_temp_path ${path.join(prefix, "scgi")};
  types {
    application/json info;
    text/plain mod;
    application/zip zip;
  }
  default_type "text/plain; charset=utf-8";
  server {
    listen 127.0.0.1:${port};
    root ${root};
    location / { }
    location = /.nginx-probe { return 200 "ok\\n"; }
  }
}
`;
}

export async function startNginx(binary: string, prefix: string, root: string): Promise<RunningNginx> {
  mkdirSync(prefix, { recursive: true });
  const port = await freePort();
  const conf = path.join(prefix, "nginx.conf");
  writeFileSync(conf, config(prefix, root, port));
  // nginx -v prints to stderr.
  const version = spawnSync(binary, ["-v"], { encoding: "utf8", timeout: 5000 }).stderr.trim();
  const proc = start("nginx", binary, ["-p", prefix, "-e", path.join(prefix, "error.log"), "-c", conf], {});
  const url = `http://127.0.0.1:${port}`;
  await waitUntilUp(`${url}/.nginx-probe`, proc);
  return { url, proc, version };
}
