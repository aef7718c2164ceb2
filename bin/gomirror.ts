#!/usr/bin/env node
import { request } from "node:http";
import { ConfigError, loadConfig, settingsHelp } from "../lib/proxy/config";
import { startProxy } from "../lib/proxy/server";

const USAGE = `gomirror: a private Go module proxy (GOPROXY server)

Usage:
  gomirror [serve] [flags]     start the proxy
  gomirror healthcheck         exit 0 when the proxy on GOMIRROR_LISTEN answers /healthz
  gomirror --help              this text

Point the go command at it:
  GOPROXY=http://127.0.0.1:3000 go mod download

Settings (environment variable in parentheses; a flag wins over its variable):
${settingsHelp()}
`;

function fail(message: string, code = 2): never {
  process.stderr.write(`gomirror: ${message}\n`);
  process.exit(code);
}

async function serve(argv: string[]): Promise<void> {
  const config = loadConfig({ env: process.env, argv });
  const proxy = await startProxy(config);
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    proxy.logger.info({ event: "shutdown", signal }, "shutting down: finishing in-flight requests");
    proxy.close().then(
      () => process.exit(0),
      (err) => {
        proxy.logger.error({ err: String(err) }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

/** For the image's HEALTHCHECK: the image has node but no curl. */
function healthcheck(): Promise<void> {
  const config = loadConfig({ env: process.env, argv: [] });
  const host =
    config.listen.host === "0.0.0.0" || config.listen.host === "" ? "127.0.0.1" : config.listen.host;
  return new Promise((resolve) => {
    const req = request({ host, port: config.listen.port, path: "/healthz", timeout: 3000 }, (res) => {
      res.resume();
      process.exit(res.statusCode === 200 ? 0 : 1);
    });
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", (err) => fail(`healthcheck: ${err.message}`, 1));
    req.end();
    resolve();
  });
}

async function main(argv: string[]): Promise<void> {
  if (argv.includes("--help") || argv.includes("-h") || argv[0] === "help") {
    process.stdout.write(USAGE);
    return;
  }
  const [command, ...rest] = argv[0] === undefined || argv[0].startsWith("-") ? ["serve", ...argv] : argv;
  switch (command) {
    case "serve":
      return serve(rest);
    case "healthcheck":
      return healthcheck();
    default:
      fail(`unknown command ${JSON.stringify(command)}; see gomirror --help`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof ConfigError) fail(err.message);
  fail(err instanceof Error ? (err.stack ?? err.message) : String(err), 1);
});
