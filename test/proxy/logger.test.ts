import { Writable } from "node:stream";
import { loadConfig } from "../../lib/proxy/config";
import { formatPretty, prettyDestination } from "../../lib/proxy/log-pretty";
import { createLogger, isPretty } from "../../lib/proxy/logger";

/** Logs for people on a terminal, JSON for machines (GOMIRROR_LOG_FORMAT). */

class Text extends Writable {
  text = "";
  override _write(chunk: Buffer, _enc: string, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

describe("log lines", () => {
  it("are JSON unless asked otherwise, and GOMIRROR_LOG_FORMAT defaults to auto", () => {
    expect(loadConfig({ env: {}, argv: [] }).logFormat).toBe("auto");
    expect(loadConfig({ env: { GOMIRROR_LOG_FORMAT: "pretty" }, argv: [] }).logFormat).toBe("pretty");
    expect(isPretty("json", 1)).toBe(false);
    expect(isPretty("pretty", 1)).toBe(true);
    // Jest's stdout is a pipe, not a terminal.
    expect(isPretty("auto", 1)).toBe(process.stdout.isTTY === true);
  });

  it("are one readable line each when pretty, credentials still redacted", () => {
    const out = new Text();
    const logger = createLogger("info", prettyDestination(out));
    logger.warn(
      { event: "upstream_error", upstream: "https://proxy.golang.org", path: "a b/@v/list" },
      "upstream failed",
    );
    logger.info({ event: "x", headers: { authorization: "Bearer gmt_secret" } }, "with a header");
    const lines = out.text.split("\n");
    expect(lines[0]).toMatch(
      /^\d\d:\d\d:\d\d WARN {2}upstream failed upstream=https:\/\/proxy\.golang\.org path="a b\/@v\/list"$/,
    );
    expect(lines[1]).toMatch(
      /^\d\d:\d\d:\d\d INFO {2}with a header headers=\{"authorization":"\[redacted\]"\}$/,
    );
    expect(out.text).not.toContain("gmt_secret");
  });

  it("put a request's status, method, path and time first", () => {
    const line = JSON.stringify({
      level: 30,
      time: "2026-01-02T03:04:05.678Z",
      pid: 1,
      service: "gomirror",
      event: "request",
      reqId: "ab-1",
      method: "GET",
      url: "/example.test/m/@v/list",
      endpoint: "list",
      status: 200,
      bytes: 7,
      durationMs: 3,
      msg: "request",
    });
    expect(formatPretty(line)).toBe(
      "03:04:05 INFO  200 GET /example.test/m/@v/list 3ms reqId=ab-1 bytes=7\n",
    );
  });

  it("show the startup line as a block, one setting a line", () => {
    const line = JSON.stringify({
      level: 30,
      time: "2026-01-02T03:04:05.678Z",
      event: "listening",
      url: "http://127.0.0.1:3000",
      goproxy: "https://proxy.golang.org,direct",
      msg: "gomirror 1.0.0 listening on http://127.0.0.1:3000",
    });
    expect(formatPretty(line)).toBe(
      "03:04:05 INFO  gomirror 1.0.0 listening on http://127.0.0.1:3000\n" +
        "    url      http://127.0.0.1:3000\n" +
        "    goproxy  https://proxy.golang.org,direct\n",
    );
  });

  it("pass on what is not JSON as it is", () => {
    expect(formatPretty("plain words")).toBe("plain words\n");
  });
});
