import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { addToken, revokeToken } from "../../lib/proxy/auth/token-store";
import { RepoBuilder } from "../support/gitrepos";
import { startGitServer, type GitServer } from "../support/gitserver";
import { createGoWorkspace, expectGoSuccess, removeTree, type GoWorkspace } from "../support/gocmd";
import { request } from "../support/http-client";
import { makeCertificate, OPENSSL, type TestCertificate } from "../support/tls";
import { describeWithTools } from "../support/tools";
import { startStaticUpstream, type StaticUpstream } from "../support/upstream";
import { startTestMirror, type TestMirror } from "./gomirror";

/**
 * Client tokens with the real go command: gomirror serves HTTPS with a throwaway certificate
 * (trusted through SSL_CERT_FILE), private modules corp.example/a/x and corp.example/b/y come
 * from a loopback git server, and each go run has a fresh HOME whose .netrc carries a token.
 * The client's GOPROXY lists another proxy after gomirror, which must never hear of a private
 * path gomirror refused.
 */

const CORP = "corp.example";

function buildCorpRepos(dir: string): string {
  const root = path.join(dir, "repos");
  for (const [name, hello] of [
    ["a/x", "hello from a/x"],
    ["b/y", "hello from b/y"],
  ]) {
    const repo = new RepoBuilder(path.join(dir, "work", name), path.join(root, `${name}.git`));
    repo
      .write("go.mod", `module ${CORP}/${name}\n\ngo 1.21\n`)
      .write(
        `${path.basename(name)}.go`,
        `package ${path.basename(name)}\n\nfunc Hello() string { return "${hello}" }\n`,
      )
      .commit("2024-01-01T10:00:00Z", "v1.0.0");
    repo.tag("v1.0.0", "");
    repo.finish();
  }
  return root;
}

