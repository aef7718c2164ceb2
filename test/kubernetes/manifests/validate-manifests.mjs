// Validates YAML streams of Kubernetes manifests against the Kubernetes OpenAPI schemas
// (kubernetes-models) and the Prometheus Operator CRD schemas (@kubernetes-models/prometheus-operator),
// offline. Both packages are ES modules only, which Jest's CommonJS runtime cannot load, so the
// tests run this file with node.
//
// stdin: a JSON object { "<label>": "<YAML stream>", ... }
// stdout: a JSON object { "<label>": [{ "kind", "name", "problems": ["..."] }, ...], ... }
//
// The Kubernetes schemas do not forbid unknown fields (the API server prunes or, under strict
// field validation, rejects them), so a misspelt field would pass. The validators read every
// field their schema knows; a field none of them read is one the schema does not know, and is
// reported too, as `kubectl apply --validate=strict` would.
import { parseAllDocuments } from "yaml";

/** The module of a kind's model in the package for its API group. */
function modelModule(apiVersion, kind) {
  const group = apiVersion.includes("/") ? apiVersion.split("/")[0] : "";
  const pkg =
    group === "monitoring.coreos.com" ? "@kubernetes-models/prometheus-operator" : "kubernetes-models";
  return `${pkg}/${apiVersion}/${kind}`;
}

/** `value`, with every object wrapped so that reading one of its fields marks the field as read. */
function tracked(value, path, read) {
  if (value === null || typeof value !== "object") return value;
  return new Proxy(value, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (typeof prop !== "string") return v;
      const at = `${path}/${prop}`;
      if (!Array.isArray(target)) read.add(at);
      return tracked(v, at, read);
    },
  });
}

/** The fields of `value` that no validator read; below an unknown field nothing more is listed. */
function unreadFields(value, path, read, out) {
  if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      const at = `${path}/${k}`;
      if (!Array.isArray(value) && !read.has(at)) out.push(at);
      else unreadFields(v, at, read, out);
    }
  }
  return out;
}

async function validate(object) {
  const kind = object?.kind;
  const name = object?.metadata?.name;
  let model;
  try {
    model = (await import(modelModule(object.apiVersion, kind)))[kind];
  } catch {
    model = undefined;
  }
  if (model === undefined) {
    return { kind, name, problems: [`no schema for apiVersion ${object?.apiVersion}, kind ${kind}`] };
  }
  const problems = [];
  const read = new Set();
  try {
    // The model's validate() checks `this`; given the tracked object, it records each field it reads.
    model.prototype.validate.call(tracked(object, "", read));
  } catch (err) {
    problems.push(err.message);
  }
  // After a failed check some fields were never read; only a valid object's unread fields are unknown.
  if (problems.length === 0) {
    for (const path of unreadFields(object, "", read, [])) problems.push(`${path}: not a field of ${kind}`);
  }
  return { kind, name, problems };
}

let input = "";
for await (const chunk of process.stdin) input += chunk;
const results = {};
for (const [label, stream] of Object.entries(JSON.parse(input))) {
  results[label] = [];
  for (const doc of parseAllDocuments(stream, { version: "1.1" })) {
    if (doc.errors.length > 0) {
      results[label].push({ kind: undefined, name: undefined, problems: doc.errors.map((e) => e.message) });
    } else {
      results[label].push(await validate(doc.toJS()));
    }
  }
}
process.stdout.write(JSON.stringify(results));
