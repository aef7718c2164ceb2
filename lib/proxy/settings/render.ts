import { SETTINGS, type SettingSpec } from "./schema";

/**
 * Renderings of the settings schema that are committed as files: the `ProxySettings` type the
 * constructs take, and the tables in README.md, docs/aws.md and docs/kubernetes.md.
 * `scripts/settings.ts` writes them and a test fails when a committed copy is stale.
 */

type Spec = SettingSpec<unknown, never>;

function propOf(env: string): string | undefined {
  return SETTINGS.find((s) => s.env === env)?.prop;
}

/** The default as a construct user reads it. */
function propDefault(s: Spec): string {
  if (s.default === "") return "not set";
  if (s.default.startsWith("$")) {
    const prop = propOf(s.default.slice(1));
    return `the value of \`${prop ?? s.default.slice(1)}\``;
  }
  return `the proxy's default, \`${s.default}\``;
}

function sentence(help: string): string {
  return help.charAt(0).toUpperCase() + help.slice(1);
}

/** A doc comment with its text wrapped to fit the line width. */
function docComment(paragraphs: readonly string[]): string {
  const lines: string[] = [];
  paragraphs.forEach((paragraph, i) => {
    if (i > 0) lines.push("");
    let line = "";
    for (const word of paragraph.split(" ")) {
      if (line !== "" && line.length + word.length + 1 > 96) {
        lines.push(line);
        line = word;
      } else line = line === "" ? word : `${line} ${word}`;
    }
    lines.push(line);
  });
  return ["/**", ...lines.map((l) => (l === "" ? " *" : ` * ${l}`)), " */"].join("\n");
}

/** The source of `lib/proxy/settings/props.ts`. */
export function renderPropsSource(): string {
  const members: string[] = [];
  for (const s of SETTINGS) {
    if (s.prop === undefined || s.secret) continue;
    const doc = [`${sentence(s.help)} (\`${s.env}\`).`, `@default - ${propDefault(s)}`];
    members.push(`${docComment(doc)}\nreadonly ${s.prop}?: ${s.kind.propType};`);
    for (const c of s.companions ?? []) {
      const companionDoc = [`${sentence(c.help)}.`, `@default ${c.default}`];
      members.push(`${docComment(companionDoc)}\nreadonly ${c.prop}?: ${c.propType};`);
    }
  }
  const environmentDoc = [
    "More environment variables for the proxy, for settings without a prop. Variables a prop sets, " +
      "and those the construct manages (listen address, storage, credentials), are refused.",
    "@default - none",
  ];
  members.push(`${docComment(environmentDoc)}\nreadonly environment?: Record<string, string>;`);
  const used = ["ByteSize", "DurationValue"].filter((t) => members.some((m) => m.includes(t)));
  return [
    "// Generated from lib/proxy/settings/schema.ts by `npm run settings`; do not edit.",
    ...(used.length > 0 ? [`import type { ${used.join(", ")} } from "./kinds";`] : []),
    "",
    "/**",
    " * The proxy's settings as construct props, identical on `GoMirror` (AWS) and",
    " * `GoMirrorKubernetes`. A prop left out is not set at all, so the proxy's default applies.",
    ' * Durations take seconds, a string such as "5m", or an aws-cdk-lib `Duration`.',
    " */",
    "export interface ProxySettings {",
    ...members,
    "}",
    "",
  ].join("\n");
}

function cell(textValue: string): string {
  return textValue.replace(/\|/g, "\\|");
}

function code(textValue: string): string {
  return textValue === "" ? "" : `\`${cell(textValue)}\``;
}

/**
 * The README's table of every setting. `imageEnvironment` gives the values the container image
 * sets, shown beside the proxy's own defaults.
 */
export function renderSettingsTable(imageEnvironment: Readonly<Record<string, string>>): string {
  const rows = SETTINGS.map((s) => {
    const image = imageEnvironment[s.env];
    const def = s.default === "" ? "" : `${code(s.default)}${image ? ` (image: ${code(image)})` : ""}`;
    return `| ${code(s.env)} | ${code(`--${s.flag}`)} | ${def} | ${cell(s.help)} |`;
  });
  return ["| variable | flag | default | meaning |", "| --- | --- | --- | --- |", ...rows].join("\n");
}

/** The constructs' table: the props of `ProxySettings` and the variables they set. */
export function renderPropsTable(): string {
  const rows: string[] = [];
  for (const s of SETTINGS) {
    if (s.prop === undefined) continue;
    const type = s.secret ? "a secret reference" : code(s.kind.propType);
    rows.push(`| ${code(s.prop)} | ${type} | ${code(s.env)} | ${cell(propDefault(s))} | ${cell(s.help)} |`);
    for (const c of s.companions ?? []) {
      rows.push(
        `| ${code(c.prop)} | ${code(c.propType)} | ${code(s.env)} | ${code(c.default)} | ${cell(c.help)} |`,
      );
    }
  }
  const owners = new Map<string, string[]>();
  for (const s of SETTINGS) {
    if (s.managed !== undefined) owners.set(s.managed, [...(owners.get(s.managed) ?? []), code(s.env)]);
  }
  const managed = [...owners].map(([owner, envs]) => `${envs.join(", ")} (from ${owner})`).join("; ");
  return [
    "| prop | type | variable | default | meaning |",
    "| --- | --- | --- | --- | --- |",
    ...rows,
    "| `environment` | `Record<string, string>` | any other | none | more variables for the proxy |",
    "",
    `The construct sets these itself: ${managed}. \`environment\` may not set them, nor a variable that a prop above sets.`,
  ].join("\n");
}

/** Replaces the text between `<!-- name:begin -->` and `<!-- name:end -->` in `doc`. */
export function replaceSection(doc: string, name: string, body: string): string {
  const begin = `<!-- ${name}:begin -->`;
  const end = `<!-- ${name}:end -->`;
  const from = doc.indexOf(begin);
  const to = doc.indexOf(end);
  if (from < 0 || to < from) throw new Error(`no section ${begin} ... ${end}`);
  return `${doc.slice(0, from + begin.length)}\n\n${body}\n\n${doc.slice(to)}`;
}
