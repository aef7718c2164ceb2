import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { ConfigError, loadConfig } from "../../../lib/proxy/config";
import { GitSource } from "../../../lib/proxy/git/source";
import { buildRepos, GIT_HOST } from "../../support/gitrepos";
import { type GitServer, startGitServer } from "../../support/gitserver";
import { makeKey, type Sshd, startSshd } from "../../support/gitsshd";
import { describeWithTools } from "../../support/tools";

/**
 * git over ssh against an OpenSSH server on 127.0.0.1: the same answers as over HTTP with the
 * key and known_hosts of the settings, and refusals, each saying what to set, without a
 * known_hosts file, with a host key that is not the one known, and with a key the server does
 * not accept.
 */

describeWithTools({ bins: ["git"] }, "git over ssh", () => {
  let tmp: string;
  let root: string;
  let sshd: Sshd;
  let http: GitServer;
  let knownHosts: string;

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(tmpdir(), "gomirror-git-ssh-"));
    root = buildRepos(tmp).root;
    sshd = await startSshd(path.join(tmp, "sshd"));
    http = await startGitServer({ projectRoot: root });
    knownHosts = path.join(tmp, "known_hosts");
    writeFileSync(knownHosts, `${sshd.knownHostsLine}\n`);
  }, 120_000);

  afterAll(async () => {
    await sshd?.stop();
    await http?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  const overSsh = (ssh: { keyFile?: string; knownHostsFile?: string }) =>
    new GitSource({
      rewrite: [{ from: `https://${GIT_HOST}/`, to: `ssh://${sshd.user}@127.0.0.1:${sshd.port}${root}/` }],
      ssh,
    });

  it("serves the same .info, go.mod and zip as over HTTPS, with the configured key and known_hosts", async () => {
    const ssh = overSsh({ keyFile: sshd.clientKey, knownHostsFile: knownHosts });
    const viaHttp = new GitSource({ rewrite: [{ from: `https://${GIT_HOST}/`, to: `${http.url}/` }] });
    try {
      for (const [modulePath, query] of [
        [`${GIT_HOST}/hello.git`, "v1.1.0"],
        [`${GIT_HOST}/hello.git`, "main"],
        [`${GIT_HOST}/hello.git/sub`, "v0.1.0"],
      ]) {
        const info = await ssh.info(modulePath, query);
        expect(info).toEqual(await viaHttp.info(modulePath, query));
        expect(
          (await ssh.mod(modulePath, info.Version)).equals(await viaHttp.mod(modulePath, info.Version)),
        ).toBe(true);
        const zip = async (s: GitSource) => {
          const chunks: Buffer[] = [];
          for await (const c of (await s.zip(modulePath, info.Version)).body) chunks.push(c as Buffer);
          return Buffer.concat(chunks);
        };
        expect((await zip(ssh)).equals(await zip(viaHttp))).toBe(true);
      }
      expect(await ssh.list(`${GIT_HOST}/hello.git`)).toEqual(await viaHttp.list(`${GIT_HOST}/hello.git`));
    } finally {
      await ssh.close();
      await viaHttp.close();
    }
  });

  it("refuses ssh without a known_hosts file, naming the setting", async () => {
    const ssh = overSsh({ keyFile: sshd.clientKey });
    try {
      const err = (await ssh.info(`${GIT_HOST}/hello.git`, "v1.1.0").catch((e: unknown) => e)) as Error;
      expect(err).toMatchObject({ kind: "forbidden" });
      expect(err.message).toMatch(/over ssh, which needs GOMIRROR_GIT_SSH_KEY and GOMIRROR_GIT_KNOWN_HOSTS/);
    } finally {
      await ssh.close();
    }
  });

  it("refuses a server whose host key is not the known one", async () => {
    const other = path.join(tmp, "other_known_hosts");
    const stranger = makeKey(path.join(tmp, "stranger")).split(" ").slice(0, 2).join(" ");
    writeFileSync(other, `[127.0.0.1]:${sshd.port} ${stranger}\n`);
    const ssh = overSsh({ keyFile: sshd.clientKey, knownHostsFile: other });
    try {
      const err = (await ssh.list(`${GIT_HOST}/hello.git`).catch((e: unknown) => e)) as Error;
      expect(err.message).toMatch(/ssh host key of git\.example\.test is not in GOMIRROR_GIT_KNOWN_HOSTS/);
    } finally {
      await ssh.close();
    }
  });

  it("says so when the server does not accept the key", async () => {
    const ssh = overSsh({ keyFile: path.join(tmp, "stranger"), knownHostsFile: knownHosts });
    try {
      const err = (await ssh.list(`${GIT_HOST}/hello.git`).catch((e: unknown) => e)) as Error;
      expect(err).toMatchObject({ kind: "forbidden" });
      expect(err.message).toMatch(/did not accept the key \(GOMIRROR_GIT_SSH_KEY\)/);
    } finally {
      await ssh.close();
    }
  });

  it("refuses GOMIRROR_GIT_SSH_KEY without GOMIRROR_GIT_KNOWN_HOSTS at startup", () => {
    expect(() => loadConfig({ env: { GOMIRROR_GIT_SSH_KEY: sshd.clientKey }, argv: [] })).toThrow(
      ConfigError,
    );
    expect(() => loadConfig({ env: { GOMIRROR_GIT_SSH_KEY: sshd.clientKey }, argv: [] })).toThrow(
      /GOMIRROR_GIT_KNOWN_HOSTS is not/,
    );
    const config = loadConfig({
      env: { GOMIRROR_GIT_SSH_KEY: sshd.clientKey, GOMIRROR_GIT_KNOWN_HOSTS: knownHosts },
      argv: [],
    });
    expect(config).toMatchObject({ gitSshKey: sshd.clientKey, gitKnownHosts: knownHosts });
  });
});
