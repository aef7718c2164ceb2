import { execFile } from "node:child_process";
import {
  chmodSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { runTokenCommand } from "../../bin/token";
import { TokenTable } from "../../lib/proxy/auth/token-file";

const ROOT = path.resolve(__dirname, "../..");

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function token(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  let stdout = "";
  let stderr = "";
  const code = await runTokenCommand(args, {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    env,
  });
  return { code, stdout, stderr };
}

describe("gomirror token", () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "gomirror-token-cli-"));
    file = path.join(dir, "tokens");
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("add creates the file with mode 0600, prints only the token on stdout, and stores only its hash", async () => {
    const run = await token(["add", "--file", file, "--name", "ci"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^gmt_[0-9a-f]{16}_[A-Za-z0-9_-]{43}\n$/);
    expect(run.stderr).toMatch(/added token "ci" \(id [0-9a-f]{16}, scopes \* \(every path\)\)/);
    expect(run.stderr).toMatch(/shown only this once/);
    const tokenText = run.stdout.trim();
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const text = readFileSync(file, "utf8");
    expect(text).not.toContain(tokenText);
    expect(text).not.toContain(tokenText.slice(21));
    expect(TokenTable.parse(text).verify(tokenText)?.name).toBe("ci");
  });

  it("add appends, keeps comments and refuses a name that exists", async () => {
    const first = await token(["add", "--file", file, "--name", "ci"]);
    writeFileSync(file, `${readFileSync(file, "utf8")}# kept by hand`);
    const second = await token([
      "add",
      "--file",
      file,
      "--name",
      "dev",
      "--scope",
      "corp.example/a/*",
      "--scope",
      "corp.example/c",
    ]);
    expect(second.code).toBe(0);
    const text = readFileSync(file, "utf8");
    expect(text).toContain("# kept by hand\n");
    const table = TokenTable.parse(text);
    expect(table.verify(first.stdout.trim())?.name).toBe("ci");
    expect(table.verify(second.stdout.trim())?.scopes).toBe("corp.example/a/*,corp.example/c");

    const again = await token(["add", "--file", file, "--name", "ci"]);
    expect(again).toEqual({
      code: 1,
      stdout: "",
      stderr: expect.stringContaining('already has a token named "ci"'),
    });
  });

  it("list shows names, ids and scopes, never a token or a hash", async () => {
    const ci = await token(["add", "--file", file, "--name", "ci", "--scope", "corp.example/a/*"]);
    await token(["add", "--file", file, "--name", "dev"]);
    const run = await token(["list", "--file", file]);
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^NAME\s+ID\s+SCOPES$/);
    expect(lines[1]).toMatch(/^ci\s+[0-9a-f]{16}\s+corp\.example\/a\/\*$/);
    expect(lines[2]).toMatch(/^dev\s+[0-9a-f]{16}\s+\* \(every path\)$/);
    const [record] = TokenTable.parse(readFileSync(file, "utf8")).records();
    expect(run.stdout).not.toContain(record.hash);
    expect(run.stdout).not.toContain(ci.stdout.trim().slice(21));
  });

  it("revoke removes the named token only, keeping mode 0600 and the other lines", async () => {
    const ci = await token(["add", "--file", file, "--name", "ci"]);
    const dev = await token(["add", "--file", file, "--name", "dev"]);
    chmodSync(file, 0o644);
    const run = await token(["revoke", "--file", file, "--name", "ci"]);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/^revoked token "ci" \(id [0-9a-f]{16}\)/);
    const text = readFileSync(file, "utf8");
    const table = TokenTable.parse(text);
    expect(table.verify(ci.stdout.trim())).toBeUndefined();
    expect(table.verify(dev.stdout.trim())?.name).toBe("dev");
    expect(text.startsWith("# gomirror token file")).toBe(true);
    expect(text.endsWith("\n")).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    // Nothing left behind by the atomic write.
    expect(readdirSync(dir)).toEqual(["tokens"]);

    expect(await token(["revoke", "--file", file, "--name", "ci"])).toEqual({
      code: 1,
      stdout: "",
      stderr: expect.stringContaining('has no token named "ci"'),
    });
  });

  it("edits the file a symlink points to, leaving the link in place", async () => {
    const real = path.join(dir, "real-tokens");
    symlinkSync(real, file);
    expect((await token(["add", "--file", file, "--name", "ci"])).code).toBe(0);
    expect(TokenTable.parse(readFileSync(real, "utf8")).size).toBe(1);
    expect(readdirSync(dir).sort()).toEqual(["real-tokens", "tokens"]);
  });

  it("refuses to touch a file that is not a token file", async () => {
    writeFileSync(file, "machine example.com login x password y\n");
    const run = await token(["add", "--file", file, "--name", "ci"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`${file} is not a valid token file: line 1 has 6 fields`);
    expect(readFileSync(file, "utf8")).toBe("machine example.com login x password y\n");
  });

  it("takes the file from GOMIRROR_AUTH_FILE when --file is not given", async () => {
    const run = await token(["add", "--name", "ci"], { GOMIRROR_AUTH_FILE: file });
    expect(run.code).toBe(0);
    expect(TokenTable.parse(readFileSync(file, "utf8")).size).toBe(1);
  });

  it("answers wrong usage with exit status 2 and a clear message", async () => {
    const cases: [string[], string][] = [
      [[], "want a subcommand: add, list or revoke"],
      [["frob", "--file", file], 'unknown subcommand "frob"'],
      [["add", "--name", "ci"], "want --file (or GOMIRROR_AUTH_FILE)"],
      [["add", "--file", file], "add wants --name"],
      [["add", "--file", file, "--name", "a b"], 'token name "a b" is not allowed'],
      [
        ["add", "--file", file, "--name", "ci", "--scope", "corp.example/[a"],
        'scope "corp.example/[a" is not a valid pattern',
      ],
      [["list", "--file", file, "--name", "ci"], "list takes no --name"],
      [["revoke", "--file", file, "--name", "ci", "--scope", "x"], "revoke takes no --scope"],
      [["add", "--file", file, "--name", "ci", "extra"], 'unexpected argument "extra"'],
      [["add", "--bogus"], "Unknown option '--bogus'"],
    ];
    for (const [args, message] of cases) {
      const run = await token(args);
      expect({ args, code: run.code, stdout: run.stdout }).toEqual({ args, code: 2, stdout: "" });
      expect(run.stderr).toContain(message);
    }
    expect(readdirSync(dir)).toEqual([]);
  });

  it("prints its help", async () => {
    const run = await token(["--help"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("gomirror token add --file F --name NAME [--scope PATTERNS]");
    expect(run.stdout).toContain("gomirror token revoke --file F --name NAME");
  });

  it("is reached through the gomirror command, with its exit status", async () => {
    const gomirror = (args: string[]) =>
      promisify(execFile)(
        process.execPath,
        ["-r", "ts-node/register/transpile-only", "bin/gomirror.ts", ...args],
        {
          cwd: ROOT,
          env: { PATH: process.env.PATH },
        },
      );
    expect((await token(["add", "--file", file, "--name", "ci"])).code).toBe(0);
    await expect(gomirror(["token", "revoke", "--file", file, "--name", "nobody"])).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining('has no token named "nobody"'),
    });
  }, 60_000);
});