describeWithTools(
  { go: true, bins: ["git", OPENSSL] },
  "client tokens with the go command over HTTPS",
  () => {
    let tmp: string;
    let git: GitServer;
    let upstream: StaticUpstream;
    let after: StaticUpstream;
    let cert: TestCertificate;
    let tokenFile: string;
    /** Tokens by name, made before gomirror starts. */
    const tokens: Record<string, string> = {};
    let mirror: TestMirror;
    const workspaces: GoWorkspace[] = [];

    /** A fresh GOPATH and HOME; with a token, a .netrc line for gomirror's host:port. */
    const workspace = (token?: string): GoWorkspace => {
      const ws = createGoWorkspace({
        goproxy: `${mirror.url},${after.url}`,
        env: { SSL_CERT_FILE: cert.certFile, GONOSUMDB: CORP },
      });
      workspaces.push(ws);
      if (token !== undefined) {
        const host = new URL(mirror.url).host;
        writeFileSync(path.join(ws.dir, ".netrc"), `machine ${host} login ci password ${token}\n`, {
          mode: 0o600,
        });
      }
      return ws;
    };

    beforeAll(async () => {
      tmp = mkdtempSync(path.join(tmpdir(), "gomirror-auth-e2e-"));
      git = await startGitServer({
        projectRoot: buildCorpRepos(tmp),
        goImports: ["a/x", "b/y"].map((name) => ({
          prefix: `${CORP}/${name}`,
          repoURL: `https://${CORP}/${name}.git`,
        })),
      });
      mkdirSync(path.join(tmp, "empty"));
      upstream = await startStaticUpstream({ root: path.join(tmp, "empty") });
      after = await startStaticUpstream({ root: path.join(tmp, "empty") });
      cert = makeCertificate(tmp);
      tokenFile = path.join(tmp, "tokens");
      tokens.builder = (await addToken(tokenFile, "builder")).token;
      tokens.leaver = (await addToken(tokenFile, "leaver")).token;
      tokens.teamA = (await addToken(tokenFile, "team-a", `${CORP}/a/*`)).token;
      mirror = await startTestMirror({
        goproxy: upstream.url,
        env: {
          GONOPROXY: CORP,
          GOMIRROR_GIT_REWRITE: `https://${CORP}/=${git.url}/`,
          GOMIRROR_AUTH_FILE: tokenFile,
          GOMIRROR_TLS_CERT: cert.certFile,
          GOMIRROR_TLS_KEY: cert.keyFile,
        },
      });
      expect(mirror.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    }, 120_000);

    afterAll(async () => {
      await mirror?.close();
      await git?.close();
      await upstream?.close();
      await after?.close();
      if (tmp) removeTree(tmp);
    });

    afterEach(() => {
      for (const ws of workspaces.splice(0)) ws.cleanup();
    });

    it("builds against a private module with a token from .netrc", async () => {
      const ws = workspace(tokens.builder);
      ws.writeMainModule({
        imports: [`${CORP}/a/x`],
        requires: [{ module: `${CORP}/a/x`, version: "v1.0.0" }],
      });
      const run = await ws.run(["run", "."]);
      expectGoSuccess(run, "go run with a token");
      expect(run.stdout).toBe("hello from a/x\n");
    });

    it("fails naming 401 without a token, and asks no one else", async () => {
      const ws = workspace();
      const run = await ws.run(["mod", "download", `${CORP}/a/x@v1.0.0`]);
      expect(run.code).not.toBe(0);
      expect(run.stderr).toMatch(/401 Unauthorized/);
      expect(after.requests).toEqual([]);
    });

    it("fails naming 401 with a revoked token", async () => {
      const token = tokens.leaver;
      expectGoSuccess(
        await workspace(token).run(["mod", "download", `${CORP}/a/x@v1.0.0`]),
        "download before revoking",
      );
      await revokeToken(tokenFile, "leaver");
      await untilRefused(token);
      const run = await workspace(token).run(["mod", "download", `${CORP}/a/x@v1.0.0`]);
      expect(run.code).not.toBe(0);
      expect(run.stderr).toMatch(/401 Unauthorized/);
      expect(run.stderr).not.toContain(token);
    }, 60_000);

    it("lets a token scoped to corp.example/a/* build against corp.example/a/x, refuses corp.example/b/y with 403, and the next proxy never sees it", async () => {
      const ws = workspace(tokens.teamA);
      ws.writeMainModule({
        imports: [`${CORP}/a/x`],
        requires: [{ module: `${CORP}/a/x`, version: "v1.0.0" }],
      });
      const built = await ws.run(["run", "."]);
      expectGoSuccess(built, "go run with a scoped token");
      expect(built.stdout).toBe("hello from a/x\n");

      git.resetRequests();
      const refused = await ws.run(["mod", "download", `${CORP}/b/y@v1.0.0`]);
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toMatch(/403 Forbidden/);
      expect(refused.stderr).toMatch(/outside the token's scopes/);
      const getB = await ws.run(["get", `${CORP}/b/y@latest`]);
      expect(getB.code).not.toBe(0);
      expect(getB.stderr).toMatch(/403 Forbidden/);

      expect(after.requests.filter((r) => r.path.includes(`${CORP}/b`))).toEqual([]);
      expect(after.requests).toEqual([]);
      // gomirror did not even fetch it from git, and told its own upstream nothing private.
      expect(git.requests.filter((r) => r.path.includes("/b/y"))).toEqual([]);
      expect(upstream.requests.filter((r) => r.path.includes(CORP))).toEqual([]);
    }, 120_000);

    /**
     * Waits until the running mirror has re-read the token file and refuses `token`. Only the
     * last probe fails, so waiting costs one failed attempt against the rate limit.
     */
    async function untilRefused(token: string): Promise<void> {
      const url = `${mirror.url}/${CORP}/a/x/@v/list`;
      const deadline = Date.now() + 10_000;
      for (;;) {
        const res = await request(url, { ca: cert.cert, headers: { authorization: `Bearer ${token}` } });
        if (res.status === 401) return;
        if (Date.now() > deadline) throw new Error(`${url} still answers ${res.status} to a revoked token`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  },
);
