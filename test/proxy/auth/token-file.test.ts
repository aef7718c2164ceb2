import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { formatRecord, generateToken } from "../../../lib/proxy/auth/token";
import { TokenFile, TokenTable } from "../../../lib/proxy/auth/token-file";
import { LogCapture } from "../../support/log-capture";

const made = (name: string, scopes = "") => generateToken(name, scopes);
const fileOf = (...records: ReturnType<typeof made>[]) =>
  `# tokens\n\n${records.map((m) => formatRecord(m.record)).join("\n")}\n`;

describe("TokenTable.parse", () => {
  it("reads records, skipping comments and blank lines", () => {
    const a = made("alice");
    const b = made("bob", "corp.example/b/*");
    const table = TokenTable.parse(
      `# header\n\n  ${formatRecord(a.record)}\n# more\n${formatRecord(b.record)}`,
    );
    expect(table.size).toBe(2);
    expect(table.verify(a.token)?.name).toBe("alice");
    expect(table.verify(b.token)?.scopes).toBe("corp.example/b/*");
    expect(table.verify(made("carol").token)).toBeUndefined();
  });

  it("names the line that is malformed or repeats a name or an id", () => {
    const a = made("alice");
    expect(() => TokenTable.parse(`# x\n${formatRecord(a.record)}\nbroken line`)).toThrow(
      "line 3 has 2 fields; want 5: id name scopes salt hash",
    );
    const again = { ...made("alice").record };
    expect(() => TokenTable.parse(`${formatRecord(a.record)}\n${formatRecord(again)}`)).toThrow(
      'line 2 repeats the name "alice"',
    );
    const sameId = { ...made("bob").record, id: a.record.id };
    expect(() => TokenTable.parse(`${formatRecord(a.record)}\n${formatRecord(sameId)}`)).toThrow(
      "line 2 repeats the id of an earlier line",
    );
  });

  it("accepts an empty file: no token is valid then", () => {
    expect(TokenTable.parse("# nothing yet\n").size).toBe(0);
  });
});

describe("TokenFile: re-read while the proxy runs", () => {
  let dir: string;
  let log: LogCapture;
  let opened: TokenFile[];

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "gomirror-tokens-"));
    log = new LogCapture();
    opened = [];
  });
  afterEach(() => {
    for (const f of opened) f.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Replaces the file as gomirror token does: a new file renamed over the old one. */
  const replace = (file: string, text: string): void => {
    writeFileSync(`${file}.tmp`, text);
    renameSync(`${file}.tmp`, file);
  };
  const open = async (file: string, intervalMs = 60_000): Promise<TokenFile> => {
    const f = await TokenFile.open(file, { logger: log.logger, intervalMs });
    opened.push(f);
    return f;
  };

  it("takes added and revoked tokens into account at the next look", async () => {
    const file = path.join(dir, "tokens");
    const a = made("alice");
    const b = made("bob");
    writeFileSync(file, fileOf(a));
    const tokens = await open(file);
    expect(tokens.verify(a.token)?.name).toBe("alice");
    expect(tokens.verify(b.token)).toBeUndefined();

    replace(file, fileOf(a, b));
    await tokens.check();
    expect(tokens.verify(b.token)?.name).toBe("bob");

    replace(file, fileOf(b));
    await tokens.check();
    expect(tokens.verify(a.token)).toBeUndefined();
    expect(tokens.verify(b.token)?.name).toBe("bob");
    expect(log.events("auth_file_loaded").map((l) => l.tokens)).toEqual([1, 2, 1]);
  });

  it("notices a change by itself within the poll interval", async () => {
    const file = path.join(dir, "tokens");
    const a = made("alice");
    writeFileSync(file, fileOf(a));
    const tokens = await open(file, 50);
    replace(file, fileOf());
    const deadline = Date.now() + 5000;
    while (tokens.verify(a.token) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(tokens.verify(a.token)).toBeUndefined();
  });

  it("keeps the last good table when the file turns malformed, and logs why without its content", async () => {
    const file = path.join(dir, "tokens");
    const a = made("alice");
    writeFileSync(file, fileOf(a));
    const tokens = await open(file, 50);
    const pasted = made("bob").token;
    replace(file, `${formatRecord(a.record)}\n${pasted}\n`);
    const deadline = Date.now() + 5000;
    while (log.events("auth_file_invalid").length === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(log.events("auth_file_invalid")).toEqual([
      expect.objectContaining({
        file,
        tokens: 1,
        reason: expect.stringMatching(/^line 2 holds a token itself/),
      }),
    ]);
    expect(tokens.verify(a.token)?.name).toBe("alice");
    expect(log.text).not.toContain(pasted);
    expect(log.text).not.toContain(a.record.hash);

    // Fixed: read again.
    replace(file, fileOf());
    await tokens.check();
    expect(tokens.verify(a.token)).toBeUndefined();
  });

  it("keeps the last good table when the file disappears", async () => {
    const file = path.join(dir, "tokens");
    const a = made("alice");
    writeFileSync(file, fileOf(a));
    const tokens = await open(file);
    rmSync(file);
    await expect(tokens.check()).rejects.toMatchObject({ code: "ENOENT" });
    expect(tokens.verify(a.token)?.name).toBe("alice");
  });

  it("follows a Kubernetes Secret volume update (the ..data symlink swapped to a new directory)", async () => {
    const a = made("alice");
    const b = made("bob");
    const version = (name: string, text: string): void => {
      mkdirSync(path.join(dir, name));
      writeFileSync(path.join(dir, name, "tokens"), text);
    };
    version("..2024_01_01", fileOf(a));
    symlinkSync("..2024_01_01", path.join(dir, "..data"));
    symlinkSync("..data/tokens", path.join(dir, "tokens"));
    const tokens = await open(path.join(dir, "tokens"));
    expect(tokens.verify(a.token)?.name).toBe("alice");

    version("..2024_01_02", fileOf(b));
    symlinkSync("..2024_01_02", path.join(dir, "..data_tmp"));
    renameSync(path.join(dir, "..data_tmp"), path.join(dir, "..data"));
    rmSync(path.join(dir, "..2024_01_01"), { recursive: true });
    await tokens.check();
    expect(tokens.verify(a.token)).toBeUndefined();
    expect(tokens.verify(b.token)?.name).toBe("bob");
  });

  it("refuses to start with a missing or malformed file, naming the setting", async () => {
    await expect(open(path.join(dir, "missing"))).rejects.toThrow(
      /^GOMIRROR_AUTH_FILE=".*missing": cannot read it \(ENOENT\)$/,
    );
    const bad = path.join(dir, "bad");
    writeFileSync(bad, "nonsense\n");
    await expect(open(bad)).rejects.toThrow(/GOMIRROR_AUTH_FILE=".*bad": line 1 has 1 fields/);
  });
});
