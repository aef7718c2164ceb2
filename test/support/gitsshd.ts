import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { freePort } from "./ports";

/**
 * An OpenSSH server on 127.0.0.1 for the git-over-ssh tests: its own host key, configuration and
 * authorized_keys in a test directory, no PAM, public keys only, and only the current user (git
 * runs `git-upload-pack` through that user's shell, so repository paths are absolute). Started
 * with its own configuration file, stopped by its pid.
 */

export const SSHD = "/usr/sbin/sshd";

export interface Sshd {
  readonly port: number;
  /** The user to put into ssh:// URLs. */
  readonly user: string;
  /** A known_hosts line for this server's host key. */
  readonly knownHostsLine: string;
  /** A private key file the server accepts. */
  readonly clientKey: string;
  stop(): Promise<void>;
}

/** Makes a new ed25519 key pair at `file` (and `file.pub`); returns the public key line. */
export function makeKey(file: string): string {
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "gomirror-test", "-f", file], {
    stdio: "ignore",
  });
  return readFileSync(`${file}.pub`, "utf8").trim();
}

export async function startSshd(dir: string): Promise<Sshd> {
  if (!existsSync(SSHD))
    throw new Error(`${SSHD} is missing: install openssh-server (.ci/install-system.sh does)`);
  mkdirSync(dir, { recursive: true });
  // sshd running as root needs its privilege separation directory, which only its service creates.
  if (process.getuid?.() === 0) mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
  const hostKey = path.join(dir, "host_key");
  const hostPublic = makeKey(hostKey);
  const clientKey = path.join(dir, "client_key");
  writeFileSync(path.join(dir, "authorized_keys"), `${makeKey(clientKey)}\n`);
  const user = os.userInfo().username;
  const port = await freePort();
  const config = path.join(dir, "sshd_config");
  writeFileSync(
    config,
    [
      `Port ${port}`,
      "ListenAddress 127.0.0.1",
      `HostKey ${hostKey}`,
      `PidFile ${path.join(dir, "sshd.pid")}`,
      `AuthorizedKeysFile ${path.join(dir, "authorized_keys")}`,
      "StrictModes no",
      "UsePAM no",
      "PubkeyAuthentication yes",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "PermitRootLogin prohibit-password",
      `AllowUsers ${user}`,
      "LogLevel ERROR",
      "",
    ].join("\n"),
  );
  const child = spawn(SSHD, ["-D", "-e", "-f", config], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.once("error", () => undefined);
  await waitForPort(port, () => (child.exitCode !== null ? `sshd exited: ${stderr}` : undefined));
  return {
    port,
    user,
    knownHostsLine: `[127.0.0.1]:${port} ${hostPublic.split(" ").slice(0, 2).join(" ")}`,
    clientKey,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}

async function waitForPort(port: number, failed: () => string | undefined): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const why = failed();
    if (why) throw new Error(why);
    const open = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, "127.0.0.1", () => {
        s.destroy();
        resolve(true);
      });
      s.on("error", () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`sshd did not listen on 127.0.0.1:${port}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
