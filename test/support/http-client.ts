import http from "node:http";
import https from "node:https";

/** One HTTP(S) request as a test makes it: from a chosen local address, with chosen headers. */
export interface TestRequest {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  /** Source address, e.g. 127.0.0.2 to look like another client on loopback. */
  readonly localAddress?: string;
  /** CA certificate(s) to trust for https URLs. */
  readonly ca?: Buffer;
}

export interface TestResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
  /** SHA-256 fingerprint of the server's certificate (https only). */
  readonly fingerprint?: string;
}

export function request(url: string, options: TestRequest = {}): Promise<TestResponse> {
  const target = new URL(url);
  const secure = target.protocol === "https:";
  return new Promise((resolve, reject) => {
    const req = (secure ? https : http).request(
      target,
      {
        method: options.method ?? "GET",
        headers: options.headers,
        localAddress: options.localAddress,
        ca: options.ca,
        // A fresh connection per request, so a replaced certificate is seen at once.
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        const fingerprint = secure
          ? (res.socket as import("node:tls").TLSSocket).getPeerCertificate().fingerprint256
          : undefined;
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString("utf8"),
            fingerprint,
          }),
        );
      },
    );
    req.on("error", reject);
    req.end();
  });
}

/** `Authorization: Basic` for `login:password`, as a netrc line makes the go command send it. */
export function basicAuth(login: string, password: string): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${login}:${password}`).toString("base64")}` };
}

export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}
