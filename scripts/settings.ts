/**
 * Writes what is generated from the settings schema (lib/proxy/settings/schema.ts): the
 * `ProxySettings` type and the tables in README.md, docs/aws.md and docs/kubernetes.md.
 * `npm run settings` writes them; `--check` only lists the stale ones and exits 1 if there are
 * any (test/proxy/settings/generated.test.ts runs that). `--root DIR` works on a copy.
 */
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { format, resolveConfig } from "prettier";
import { IMAGE_ENVIRONMENT } from "../lib/image-contract";
import {
  renderPropsSource,
  renderPropsTable,
  renderSettingsTable,
  replaceSection,
} from "../lib/proxy/settings/render";

/** The files, relative to the repository root. */
export const GENERATED = ["lib/proxy/settings/props.ts", "README.md", "docs/aws.md", "docs/kubernetes.md"];

export interface GeneratedFile {
  readonly file: string;
  /** The content the file should have. */
  readonly content: string;
}

async function pretty(file: string, source: string): Promise<string> {
  const options = await resolveConfig(file);
  return format(source, { ...options, filepath: file });
}

/** Every generated file under `root` with the content it should have now. */
async function generatedFiles(root: string): Promise<GeneratedFile[]> {
  const files: GeneratedFile[] = [];
  const props = path.join(root, GENERATED[0]!);
  files.push({ file: props, content: await pretty(props, renderPropsSource()) });
  const sections: Array<[string, string, string]> = [
    [GENERATED[1]!, "settings", renderSettingsTable(IMAGE_ENVIRONMENT)],
    [GENERATED[2]!, "proxy-settings", renderPropsTable()],
    [GENERATED[3]!, "proxy-settings", renderPropsTable()],
  ];
  for (const [name, section, body] of sections) {
    const file = path.join(root, name);
    const doc = await readFile(file, "utf8");
    files.push({ file, content: await pretty(file, replaceSection(doc, section, body)) });
  }
  return files;
}

async function main(argv: string[]): Promise<number> {
  const check = argv.includes("--check");
  const at = argv.indexOf("--root");
  const root = at >= 0 ? path.resolve(argv[at + 1] ?? ".") : path.resolve(__dirname, "..");
  let stale = 0;
  for (const { file, content } of await generatedFiles(root)) {
    const before = await readFile(file, "utf8").catch(() => "");
    if (before === content) continue;
    stale++;
    if (check) console.log(`stale: ${path.relative(root, file)} (run npm run settings)`);
    else {
      await writeFile(file, content);
      console.log(`wrote ${path.relative(root, file)}`);
    }
  }
  return check && stale > 0 ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
