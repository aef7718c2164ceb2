import http from "node:http";
import type { AddressInfo } from "node:net";
import { noCredentials, parseNetrc } from "../../../lib/proxy/git/credentials";
import { discoverRepo, parseMetaGoImports, staticRoot } from "../../../lib/proxy/git/discovery";

/** Finding a module's repository: the well-known layouts, and go-get meta tags over loopback. */

interface Seen {
  readonly host: string;
  readonly path: string;
  readonly authorization?: string;
}

async function serve(handler: (req: http.IncomingMessage, res: http.ServerResponse) => void) {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    seen.push({
      host: req.headers.host ?? "",
      path: req.url ?? "",
      authorization: req.headers.authorization,
    });
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const page = (...contents: string[]) =>
  `<html><head>${contents.map((c) => `<meta name="go-import" content="${c}">`).join("\n")}</head><body><meta name="go-import" content="late.test/x git https://late.test/x"></body></html>`;

describe("staticRoot", () => {
  it("takes host/owner/repo on github.com and bitbucket.org", () => {
    expect(staticRoot("github.com/owner/repo/sub/pkg", ["github.com", "bitbucket.org"])).toEqual({
      root: "github.com/owner/repo",
      repoURL: "https://github.com/owner/repo",
      subdir: "",
    });
    expect(staticRoot("bitbucket.org/team/repo", ["github.com", "bitbucket.org"])?.root).toBe(
      "bitbucket.org/team/repo",
    );
  });

  it("takes configured hosts with the same layout", () => {
    expect(staticRoot("git.corp.test/team/app/v2", ["git.corp.test"])?.repoURL).toBe(
      "https://git.corp.test/team/app",
    );
  });

  it("refuses a short path or a VCS suffix on such a host", () => {
    expect(() => staticRoot("github.com/owner", ["github.com"])).toThrow(/invalid github\.com import path/);
    expect(() => staticRoot("github.com/owner/repo.git", ["github.com"])).toThrow(
      /invalid version control suffix/,
    );
  });

  it("finds the root at a .git qualifier, with the repository URL spelled without it (as the go command does)", () => {
    expect(staticRoot("git.example.test/team/hello.git/sub/v2", [])).toEqual({
      root: "git.example.test/team/hello.git",
      repoURL: "https://git.example.test/team/hello",
      subdir: "",
    });
    expect(() => staticRoot("hg.example.test/repo.hg/x", [])).toThrow(/only git/);
  });

  it("leaves everything else to go-get", () => {
    expect(staticRoot("git.example.test/group/sub/proj", ["github.com"])).toBeUndefined();
  });
});

describe("parseMetaGoImports", () => {
  it("reads tags in the head only, lists mod entries first and drops entries superseded by one", () => {
    const imports = parseMetaGoImports(
      `<!DOCTYPE html><html><head><META NAME="go-import" CONTENT="a.test/x git https://a.test/x.git">` +
        `<meta name="go-import" content="a.test/x mod https://proxy.a.test">` +
        `<meta name='go-import' content='a.test/y git https://a.test/y sub/dir'>` +
        `<meta name="go-import" content="a.test/z git">` +
        `<meta name="go-import" content="a.test/q git https://a.test/q?x=1&amp;y=2">` +
        `</head><body><meta name="go-import" content="a.test/late git https://a.test/late"></body></html>`,
    );
    expect(imports).toEqual([
      { prefix: "a.test/x", vcs: "mod", repoRoot: "https://proxy.a.test", subdir: "" },
      { prefix: "a.test/y", vcs: "git", repoRoot: "https://a.test/y", subdir: "sub/dir" },
      { prefix: "a.test/q", vcs: "git", repoRoot: "https://a.test/q?x=1&y=2", subdir: "" },
    ]);
  });
});

describe("discoverRepo through go-get", () => {
  it("follows the go-import tag and confirms a shorter prefix with the prefix's own page", async () => {
    const srv = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "text/html" });
      res.end(page("vanity.test/tool git https://git.example.test/tool.git"));
    });
    try {
      const root = await discoverRepo("vanity.test/tool/cmd/v2", {
        rewrite: [{ from: "https://vanity.test/", to: `${srv.url}/` }],
        credentials: noCredentials,
        timeoutMs: 5000,
      });
      expect(root).toEqual({
        root: "vanity.test/tool",
        repoURL: "https://git.example.test/tool.git",
        subdir: "",
      });
      expect(srv.seen.map((s) => s.path)).toEqual(["/tool/cmd/v2?go-get=1", "/tool?go-get=1"]);
    } finally {
      await srv.close();
    }
  });

  it("returns the go-import subdirectory (fourth field)", async () => {
    const srv = await serve((_req, res) =>
      res.end(page("vanity.test/mono git https://git.example.test/mono go/lib")),
    );
    try {
      const root = await discoverRepo("vanity.test/mono", {
        rewrite: [{ from: "https://vanity.test/", to: `${srv.url}/` }],
        credentials: noCredentials,
        timeoutMs: 5000,
      });
      expect(root.subdir).toBe("go/lib");
    } finally {
      await srv.close();
    }
  });

  it("refuses when the prefix's page disagrees, when several tags match, and for mod or non-git entries", async () => {
    const srv = await serve((req, res) => {
      const p = req.url ?? "";
      if (p.startsWith("/liar"))
        res.end(
          page(
            p.startsWith("/liar/x")
              ? "vanity.test/liar git https://evil.test/r"
              : "vanity.test/liar git https://good.test/r",
          ),
        );
      else if (p.startsWith("/multi"))
        res.end(page("vanity.test/multi git https://a.test/1", "vanity.test/multi/x git https://a.test/2"));
      else if (p.startsWith("/proxied")) res.end(page("vanity.test/proxied mod https://proxy.test"));
      else if (p.startsWith("/hg")) res.end(page("vanity.test/hg hg https://hg.test/r"));
      else {
        res.writeHead(404);
        res.end("nothing here");
      }
    });
    const options = {
      rewrite: [{ from: "https://vanity.test/", to: `${srv.url}/` }],
      credentials: noCredentials,
      timeoutMs: 5000,
    };
    try {
      await expect(discoverRepo("vanity.test/liar/x", options)).rejects.toThrow(
        /disagree about go-import for vanity\.test\/liar/,
      );
      await expect(discoverRepo("vanity.test/multi/x", options)).rejects.toThrow(/multiple meta tags match/);
      await expect(discoverRepo("vanity.test/proxied", options)).rejects.toMatchObject({ kind: "not-found" });
      await expect(discoverRepo("vanity.test/hg", options)).rejects.toThrow(/only git/);
      await expect(discoverRepo("vanity.test/none", options)).rejects.toMatchObject({ kind: "not-found" });
    } finally {
      await srv.close();
    }
  });

  it("sends credentials to the module's host but never across a redirect to another host", async () => {
    const other = await serve((_req, res) =>
      res.end(page("vanity.test/moved git https://git.example.test/moved")),
    );
    const first = await serve((req, res) => {
      res.writeHead(302, { location: `http://localhost:${other.port}${req.url}` });
      res.end();
    });
    try {
      const root = await discoverRepo("vanity.test/moved", {
        rewrite: [{ from: "https://vanity.test/", to: `${first.url}/` }],
        credentials: parseNetrc(
          "machine vanity.test login me password sekret\nmachine localhost login me password sekret\n",
        ),
        timeoutMs: 5000,
      });
      expect(root.repoURL).toBe("https://git.example.test/moved");
      expect(first.seen[0].authorization).toMatch(/^Basic /);
      expect(other.seen.length).toBeGreaterThan(0);
      expect(other.seen.every((s) => s.authorization === undefined)).toBe(true);
    } finally {
      await first.close();
      await other.close();
    }
  });

  it("stops after 10 redirects", async () => {
    const loop = await serve((req, res) => {
      res.writeHead(302, { location: req.url ?? "/" });
      res.end();
    });
    try {
      await expect(
        discoverRepo("vanity.test/loop", {
          rewrite: [{ from: "https://vanity.test/", to: `${loop.url}/` }],
          credentials: noCredentials,
          timeoutMs: 5000,
        }),
      ).rejects.toThrow(/stopped after 10 redirects/);
      expect(loop.seen.length).toBe(11);
    } finally {
      await loop.close();
    }
  });
});
