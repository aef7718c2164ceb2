import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { Template } from "aws-cdk-lib/assertions";
import { describeWithTools } from "../support/tools";
import { CONFIGURATIONS } from "./fixtures";

interface CfnLintMatch {
  Level: string;
  Message: string;
  Rule: { Id: string };
  Filename: string;
  Location: { Path?: (string | number)[] };
}

describeWithTools({ bins: ["cfn-lint"] }, "cfn-lint on every synthesized template", () => {
  let dir: string;
  const files: string[] = [];
  let broken: string;

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), "gomirror-cfn-lint-"));
    CONFIGURATIONS.forEach(({ build }, i) => {
      for (const stack of build()) {
        const file = path.join(dir, `${i}-${stack.stackName}.template.json`);
        writeFileSync(file, JSON.stringify(Template.fromStack(stack).toJSON(), null, 1));
        files.push(file);
      }
    });
    // A control: a template cfn-lint must reject, proving errors are seen and parsed.
    broken = path.join(dir, "control.template.json");
    writeFileSync(
      broken,
      JSON.stringify({
        Resources: { Bucket: { Type: "AWS::S3::Bucket", Properties: { NoSuchProperty: true } } },
      }),
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("finds no errors (and does find them in a broken control template)", async () => {
    // One cfn-lint process for all templates: it spends most of its time starting up.
    // Exit codes: 0 clean, 2 errors, 4 warnings, 8 informational (bit-or'ed); 1 is a crash.
    let stdout: string;
    try {
      ({ stdout } = await promisify(execFile)("cfn-lint", ["--format", "json", "--", ...files, broken], {
        maxBuffer: 64 * 1024 * 1024,
      }));
    } catch (error) {
      const e = error as { code?: number; stdout?: string; stderr?: string };
      if (typeof e.code !== "number" || e.code === 1 || e.stdout === undefined) throw error;
      stdout = e.stdout;
    }
    const matches = JSON.parse(stdout) as CfnLintMatch[];
    const errors = matches.filter((m) => m.Level === "Error");
    expect(errors.filter((m) => m.Filename.endsWith("control.template.json")).map((m) => m.Rule.Id)).toEqual([
      "E3002",
    ]);
    const ours = errors
      .filter((m) => !m.Filename.endsWith("control.template.json"))
      .map(
        (m) => `${path.basename(m.Filename)} ${m.Rule.Id} ${(m.Location.Path ?? []).join("/")}: ${m.Message}`,
      );
    expect(ours).toEqual([]);
    // every configuration wrote its stacks (one holds its us-east-1 allowlist in a second)
    expect(files.length).toBe(CONFIGURATIONS.length + 1);
  }, 180_000);
});
