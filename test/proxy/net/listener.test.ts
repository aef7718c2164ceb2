import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { addToken } from "../../../lib/proxy/auth/token-store";
import type { RunningProxy } from "../../../lib/proxy/server";
import { FakeSource } from "../../support/fake-source";
import { bearer, request } from "../../support/http-client";
import { LogCapture } from "../../support/log-capture";
import { startTestProxy, type TestProxy } from "../../support/proxy";
import { makeCertificate, OPENSSL, type TestCertificate } from "../../support/tls";
import { describeWithTools } from "../../support/tools";

describeWithTools(
  { bins: [OPENSSL] },
  "how the proxy listens: TLS, the metrics listener, the clear-text warning",
  () => {
    let work: string;
    let log: LogCapture;
    const running: TestProxy[] = [];

    const start = async (env: Record<string, string>): Promise<RunningProxy> => {
      const mirror = await startTestProxy(
        { GOPROXY: "off", ...env },
        { logger: log.logger, direct: new FakeSource() },
      );
      running.push(mirror);
      return mirror.proxy;
    };

    beforeEach(() => {
      work = mkdtempSync(path.join(tmpdir(), "gomirror-listen-"));
      log = new LogCapture("info");
    });
    afterEach(async () => {
      for (const p of running.splice(0)) await p.close();
      rmSync(work, { recursive: true, force: true });
    });

    /** The files the proxy is configured with; certificates are copied over them to "renew". */
    const installed = (cert: TestCertificate) => {
      const files = {
        GOMIRROR_TLS_CERT: path.join(work, "tls.crt"),
        GOMIRROR_TLS_KEY: path.join(work, "tls.key"),
      };
      copyFileSync(cert.certFile, files.GOMIRROR_TLS_CERT);
      copyFileSync(cert.keyFile, files.GOMIRROR_TLS_KEY);
      return files;
    };

    const fingerprintAfterChange = async (
      url: string,
      ca: Buffer,
      expected: string,
    ): Promise<string | undefined> => {
      const deadline = Date.now() + 8000;
      for (;;) {
        const res = await request(`${url}/healthz`, { ca }).catch(() => undefined);
        if (res?.fingerprint === expected || Date.now() > deadline) return res?.fingerprint;
        await new Promise((r) => setTimeout(r, 200));
      }
    };

    it("serves HTTPS with the given certificate and takes a renewed one without a restart", async () => {
      const first = makeCertificate(work, "first");
      const second = makeCertificate(work, "second");
      const files = installed(first);
      const proxy = await start(files);
      expect(proxy.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const ca = Buffer.concat([first.cert, second.cert]);
      const res = await request(`${proxy.url}/healthz`, { ca });
      expect([res.status, res.fingerprint]).toEqual([200, first.fingerprint]);
      await expect(request(`${proxy.url}/healthz`)).rejects.toThrow(/self-signed certificate/);

      installed(second);
      expect(await fingerprintAfterChange(proxy.url, ca, second.fingerprint)).toBe(second.fingerprint);
      expect(log.events("tls_loaded")).toHaveLength(2);
    }, 30_000);

    it("keeps the certificate in use when a renewal is broken or mismatched, and logs why", async () => {
      const first = makeCertificate(work, "first");
      const second = makeCertificate(work, "second");
      const files = installed(first);
      const proxy = await start(files);
      // A new certificate with the old key: the pair does not match.
      copyFileSync(second.certFile, files.GOMIRROR_TLS_CERT);
      const deadline = Date.now() + 8000;
      while (log.events("tls_reload_failed").length === 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(log.events("tls_reload_failed")).toEqual([
        expect.objectContaining({ reason: expect.stringMatching(/key values mismatch/) }),
      ]);
      const res = await request(`${proxy.url}/healthz`, { ca: first.cert });
      expect([res.status, res.fingerprint]).toEqual([200, first.fingerprint]);
      expect(log.text).not.toContain("PRIVATE KEY");
    }, 30_000);

    it("refuses to start with a certificate it cannot load, naming both settings", async () => {
      const files = installed(makeCertificate(work, "first"));
      writeFileSync(files.GOMIRROR_TLS_KEY, "not a key\n");
      await expect(start(files)).rejects.toThrow(
        /^GOMIRROR_TLS_CERT=".*tls\.crt", GOMIRROR_TLS_KEY=".*tls\.key": /,
      );
    });

    it("serves /metrics on its own listener without a token, and nothing else there", async () => {
      const tokens = path.join(work, "tokens");
      const { token } = await addToken(tokens, "ci");
      const proxy = await start({ GOMIRROR_AUTH_FILE: tokens, GOMIRROR_METRICS_LISTEN: "127.0.0.1:0" });
      expect(proxy.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const scraped = await request(`${proxy.metricsUrl}/metrics`);
      expect(scraped.status).toBe(200);
      expect(scraped.body).toContain("gomirror_http_requests_total");
      expect((await request(`${proxy.metricsUrl}/example.test/m/@v/list`)).status).toBe(404);
      expect((await request(`${proxy.metricsUrl}/metrics`, { method: "POST" })).status).toBe(405);
      // The main port still wants a token for it.
      expect((await request(`${proxy.url}/metrics`)).status).toBe(401);
      expect((await request(`${proxy.url}/metrics`, { headers: bearer(token) })).status).toBe(200);
    });

    it("warns that tokens travel in clear on a non-loopback address without TLS, and only then", async () => {
      const tokens = path.join(work, "tokens");
      await addToken(tokens, "ci");
      await start({ GOMIRROR_AUTH_FILE: tokens });
      expect(log.events("tokens_in_clear")).toEqual([]);
      await start({
        GOMIRROR_AUTH_FILE: tokens,
        ...installed(makeCertificate(work)),
        GOMIRROR_LISTEN: "0.0.0.0:0",
      });
      expect(log.events("tokens_in_clear")).toEqual([]);
      await start({ GOMIRROR_AUTH_FILE: tokens, GOMIRROR_LISTEN: "0.0.0.0:0" });
      expect(log.events("tokens_in_clear")).toEqual([
        expect.objectContaining({ level: 40, msg: expect.stringMatching(/^tokens travel in clear/) }),
      ]);
    });
  },
);
