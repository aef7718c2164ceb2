import { spawnSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
} from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import pino from "pino";
import { parseNetrc } from "../../../lib/proxy/git/credentials";
import { loadConfig } from "../../../lib/proxy/config";
import { GitSource, ownedCacheDir } from "../../../lib/proxy/git/source";
import { buildRepos, GIT_HOST, type RepoSet } from "../../support/gitrepos";
import { type GitServer, startGitServer } from "../../support/gitserver";
import { describeWithTools } from "../../support/tools";

/**
 * The git source's behaviour around the edges, against a loopback git server: credentials,
 * refusing bad revisions before any request, size and time limits, single-flight, cleanup.
 * (Agreement with the go command's own answers is in test/e2e/git.e2e.test.ts.)
 */

const TOKEN = "s3cr3t-t0ken-value";

/**
 * Reads every process's command line (/proc/<pid>/cmdline, which other users can read too) over
 * and over while `during` runs: how many git command lines were seen, and those holding `secret`.
 */
async function watchCommandLines(
  secret: string,
  during: () => Promise<void>,
): Promise<{ git: number; withToken: string[] }> {
  const seen = { git: 0, withToken: [] as string[] };
  let watching = true;
  const watch = (async () => {
    while (watching) {
      for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
        let line: string;
        try {
          line = readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");
        } catch {
          continue;
        }
        if (/^git /.test(line)) seen.git++;
        if (line.includes(secret)) seen.withToken.push(line);
      }
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  })();
  try {
    await during();
  } finally {
    watching = false;
    await watch;
  }
  return seen;
}

