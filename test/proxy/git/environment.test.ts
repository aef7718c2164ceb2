import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { type GitHelpers, repoEnvironment, writeGitHelpers } from "../../../lib/proxy/git/environment";

/**
 * The environment git runs in: nothing inherited that changes git's behaviour, transports limited
 * to the repository's own, and an askpass helper that answers only for the credential's origin.
 */

describe("git's environment", () => {
  let dir: string;
  let helpers: GitHelpers;

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), "gomirror-git-env-"));
    helpers = writeGitHelpers(path.join(dir, "home"));
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const config = (env: NodeJS.ProcessEnv): Record<string, string> => {
    const out: Record<string, string> = {};
    for (let i = 0; i < Number(env.GIT_CONFIG_COUNT); i++) {
      out[env[`GIT_CONFIG_KEY_${i}`] as string] = env[`GIT_CONFIG_VALUE_${i}`] as string;
    }
    return out;
  };

  it("inherits no GIT_* variable, user or system configuration, and turns prompts off", () => {
    const env = repoEnvironment(
      { helpers, transport: "https" },
      {
        PATH: "/usr/bin",
        HOME: "/root",
        GIT_DIR: "/elsewhere",
        GIT_SSH_COMMAND: "evil",
        HTTPS_PROXY: "http://p:3128",
      },
    );
    expect(env).toMatchObject({
      PATH: "/usr/bin",
      HTTPS_PROXY: "http://p:3128",
      HOME: helpers.home,
      GIT_CONFIG_NOSYSTEM: "1",
      GIT_CONFIG_GLOBAL: "/dev/null",
      GIT_TERMINAL_PROMPT: "0",
      GIT_ASKPASS: helpers.askpass,
      GIT_SSH: helpers.ssh,
    });
    expect(env.GIT_DIR).toBeUndefined();
    expect(env.GIT_SSH_COMMAND).toBeUndefined();
  });

  it.each([
    ["https", { "protocol.allow": "never", "protocol.https.allow": "always" }],
    ["http", { "protocol.allow": "never", "protocol.http.allow": "always" }],
    ["ssh", { "protocol.allow": "never", "protocol.ssh.allow": "always" }],
  ] as const)("allows only %s", (transport, expected) => {
    const c = config(repoEnvironment({ helpers, transport }, {}));
    expect(c).toMatchObject(expected);
    expect(Object.keys(c).filter((k) => /^protocol\..+\.allow$/.test(k))).toEqual([
      `protocol.${transport}.allow`,
    ]);
  });

  it("writes helper scripts only the owner may run", () => {
    for (const f of [helpers.askpass, helpers.ssh]) expect(statSync(f).mode & 0o777).toBe(0o700);
  });

  describe("the askpass helper", () => {
    const ask = (prompt: string) =>
      spawnSync(helpers.askpass, [prompt], {
        env: repoEnvironment(
          {
            helpers,
            transport: "https",
            credential: { origin: "https://git.test:8443", login: "bot", password: "t0k" },
          },
          { PATH: process.env.PATH },
        ),
        encoding: "utf8",
      });

    it("answers git's prompts for its own origin", () => {
      expect(ask("Username for 'https://git.test:8443': ")).toMatchObject({ status: 0, stdout: "bot\n" });
      expect(ask("Password for 'https://bot@git.test:8443': ")).toMatchObject({ status: 0, stdout: "t0k\n" });
    });

    it.each([
      "Username for 'https://git.test': ",
      "Password for 'http://bot@git.test:8443': ",
      "Password for 'https://bot@other.test:8443': ",
      "Enter passphrase: ",
    ])("answers nothing for %j", (prompt) => {
      expect(ask(prompt)).toMatchObject({ status: 1, stdout: "" });
    });

    it("answers nothing without a credential", () => {
      const none = repoEnvironment({ helpers, transport: "https" }, { PATH: process.env.PATH });
      const r = spawnSync(helpers.askpass, ["Username for 'https://git.test:8443': "], {
        env: none,
        encoding: "utf8",
      });
      expect(r).toMatchObject({ status: 1, stdout: "" });
    });
  });

  it("the ssh helper runs ssh with no configuration file, batch mode and strict host keys", () => {
    // `ssh -G` prints the configuration ssh would use, without connecting.
    const out = execFileSync(helpers.ssh, ["-G", "git@git.test"], {
      env: {
        PATH: process.env.PATH,
        GOMIRROR_GIT_SSH_KNOWN_HOSTS: "/k/known_hosts",
        GOMIRROR_GIT_SSH_KEY: "/k/id",
      },
      encoding: "utf8",
    });
    expect(out).toMatch(/^batchmode yes$/m);
    expect(out).toMatch(/^stricthostkeychecking true$/m);
    expect(out).toMatch(/^userknownhostsfile \/k\/known_hosts$/m);
    expect(out).toMatch(/^identityfile \/k\/id$/m);
    expect(out).toMatch(/^identitiesonly yes$/m);
    expect(out).toMatch(/^passwordauthentication no$/m);
  });
});
