import { child, failAt, type Where } from "./fields";

/** The parts of a synthesized Terraform configuration that references can point into. */
export interface TerraformConfig {
  readonly resource?: Record<string, Record<string, Record<string, unknown>>>;
}

// `kubernetes_namespace_v1.Mirror_Namespace_04E3C5D8.metadata[0].name`: a resource's type, its
// logical id, then attribute names and list indexes.
const REFERENCE = /^([a-z][a-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_-]*)((?:\.[A-Za-z_][A-Za-z0-9_]*|\[\d+\])+)$/;

/** How deep references may chain (a name read from an object whose name is a reference...). */
const MAX_DEPTH = 16;

/**
 * Replaces every Terraform interpolation in `value` with the value it refers to. cdktf writes a
 * reference between resources as `${type.id.attribute}`; when the attribute is one the
 * configuration sets (the namespace's name, the Service's name), its value is known without
 * Terraform. Anything else (an attribute the cluster assigns, a variable, a data source, a
 * function call, a template directive) is refused.
 */
export function resolveReferences(value: unknown, config: TerraformConfig, at: Where, depth = 0): unknown {
  if (typeof value === "string") return resolveTemplate(value, config, at, depth);
  if (Array.isArray(value)) return value.map((v, i) => resolveReferences(v, config, child(at, i), depth));
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, resolveReferences(v, config, child(at, k), depth)]),
    );
  }
  return value;
}

function resolveTemplate(template: string, config: TerraformConfig, at: Where, depth: number): unknown {
  const parts: unknown[] = [];
  let literal = "";
  let i = 0;
  while (i < template.length) {
    const two = template.slice(i, i + 2);
    const three = template.slice(i, i + 3);
    // `$${` and `%%{` are Terraform's escapes for a literal `${` and `%{`.
    if (three === "$${" || three === "%%{") {
      literal += three.slice(1);
      i += 3;
    } else if (two === "%{") {
      failAt(at, `"${template}" holds a Terraform template directive, which only Terraform can evaluate`);
    } else if (two === "${") {
      const end = template.indexOf("}", i);
      if (end < 0) failAt(at, `"${template}" has an unterminated Terraform interpolation`);
      if (literal !== "") parts.push(literal);
      literal = "";
      parts.push(lookUp(template.slice(i + 2, end).trim(), config, at, depth));
      i = end + 1;
    } else {
      literal += template[i];
      i += 1;
    }
  }
  if (literal !== "") parts.push(literal);
  // A whole-string reference keeps the referenced value's type (a number stays a number).
  if (parts.length === 1) return parts[0];
  return parts
    .map((p) => {
      if (typeof p === "object" && p !== null) {
        failAt(at, `"${template}" puts a block or list into text, which has no plain value`);
      }
      return String(p);
    })
    .join("");
}

/** Names that start a Terraform expression other than a resource reference. */
const TERRAFORM_NAMES: Record<string, string> = {
  var: "an input variable",
  local: "a local value",
  data: "a data source, read from the cluster",
  module: "a module output",
  each: "a for_each key or value",
  count: "a count index",
  path: "a filesystem path",
  terraform: "a Terraform setting",
  self: "a provisioner's reference",
};

function lookUp(expression: string, config: TerraformConfig, at: Where, depth: number): unknown {
  const refuse = (why: string): never =>
    failAt(at, `"\${${expression}}" cannot be written as a plain value: ${why}; give the value itself`);
  const namespace = TERRAFORM_NAMES[/^([a-z]+)\./.exec(expression)?.[1] ?? ""];
  if (namespace !== undefined) return refuse(`it is ${namespace}, known only when Terraform runs`);
  const match = REFERENCE.exec(expression);
  if (match === null) return refuse("it is a Terraform expression, evaluated only by Terraform");
  if (depth >= MAX_DEPTH) return refuse(`references chain more than ${MAX_DEPTH} deep`);
  const [, type, id, path] = match as unknown as [string, string, string, string];
  const target = config.resource?.[type]?.[id];
  if (target === undefined) return refuse(`${type}.${id} is not a resource of this stack`);
  let current: unknown = target;
  for (const step of path.match(/\.[A-Za-z_][A-Za-z0-9_]*|\[\d+\]/g) ?? []) {
    current = step.startsWith("[")
      ? index(current, Number(step.slice(1, -1)))
      : attribute(current, step.slice(1));
    if (current === undefined || current === null) {
      return refuse(
        `the configuration does not set it, so its value comes from the cluster after terraform apply`,
      );
    }
  }
  return resolveReferences(current, config, at, depth + 1);
}

function attribute(value: unknown, name: string): unknown {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  return (value as Record<string, unknown>)[name];
}

/** `metadata[0]`: Terraform indexes a block list; cdktf writes a single-item block as the object itself. */
function index(value: unknown, i: number): unknown {
  if (Array.isArray(value)) return value[i];
  return i === 0 ? value : undefined;
}
