import { execFile } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { describeWithTools } from "../support/tools";

/**
 * `npx cdk synth` of bin/cdk-app.ts and of examples/aws-team-mirror through the real cdk CLI,
 * the way a user runs them: offline, no Docker engine, and with aws-cdk-lib's built-in
 * CloudFormation validation on (the unit tests turn it off for speed). Then cfn-lint on every
 * template the CLI wrote.
 */

const ROOT = path.resolve(__dirname, "..", "..");
const BIN = path.join(ROOT, "node_modules", ".bin");
const EXAMPLE = path.join(ROOT, "examples", "aws-team-mirror");

interface Synth {
  outdir: string;
  templates: string[];
}

async function cdkSynth(cwd: string, outdir: string, env: NodeJS.ProcessEnv = {}): Promise<Synth> {
  try {
    await promisify(execFile)(
      path.join(BIN, "cdk"),
      ["synth", "--no-notices", "--quiet", "--output", outdir],
      {
        cwd,
        // The example's cdk.json runs `npx ts-node`: find it (and cdk) in this repository's
        // node_modules instead of downloading it.
        env: {
          ...process.env,
          PATH: `${BIN}${path.delimiter}${process.env.PATH ?? ""}`,
          CDK_DISABLE_CLI_TELEMETRY: "true",
          ...env,
        },
        timeout: 240_000,
        maxBuffer: 16 * 1024 * 1024,
      },
    );
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`cdk synth in ${cwd} failed: ${e.message}\n${e.stdout ?? ""}\n${e.stderr ?? ""}`);
  }
  const templates = readdirSync(outdir)
    .filter((f) => f.endsWith(".template.json"))
    .map((f) => path.join(outdir, f));
  return { outdir, templates };
}

/** The built-in validator's report: plugin reports that did not pass, with their violations. */
function failedValidations(outdir: string): unknown[] {
  const file = path.join(outdir, "validation-report.json");
  if (!existsSync(file)) return [];
  const report = JSON.parse(readFileSync(file, "utf8")) as {
    pluginReports: { summary?: { status?: string }; violations?: { severity?: string }[] }[];
  };
  return report.pluginReports.filter(
    (r) => r.summary?.status === "failure" || (r.violations ?? []).some((v) => v.severity === "error"),
  );
}

describeWithTools({ bins: ["cfn-lint"] }, "cdk synth of the CDK apps", () => {
  let work: string;
  let root: PromiseSettledResult<Synth>;
  let example: PromiseSettledResult<Synth>;
  /** The synth's result, or its failure thrown in the test that needs it. */
  const done = (result: PromiseSettledResult<Synth>): Synth => {
    if (result.status === "rejected") throw result.reason;
    return result.value;
  };

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), "gomirror-cdk-synth-"));
    // At runtime the example's `import ... from "gomirror"` needs a package of that name: this
    // one stands in for `npm install` in the example, pointing at the repository's entry point
    // (the example's tsconfig.json maps the name the same way for the type check).
    const shim = path.join(work, "node_modules", "gomirror");
    mkdirSync(shim, { recursive: true });
    writeFileSync(
      path.join(shim, "index.js"),
      `module.exports = require(${JSON.stringify(path.join(ROOT, "lib", "index.ts"))});\n`,
    );
    writeFileSync(
      path.join(shim, "aws.js"),
      `module.exports = require(${JSON.stringify(path.join(ROOT, "lib", "aws", "index.ts"))});\n`,
    );
    [root, example] = await Promise.allSettled([
      cdkSynth(ROOT, path.join(work, "root.out")),
      // Type errors in the example are the root type check's job (tsconfig.json maps "gomirror"
      // too); skipping ts-node's own check here saves a second full compile of lib/.
      cdkSynth(EXAMPLE, path.join(work, "example.out"), {
        NODE_PATH: path.join(work, "node_modules"),
        TS_NODE_TRANSPILE_ONLY: "true",
        // Away from us-east-1 (the CLI passes this on as the default region), so that the
        // allowlist gets a us-east-1 stack of its own.
        AWS_REGION: "eu-west-1",
        AWS_DEFAULT_REGION: "eu-west-1",
      }),
    ]);
  }, 300_000);
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it("synthesizes bin/cdk-app.ts offline with the built-in validation passing", () => {
    const { outdir, templates } = done(root);
    expect(templates.map((t) => path.basename(t))).toEqual(["GoMirror.template.json"]);
    expect(failedValidations(outdir)).toEqual([]);
    const template = JSON.parse(readFileSync(templates[0], "utf8")) as { Outputs: Record<string, unknown> };
    expect(Object.keys(template.Outputs)).toContain("MirrorGoproxyUrl");
  });

  it("synthesizes examples/aws-team-mirror offline with the built-in validation passing", () => {
    const { outdir, templates } = done(example);
    expect(templates.map((t) => path.basename(t)).sort()).toEqual([
      "TeamMirror.template.json",
      "TeamMirrorMirrorWaf.template.json",
    ]);
    expect(failedValidations(outdir)).toEqual([]);
  });

  it("writes templates cfn-lint finds no errors in", async () => {
    let stdout: string;
    try {
      ({ stdout } = await promisify(execFile)(
        "cfn-lint",
        ["--format", "json", "--", ...done(root).templates, ...done(example).templates],
        {
          maxBuffer: 64 * 1024 * 1024,
        },
      ));
    } catch (error) {
      const e = error as { code?: number; stdout?: string };
      if (typeof e.code !== "number" || e.code === 1 || e.stdout === undefined) throw error;
      stdout = e.stdout;
    }
    const errors = (
      JSON.parse(stdout) as { Level: string; Message: string; Filename: string; Rule: { Id: string } }[]
    )
      .filter((m) => m.Level === "Error")
      .map((m) => `${path.basename(m.Filename)} ${m.Rule.Id}: ${m.Message}`);
    expect(errors).toEqual([]);
  }, 180_000);
});
