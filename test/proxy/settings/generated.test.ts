import { execFile } from "node:child_process";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { replaceSection } from "../../../lib/proxy/settings/render";
import { SETTINGS } from "../../../lib/proxy/settings/schema";

/**
 * What is generated from the settings schema (the ProxySettings type, the README's and the
 * construct docs' tables) is committed; `npm run settings -- --check` fails when a committed copy
 * differs from what the schema gives now. Prettier, which the script formats with, needs ES
 * module loading that jest's sandbox lacks, so the script runs as a child process.
 */
const ROOT = path.resolve(__dirname, "../../..");
const FILES = ["lib/proxy/settings/props.ts", "README.md", "docs/aws.md", "docs/kubernetes.md"];

async function check(root: string): Promise<{ code: number; out: string }> {
  const tsNode = path.join(ROOT, "node_modules", ".bin", "ts-node");
  const args = ["--transpile-only", path.join(ROOT, "scripts", "settings.ts"), "--check", "--root", root];
  try {
    const { stdout } = await promisify(execFile)(tsNode, args, { encoding: "utf8" });
    return { code: 0, out: stdout };
  } catch (err) {
    const e = err as { code: number; stdout: string };
    return { code: e.code, out: e.stdout };
  }
}

describe("files generated from the settings schema", () => {
  let copy: string;
  beforeAll(async () => {
    copy = await mkdtemp(path.join(tmpdir(), "gomirror-settings-"));
    for (const file of [...FILES, ".prettierrc.json"]) {
      await cp(path.join(ROOT, file), path.join(copy, file), { recursive: true });
    }
  });
  afterAll(() => rm(copy, { recursive: true, force: true }));

  it("are up to date in this checkout (run `npm run settings` if not)", async () => {
    expect(await check(ROOT)).toEqual({ code: 0, out: "" });
  }, 60_000);

  it("a stale table is noticed and named", async () => {
    const readme = path.join(copy, "README.md");
    const text = await readFile(readme, "utf8");
    await writeFile(readme, replaceSection(text, "settings", "| variable |\n| --- |\n| `GOPROXY` |"));
    expect(await check(copy)).toEqual({ code: 1, out: "stale: README.md (run npm run settings)\n" });
  }, 60_000);

  it("the tables list every setting and every construct prop", async () => {
    const readme = await readFile(path.join(ROOT, "README.md"), "utf8");
    const docs = [
      await readFile(path.join(ROOT, "docs/aws.md"), "utf8"),
      await readFile(path.join(ROOT, "docs/kubernetes.md"), "utf8"),
    ];
    for (const s of SETTINGS) {
      expect(readme).toContain(`| \`${s.env}\``);
      expect(readme).toContain(`\`--${s.flag}\``);
      for (const doc of docs) if (s.prop) expect(doc).toContain(`| \`${s.prop}\``);
    }
  });
});
