import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";

/**
 * Throwaway TLS certificates for tests, made with the openssl command (Debian's `openssl`,
 * installed by .ci/install-system.sh): a self-signed P-256 certificate for 127.0.0.1 and
 * localhost, valid for a day. A client trusts it by taking the certificate file as its CA
 * (`SSL_CERT_FILE` for the go command, `ca` for node).
 */

export interface TestCertificate {
  readonly certFile: string;
  readonly keyFile: string;
  readonly cert: Buffer;
  /** SHA-256 fingerprint, to tell which certificate a server presented. */
  readonly fingerprint: string;
}

/** How `describeWithTools` checks that openssl is there (it has no --version). */
export const OPENSSL: readonly [string, string[]] = ["openssl", ["version"]];

/** Writes `<name>.crt` and `<name>.key` into `dir`. */
export function makeCertificate(dir: string, name = "server"): TestCertificate {
  const certFile = path.join(dir, `${name}.crt`);
  const keyFile = path.join(dir, `${name}.key`);
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      keyFile,
      "-out",
      certFile,
      "-days",
      "1",
      "-subj",
      `/CN=gomirror test ${name}`,
      "-addext",
      "subjectAltName=IP:127.0.0.1,DNS:localhost",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  const cert = readFileSync(certFile);
  return { certFile, keyFile, cert, fingerprint: new X509Certificate(cert).fingerprint256 };
}
