import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { healthcheck, probe, probeTarget } from "../../image/healthcheck";
import { makeCertificate, OPENSSL } from "../support/tls";
import { describeWithTools } from "../support/tools";

describe("the image's health probe", () => {
  it.each([
    [undefined, "127.0.0.1", 3000],
    ["0.0.0.0:8080", "127.0.0.1", 8080],
    [":9000", "127.0.0.1", 9000],
    ["127.0.0.1:3000", "127.0.0.1", 3000],
    ["10.1.2.3:80", "10.1.2.3", 80],
    ["[::]:8080", "::1", 8080],
    ["[::1]:8081", "::1", 8081],
    ["[fd00::5]:8082", "fd00::5", 8082],
    ["proxy.internal:8083", "proxy.internal", 8083],
  ])("finds the server from GOMIRROR_LISTEN=%j as the server reads it", (listen, host, port) => {
    const env = listen === undefined ? {} : { GOMIRROR_LISTEN: listen };
    expect(probeTarget(env)).toEqual({ scheme: "http", host, port });
  });

  it("speaks HTTPS when the server has a certificate", () => {
    const env = {
      GOMIRROR_LISTEN: "0.0.0.0:8443",
      GOMIRROR_TLS_CERT: "/tls/tls.crt",
      GOMIRROR_TLS_KEY: "/tls/tls.key",
    };
    expect(probeTarget(env)).toEqual({ scheme: "https", host: "127.0.0.1", port: 8443 });
  });

  it("reports a GOMIRROR_LISTEN the server would reject, naming the value", async () => {
    const errors: string[] = [];
    const spy = jest.spyOn(console, "error").mockImplementation((msg: string) => void errors.push(msg));
    try {
      await expect(healthcheck({ GOMIRROR_LISTEN: "host:http" })).resolves.toBe(1);
    } finally {
      spy.mockRestore();
    }
    expect(errors).toEqual([expect.stringMatching(/^healthcheck: .*GOMIRROR_LISTEN="host:http"/)]);
  });

  describe("against a server", () => {
    let server: http.Server;
    let status = 200;
    let port = 0;
    let delayMs = 0;
    const seen: string[] = [];

    beforeAll(async () => {
      server = http.createServer((req, res) => {
        seen.push(req.url ?? "");
        const timer = setTimeout(() => {
          res.statusCode = status;
          res.end("x");
        }, delayMs);
        res.on("close", () => clearTimeout(timer));
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      port = (server.address() as AddressInfo).port;
    });
    afterAll(async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    });

    it("reports the status of GET /healthz", async () => {
      status = 200;
      await expect(probe({ scheme: "http", host: "127.0.0.1", port }, 2000)).resolves.toBe(200);
      status = 503;
      await expect(probe({ scheme: "http", host: "127.0.0.1", port }, 2000)).resolves.toBe(503);
      expect(seen).toEqual(["/healthz", "/healthz"]);
    });

    it("exits 0 on a 200 and 1 otherwise, with the reason on stderr", async () => {
      const errors: string[] = [];
      const spy = jest.spyOn(console, "error").mockImplementation((msg: string) => void errors.push(msg));
      try {
        status = 200;
        await expect(healthcheck({ GOMIRROR_LISTEN: `0.0.0.0:${port}` })).resolves.toBe(0);
        status = 503;
        await expect(healthcheck({ GOMIRROR_LISTEN: `127.0.0.1:${port}` })).resolves.toBe(1);
      } finally {
        spy.mockRestore();
      }
      expect(errors).toEqual([`healthcheck: http://127.0.0.1:${port}/healthz answered 503, want 200`]);
    });

    it("gives up after its timeout", async () => {
      status = 200;
      delayMs = 1500;
      await expect(probe({ scheme: "http", host: "127.0.0.1", port }, 200)).rejects.toThrow(
        /no answer within 200 ms/,
      );
      delayMs = 0;
    });

    it("fails when nothing listens", async () => {
      const closed = http.createServer();
      await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
      const freePort = (closed.address() as AddressInfo).port;
      await new Promise((resolve) => closed.close(resolve));
      await expect(probe({ scheme: "http", host: "127.0.0.1", port: freePort }, 2000)).rejects.toThrow(
        /ECONNREFUSED/,
      );
    });
  });

  describeWithTools({ bins: [OPENSSL] }, "against a server with TLS", () => {
    let dir: string;
    let server: https.Server;
    let port = 0;
    let cert: ReturnType<typeof makeCertificate>;

    beforeAll(async () => {
      dir = mkdtempSync(path.join(tmpdir(), "gomirror-probe-tls-"));
      cert = makeCertificate(dir);
      server = https.createServer({ cert: cert.cert, key: readFileSync(cert.keyFile) }, (req, res) => {
        res.statusCode = req.url === "/healthz" ? 200 : 404;
        res.end("ok");
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      port = (server.address() as AddressInfo).port;
    });
    afterAll(async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      rmSync(dir, { recursive: true, force: true });
    });

    it("exits 0 when the server answers over HTTPS", async () => {
      const env = {
        GOMIRROR_LISTEN: `0.0.0.0:${port}`,
        GOMIRROR_TLS_CERT: cert.certFile,
        GOMIRROR_TLS_KEY: cert.keyFile,
      };
      await expect(healthcheck(env)).resolves.toBe(0);
    });
  });
});
