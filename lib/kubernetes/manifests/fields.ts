/**
 * The vocabulary of the manifest tables: how one attribute of the Kubernetes provider's schema
 * becomes one field of the Kubernetes API. The provider renames (snake_case, singular block
 * names), wraps (single objects as one-element lists) and retypes (integers written as text,
 * file modes as octal text); each table entry says which of these applies to its field.
 */

/** A rendered Kubernetes API object. */
export interface KubernetesManifest {
  /** e.g. `apps/v1`. */
  readonly apiVersion: string;
  /** e.g. `Deployment`. */
  readonly kind: string;
  /** Name, namespace (absent on cluster-wide objects), labels, annotations. */
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly [field: string]: unknown;
  };
  /** `spec`, `data` and the kind's other fields, in the API's names and types. */
  readonly [field: string]: unknown;
}

/** A resource that cannot be written as a plain manifest, with the attribute and the reason. */
export class GoMirrorManifestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "GoMirrorManifestError";
  }
}

/** Where a value sits: the Terraform resource and the attribute path in the provider's names. */
export interface Where {
  /** `<type>.<logical id>`, the resource's Terraform address. */
  readonly resource: string;
  /** The attribute path, e.g. `spec.template.spec.container[0].port[1].container_port`. */
  readonly path: string;
}

export function failAt(at: Where, message: string): never {
  throw new GoMirrorManifestError(`${at.resource}: ${at.path === "" ? "" : `${at.path}: `}${message}`);
}

export function child(at: Where, name: string | number): Where {
  if (typeof name === "number") return { ...at, path: `${at.path}[${name}]` };
  return { ...at, path: at.path === "" ? name : `${at.path}.${name}` };
}

/** Turns a provider value into the API's; undefined leaves the field out. */
export type Convert = (value: unknown, at: Where) => unknown;

/** One provider attribute: the API field it becomes, and how its value converts. */
export interface Field {
  readonly api: string;
  readonly convert: Convert;
}

/** Every attribute a provider block may hold that has an API field, by its provider name. */
export type Block = Readonly<Record<string, Field>>;

export function field(api: string, convert: Convert): Field {
  return { api, convert };
}

function describe(value: unknown): string {
  return Array.isArray(value)
    ? "a list"
    : value === null
      ? "null"
      : `${typeof value} ${JSON.stringify(value)}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export const text: Convert = (value, at) =>
  typeof value === "string" ? value : failAt(at, `expected text, found ${describe(value)}`);

export const flag: Convert = (value, at) =>
  typeof value === "boolean" ? value : failAt(at, `expected true or false, found ${describe(value)}`);

/** A whole number; the provider writes some (replicas, user ids, TTLs) as decimal text. */
export const integer: Convert = (value, at) => {
  if (typeof value === "number" && Number.isInteger(value)) return value;
  if (typeof value === "string" && /^-?\d+$/.test(value)) return Number(value);
  return failAt(at, `expected a whole number, found ${describe(value)}`);
};

/**
 * The API's IntOrString (ports, surge, budgets): the provider keeps it as text, and the API
 * reads "8080" and 8080 differently (a port named "8080" versus port 8080), so digits become a
 * number and anything else (a port name, "25%") stays text.
 */
export const intOrString: Convert = (value, at) => {
  if (typeof value === "number" && Number.isInteger(value)) return value;
  if (typeof value === "string") return /^\d+$/.test(value) ? Number(value) : value;
  return failAt(at, `expected a number or a name, found ${describe(value)}`);
};

/** A file mode: the provider takes octal text ("0440"), the API a number (288). */
export const fileMode: Convert = (value, at) => {
  if (typeof value === "string" && /^0?[0-7]{1,4}$/.test(value)) return parseInt(value, 8);
  return failAt(at, `expected an octal file mode like "0440", found ${describe(value)}`);
};

function listOf(item: Convert): Convert {
  return (value, at) => {
    if (!Array.isArray(value)) return failAt(at, `expected a list, found ${describe(value)}`);
    return value.map((v, i) => item(v, child(at, i)));
  };
}

export const texts = listOf(text);
export const integers = listOf(integer);

/** Labels, annotations, quantities, data: text by text. */
export const textMap: Convert = (value, at) => {
  if (!isRecord(value)) return failAt(at, `expected a map of text, found ${describe(value)}`);
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, text(v, child(at, k))]));
};

/**
 * The fields of one block in the table's order. An attribute the table does not name is
 * refused: guessing its API name or type could write a manifest that means something else.
 */
export function mapBlock(block: Block, value: Record<string, unknown>, at: Where): Record<string, unknown> {
  for (const name of Object.keys(value)) {
    if (!Object.hasOwn(block, name)) {
      failAt(
        child(at, name),
        `the manifest renderer does not know this attribute, so it has no Kubernetes field to write it to; ` +
          `add it to the tables in lib/kubernetes/manifests/, or leave it out`,
      );
    }
  }
  const out: Record<string, unknown> = {};
  for (const [name, f] of Object.entries(block)) {
    const v = value[name];
    // Terraform's null is an attribute left unset.
    if (v === undefined || v === null) continue;
    const converted = f.convert(v, child(at, name));
    if (converted !== undefined) out[f.api] = converted;
  }
  return out;
}

/**
 * A single nested object. cdktf writes a block that holds at most one item as an object; the
 * provider also declares some that the API holds once as lists (`label_selector`, `tcp_socket`,
 * `scale_up`), so a list of one is accepted too, and a longer one refused.
 */
export function object(block: Block): Convert {
  return (value, at) => {
    if (Array.isArray(value)) {
      if (value.length === 0) return undefined;
      if (value.length > 1) {
        return failAt(at, `has ${value.length} blocks, but the Kubernetes API holds one object here`);
      }
      return object(block)(value[0], child(at, 0));
    }
    if (!isRecord(value)) return failAt(at, `expected a block, found ${describe(value)}`);
    return mapBlock(block, value, at);
  };
}

/** A repeated block (`container`, `port`, `rule`): the API's list of objects. */
export function objects(block: Block): Convert {
  return listOf((value, at) =>
    isRecord(value) ? mapBlock(block, value, at) : failAt(at, `expected a block, found ${describe(value)}`),
  );
}