describeWithTools({ bins: ["git"] }, "GitSource", () => {
  let tmp: string;
  let repos: RepoSet;

  beforeAll(() => {
    tmp = mkdtempSync(path.join(tmpdir(), "gomirror-gitsource-"));
    repos = buildRepos(tmp);
  }, 120_000);

  afterAll(() => {
    rmSync(tmp, { recursive: true, force: true });
  });

  const rewriteTo = (server: { url: string }) => [{ from: `https://${GIT_HOST}/`, to: `${server.url}/` }];

  function captureLogs(): { logger: pino.Logger; text: () => string } {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    return { logger: pino({ level: "trace" }, sink), text: () => lines.join("") };
  }

  describe("against a server that requires a token", () => {
    let server: GitServer;

    beforeAll(async () => {
      server = await startGitServer({ projectRoot: repos.root, token: TOKEN });
    });
    afterAll(() => server.close());

    it("fetches with the token from GOMIRROR_NETRC content", async () => {
      const logs = captureLogs();
      const source = GitSource.fromConfig(
        loadConfig({
          env: {
            GOMIRROR_GIT_REWRITE: `https://${GIT_HOST}/=${server.url}/`,
            GOMIRROR_NETRC: `machine ${GIT_HOST}\nlogin gomirror\npassword ${TOKEN}\n`,
            GOMIRROR_GIT_CACHE: path.join(tmp, "cache-netrc"),
          },
          argv: [],
        }),
        logs.logger,
      );
      let commandLines: { git: number; withToken: string[] };
      try {
        commandLines = await watchCommandLines(TOKEN, async () => {
          const info = await source.info(`${GIT_HOST}/private.git`, "v1.0.0");
          expect(info.Version).toBe("v1.0.0");
          expect(info.Time).toBe("2024-06-01T10:00:00Z");
          const zip = await source.zip(`${GIT_HOST}/private.git`, "v1.0.0");
          zip.body.resume();
          await new Promise((resolve) => zip.body.on("close", resolve));
        });
      } finally {
        await source.close();
      }
      // git ran while every command line was watched, and none of them held the token.
      expect(commandLines.git).toBeGreaterThan(0);
      expect(commandLines.withToken).toEqual([]);
      // git asks for credentials once the server challenges it: the unauthenticated first request
      // of each git command gets 401, every later one carries the token and is accepted.
      expect(server.requests.some((r) => r.authorized && r.status === 200)).toBe(true);
      expect(server.requests.filter((r) => r.authorized).every((r) => r.status !== 401)).toBe(true);
      expect(logs.text()).not.toContain(TOKEN);
      expect(logs.text()).not.toContain(Buffer.from(`gomirror:${TOKEN}`).toString("base64"));
    });

    it("fails with a clear error naming the host and NETRC without the token, and never leaks it", async () => {
      const logs = captureLogs();
      const source = new GitSource({ rewrite: rewriteTo(server), logger: logs.logger });
      try {
        const err = await source.list(`${GIT_HOST}/private.git`).catch((e: unknown) => e);
        expect(err).toMatchObject({ kind: "forbidden" });
        expect((err as Error).message).toMatch(/refused access: credentials for git\.example\.test.*NETRC/);
      } finally {
        await source.close();
      }
      expect(logs.text()).toContain("upstream_error");
    });

    it("keeps a wrong token out of errors and logs", async () => {
      const logs = captureLogs();
      const wrong = "wr0ng-t0ken-value";
      const source = new GitSource({
        rewrite: rewriteTo(server),
        credentials: parseNetrc(`machine ${GIT_HOST} login gomirror password ${wrong}`),
        logger: logs.logger,
      });
      try {
        const err = (await source
          .info(`${GIT_HOST}/private.git`, "v1.0.0")
          .catch((e: unknown) => e)) as Error;
        expect(err).toMatchObject({ kind: "forbidden" });
        expect(err.message).not.toContain(wrong);
      } finally {
        await source.close();
      }
      expect(logs.text()).not.toContain(wrong);
    });

    it("takes credentials from user info in a rewrite target, keeping them off command lines, disk and logs", async () => {
      const logs = captureLogs();
      const target = new URL(server.url);
      target.username = "gomirror";
      target.password = TOKEN;
      const workDir = path.join(tmp, "cache-userinfo");
      const source = new GitSource({
        rewrite: [{ from: `https://${GIT_HOST}/`, to: target.toString() }],
        logger: logs.logger,
        workDir,
      });
      let commandLines: { git: number; withToken: string[] };
      try {
        commandLines = await watchCommandLines(TOKEN, async () => {
          expect(await source.list(`${GIT_HOST}/private.git`)).toEqual(["v1.0.0"]);
        });
      } finally {
        await source.close();
      }
      expect(commandLines.git).toBeGreaterThan(0);
      expect(commandLines.withToken).toEqual([]);
      expect(logs.text()).not.toContain(TOKEN);
      // grep exits 1 when no file holds the token.
      expect(spawnSync("grep", ["-rl", TOKEN, workDir], { encoding: "utf8" })).toMatchObject({
        status: 1,
        stdout: "",
      });
    });
  });

  describe("against an open server", () => {
    let server: GitServer;
    let source: GitSource;
    let workDir: string;

    beforeAll(async () => {
      server = await startGitServer({
        projectRoot: repos.root,
        goImports: [{ prefix: "vanity.test/hellosub", repoURL: `https://${GIT_HOST}/hello`, subdir: "sub" }],
      });
      workDir = path.join(tmp, "work-open");
      source = new GitSource({
        rewrite: [...rewriteTo(server), { from: "https://vanity.test/", to: `${server.url}/` }],
        workDir,
      });
    });
    afterAll(async () => {
      await source.close();
      await server.close();
    });
    beforeEach(() => server.resetRequests());

    it.each([
      ["-u"],
      ["--upload-pack=touch /tmp/pwned"],
      ["../../etc/passwd"],
      ["v1.0.0/../../x"],
      ["v1.0.0\u0000"],
      ["a".repeat(300)],
      ["HEAD@{1}"],
      ["main.lock"],
      [".hidden"],
      ["x;rm -rf /"],
    ])("refuses the revision %j before any request", async (bad) => {
      const modulePath = `${GIT_HOST}/hello.git`;
      await expect(source.info(modulePath, bad)).rejects.toMatchObject({ kind: "invalid" });
      await expect(source.mod(modulePath, bad)).rejects.toMatchObject({ kind: "invalid" });
      await expect(source.zip(modulePath, bad)).rejects.toMatchObject({ kind: "invalid" });
      expect(server.requests).toEqual([]);
    });

    it("answers a branch, a version prefix and @latest", async () => {
      const main = await source.info(`${GIT_HOST}/hello.git`, "main");
      expect(main.Version).toMatch(/^v1\.1\.1-0\.20240103100000-[0-9a-f]{12}$/);
      expect((await source.info(`${GIT_HOST}/hello.git`, "v1.0")).Version).toBe("v1.0.0");
      expect((await source.info(`${GIT_HOST}/hello.git`, "v1")).Version).toBe("v1.1.0");
      expect((await source.latest(`${GIT_HOST}/hello.git`)).Version).toBe("v1.1.0");
      expect((await source.latest(`${GIT_HOST}/group/sub/proj.git`)).Version).toBe("v0.2.0-rc.1");
    });

    it("answers @latest of an untagged module with the default branch head's pseudo-version", async () => {
      const info = await source.latest(`${GIT_HOST}/untagged.git`);
      expect(info.Version).toMatch(/^v0\.0\.0-20240702100000-[0-9a-f]{12}$/);
      expect(await source.list(`${GIT_HOST}/untagged.git`)).toEqual([]);
    });

    it("says not-found for a major version the repository does not hold", async () => {
      await expect(source.latest(`${GIT_HOST}/hello.git/v3`)).rejects.toMatchObject({ kind: "not-found" });
      await expect(source.info(`${GIT_HOST}/hello.git/v3`, "main")).rejects.toMatchObject({
        kind: "not-found",
      });
    });

    it("serves a module rooted in a go-import subdirectory (fourth field) with its tag prefix", async () => {
      expect(await source.list("vanity.test/hellosub")).toEqual(["v0.1.0"]);
      const info = await source.info("vanity.test/hellosub", "v0.1.0");
      expect(info.Origin).toMatchObject({
        URL: `https://${GIT_HOST}/hello`,
        Subdir: "sub",
        Ref: "refs/tags/sub/v0.1.0",
      });
      expect((await source.info("vanity.test/hellosub", "main")).Version).toMatch(
        /^v0\.1\.1-0\.20240103100000-/,
      );
      const zip = await source.zip("vanity.test/hellosub", "v0.1.0");
      const chunks: Buffer[] = [];
      for await (const c of zip.body) chunks.push(c as Buffer);
      const names = Buffer.concat(chunks).toString("latin1");
      expect(names).toContain("vanity.test/hellosub@v0.1.0/sub.go");
      expect(names).toContain("vanity.test/hellosub@v0.1.0/LICENSE");
      expect(Buffer.concat(chunks).length).toBe(zip.size);
    });

    it("says not-found for a repository the server does not have", async () => {
      await expect(source.list(`${GIT_HOST}/missing.git`)).rejects.toMatchObject({ kind: "not-found" });
    });

    it("says not-found for an unknown revision", async () => {
      await expect(source.info(`${GIT_HOST}/hello.git`, "no-such-branch")).rejects.toMatchObject({
        kind: "not-found",
      });
      await expect(source.info(`${GIT_HOST}/hello.git`, "v9.9.9")).rejects.toMatchObject({
        kind: "not-found",
      });
    });

    it("serves a module without go.mod with a synthesised one", async () => {
      expect((await source.mod(`${GIT_HOST}/legacy.git`, "v1.0.0")).toString()).toBe(
        `module ${GIT_HOST}/legacy.git\n`,
      );
    });

    it("answers identical concurrent requests once: one ref listing and one fetch", async () => {
      const fresh = new GitSource({ rewrite: rewriteTo(server) });
      try {
        const results = await Promise.all(
          Array.from({ length: 5 }, () => fresh.info(`${GIT_HOST}/major.git/v2`, "v2.0.0")),
        );
        expect(new Set(results.map((r) => r.Version))).toEqual(new Set(["v2.0.0"]));
      } finally {
        await fresh.close();
      }
      const commands = server.requests.filter((r) => r.method === "POST").map((r) => r.command);
      // ls-remote, then git fetch (which lists the refs it wants, then fetches).
      expect(commands).toEqual(["ls-refs", "ls-refs", "fetch"]);
    });

    it("fetches the refs that cold requests for different versions ask for meanwhile together", async () => {
      const fresh = new GitSource({ rewrite: rewriteTo(server) });
      const versions = ["v1.0.0", "v1.1.0", "v1.2.0", "v1.3.0", "v1.4.0", "v1.5.0"];
      try {
        const infos = await Promise.all(versions.map((v) => fresh.info(`${GIT_HOST}/tags.git`, v)));
        expect(infos.map((i) => i.Version)).toEqual(versions);
        const mods = await Promise.all(versions.map((v) => fresh.mod(`${GIT_HOST}/tags.git`, v)));
        expect(mods.map((m) => m.toString())).toEqual(versions.map(() => `module ${GIT_HOST}/tags.git\n`));
      } finally {
        await fresh.close();
      }
      const fetches = server.requests.filter((r) => r.command === "fetch");
      expect(fetches.length).toBeGreaterThan(0);
      expect(fetches.length).toBeLessThan(versions.length);
    });

    it("removes its own work directory on close", async () => {
      const own = new GitSource({ rewrite: rewriteTo(server) });
      await own.list(`${GIT_HOST}/major.git`);
      await own.info(`${GIT_HOST}/major.git`, "v1.0.0");
      const dir = (own as unknown as { workDir: string }).workDir;
      expect(existsSync(dir)).toBe(true);
      await own.close();
      expect(existsSync(dir)).toBe(false);
    });
  });

  describe("the default git cache, in the shared temporary directory", () => {
    it("is created for this user only", () => {
      const dir = path.join(mkdtempSync(path.join(tmp, "tmpdir-")), "gomirror-git-test");
      expect(ownedCacheDir(dir)).toBe(dir);
      expect(statSync(dir).mode & 0o777).toBe(0o700);
      expect(ownedCacheDir(dir)).toBe(dir);
    });

    it("is refused when someone else could have prepared it: a symlink, or writable by others", () => {
      const linked = path.join(mkdtempSync(path.join(tmp, "tmpdir-")), "gomirror-git-test");
      symlinkSync(mkdtempSync(path.join(tmp, "elsewhere-")), linked);
      expect(() => ownedCacheDir(linked)).toThrow(
        /must be a directory of this user .* set GOMIRROR_GIT_CACHE/,
      );
      const open = path.join(mkdtempSync(path.join(tmp, "tmpdir-")), "gomirror-git-test");
      mkdirSync(open);
      chmodSync(open, 0o777);
      expect(() => ownedCacheDir(open)).toThrow(/no one else can write/);
    });
  });

  it("gives up on a git server that does not answer in time", async () => {
    const sockets = new Set<import("node:net").Socket>();
    const silent = http.createServer(() => undefined);
    silent.on("connection", (s) => sockets.add(s));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    const source = new GitSource({
      rewrite: [{ from: `https://${GIT_HOST}/`, to: `${url}/` }],
      timeoutMs: 300,
    });
    try {
      const started = Date.now();
      const err = await source.list(`${GIT_HOST}/hello.git`).catch((e: unknown) => e);
      expect(err).toMatchObject({ kind: "upstream" });
      expect((err as Error).message).toMatch(/timed out/);
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      await source.close();
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});
