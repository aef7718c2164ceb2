import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { runWarmCommand } from "../../bin/warm";

async function warm(args: string[], env: NodeJS.ProcessEnv = {}) {
  let stdout = "";
  let stderr = "";
  const code = await runWarmCommand(args, {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    env,
    progress: false,
  });
  return { code, stdout, stderr };
}

describe("gomirror warm: usage", () => {
  it.each([
    [["example.test/a@v1.0.0"], /give --mirror URL .* or --storage LOCATION/],
    [["--mirror", "http://m.example.test", "--storage", "/tmp/x", "example.test/a@v1.0.0"], /one of them/],
    [
      ["--mirror", "http://m.example.test", "--goproxy", "off", "example.test/a@v1.0.0"],
      /--goproxy is a proxy setting/,
    ],
    [["--mirror", "http://m.example.test"], /nothing to warm/],
    [
      ["--mirror", "http://m.example.test", "no-such-file"],
      /"no-such-file" is neither a file nor module@version/,
    ],
    [["--mirror", "ftp://m.example.test", "example.test/a@v1.0.0"], /want an http\(s\) URL/],
    [["--mirror", "http://m.example.test", "--jobs", "0", "example.test/a@v1.0.0"], /--jobs "0"/],
    [["--mirror", "http://m.example.test", "Not A Path@v1.0.0"], /malformed|invalid/],
  ])("refuses %j with exit status 2", async (args, message) => {
    const run = await warm(args);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
  });
});

describe("gomirror warm --mirror: credentials", () => {
  let server: http.Server;
  let url: string;
  let seen: (string | undefined)[];
  let dir: string;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      seen.push(req.headers.authorization);
      res.writeHead(404).end("not found\n");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    dir = mkdtempSync(path.join(tmpdir(), "gomirror-warm-netrc-"));
  });
  beforeEach(() => (seen = []));
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it("sends GOMIRROR_TOKEN as Bearer, and never shows it", async () => {
    const run = await warm(["--mirror", url, "example.test/a@v1.0.0"], { GOMIRROR_TOKEN: "gmt_secret" });
    expect(seen).toEqual(["Bearer gmt_secret"]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain("FAIL example.test/a@v1.0.0 info: the mirror answered 404: not found");
    expect(run.stdout + run.stderr).not.toContain("gmt_secret");
  });

  it("else sends the netrc entry of the mirror's host as Basic, as the go command does", async () => {
    const netrc = path.join(dir, "netrc");
    writeFileSync(
      netrc,
      "machine other.example.test login x password y\nmachine 127.0.0.1 login ci password gmt_fromnetrc\n",
    );
    await warm(["--mirror", url, "example.test/a@v1.0.0"], { NETRC: netrc });
    expect(seen).toEqual([`Basic ${Buffer.from("ci:gmt_fromnetrc").toString("base64")}`]);
  });

  it("sends nothing without a token or a netrc entry", async () => {
    await warm(["--mirror", url, "example.test/a@v1.0.0"], { HOME: dir });
    expect(seen).toEqual([undefined]);
  });
});
