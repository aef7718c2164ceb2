/**
 * The kinds of value a proxy setting can hold. A kind knows both directions:
 * - `parse`: the text of an environment variable or flag, as the proxy reads it at startup;
 * - `fromProp`: the typed value a construct prop carries, written as that text.
 * `fromProp` only checks what would be lost or misread once joined into one string (a comma
 * inside a list entry, say); whether the value is acceptable is decided by `parse`, which the
 * constructs run too, so both sides accept exactly the same settings.
 */

/** A setting the proxy refuses: the message names the variable (or prop) and the value. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

export interface Kind<T, P> {
  /** How the value is written, for `--help` and the documentation tables. */
  readonly syntax: string;
  /** The TypeScript type of the construct prop, for the generated `ProxySettings`. */
  readonly propType: string;
  parse(text: string, env: string): T;
  fromProp(value: P, what: string): string;
}

/**
 * A length of time for a construct prop: a number of seconds, a string such as `"90s"`, `"5m"`
 * or `"1h30m"`, or an object with `toSeconds()`, such as aws-cdk-lib's `Duration`.
 */
export type DurationValue = number | string | { toSeconds(): number };

/** An amount of bytes for a construct prop: a number, or a string such as `"512MiB"` or `"20GiB"`. */
export type ByteSize = number | string;

const CONTROL = /[\0-\x08\x0a-\x1f\x7f]/;
const quote = JSON.stringify;

function refuse(env: string, text: string, want: string): never {
  throw new ConfigError(`${env}=${quote(text)}: ${want}`);
}

function checkText(value: string, what: string): string {
  if (CONTROL.test(value)) throw new ConfigError(`${what} holds a control character`);
  return value;
}

/** Free text without control characters; empty means unset. */
export const text: Kind<string | undefined, string> = {
  syntax: "text",
  propType: "string",
  parse: (value, env) => (checkText(value, env) === "" ? undefined : value),
  fromProp: checkText,
};

/** Text that may span lines (netrc content); never shown in messages. */
export const secretText: Kind<string | undefined, never> = {
  syntax: "secret text",
  propType: "never",
  parse: (value) => (value === "" ? undefined : value),
  fromProp: () => {
    throw new ConfigError("a secret is passed by reference, never as a value");
  },
};

export const bool: Kind<boolean, boolean> = {
  syntax: "true or false",
  propType: "boolean",
  parse: (value, env) => {
    const v = value.trim().toLowerCase();
    if (!["true", "false", "1", "0", "yes", "no", ""].includes(v)) refuse(env, value, "want true or false");
    return v === "true" || v === "1" || v === "yes";
  },
  fromProp: (value) => String(value),
};

export function oneOf<const V extends string>(values: readonly V[]): Kind<V, V> {
  return {
    syntax: values.join(" | "),
    propType: values.map((v) => quote(v)).join(" | "),
    parse: (value, env) => {
      if (!(values as readonly string[]).includes(value)) {
        const want = values.length === 2 ? `${values[0]} or ${values[1]}` : `one of ${values.join(", ")}`;
        refuse(env, value, `want ${want}`);
      }
      return value as V;
    },
    fromProp: (value) => value,
  };
}

const DURATION_UNITS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 };

/** Seconds from a DurationValue; throws naming `what` when it is not one. */
export function durationSeconds(value: DurationValue, what: string): number {
  if (typeof value === "number") return value;
  if (typeof value === "object" && value !== null && typeof value.toSeconds === "function") {
    return value.toSeconds();
  }
  const text = String(value).trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  const parts = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/.test(text)
    ? [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)]
    : [];
  if (parts.length === 0) {
    throw new ConfigError(
      `${what} ${quote(value)} is not a duration; write seconds, or e.g. "90s", "5m", "1h30m"`,
    );
  }
  return parts.reduce((sum, [, n, unit]) => sum + Number(n) * DURATION_UNITS[unit!]!, 0);
}

/** A number of seconds from `min` to `max`. */
export function seconds(min: number, max: number): Kind<number, DurationValue> {
  return {
    syntax: "seconds",
    propType: "DurationValue",
    parse: (value, env) => {
      const n = Number(value);
      if (value.trim() === "" || !Number.isFinite(n) || n < 0 || n > max) {
        refuse(env, value, `want a number of seconds from 0 to ${max}`);
      }
      // 0 would switch a timeout off rather than make it immediate: a minimum says so.
      if (n < min) refuse(env, value, `want at least ${min} second${min === 1 ? "" : "s"}`);
      return n;
    },
    fromProp: (value, what) => String(durationSeconds(value, what)),
  };
}

/** A whole number from `min` to `max` (a count, such as failures before an upstream is skipped). */
export function count(min: number, max: number): Kind<number, number> {
  return {
    syntax: "whole number",
    propType: "number",
    parse: (value, env) => {
      const n = Number(value);
      if (value.trim() === "" || !Number.isInteger(n) || n < min || n > max) {
        refuse(env, value, `want a whole number from ${min} to ${max}`);
      }
      return n;
    },
    fromProp: (value) => String(value),
  };
}

const BYTE_UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
  // Kubernetes quantities write binary units without the B.
  ki: 2 ** 10,
  mi: 2 ** 20,
  gi: 2 ** 30,
  ti: 2 ** 40,
};

/** Parses `1048576`, `512MiB`, `512Mi`, `20GiB`, `1.5GB`; undefined when it is not an amount of bytes. */
export function parseBytes(value: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/.exec(value.trim());
  const unit = m ? BYTE_UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) return undefined;
  return Math.floor(Number(m[1]) * unit);
}

/** `n` bytes in the largest binary unit that divides it (`1GiB`, `512MiB`), else in bytes. */
export function formatBytes(n: number): string {
  for (const unit of ["TiB", "GiB", "MiB", "KiB"]) {
    const size = BYTE_UNITS[unit.toLowerCase()]!;
    if (n > 0 && n % size === 0) return `${n / size}${unit}`;
  }
  return String(n);
}

/** An amount of bytes; 0 is allowed only when `zeroMeans` says what it does. */
export function bytes(options: { readonly zeroMeans?: string } = {}): Kind<number, ByteSize> {
  return {
    syntax: "bytes (e.g. 512MiB, 20GiB)",
    propType: "ByteSize",
    parse: (value, env) => {
      const n = parseBytes(value);
      if (n === undefined) refuse(env, value, "want an amount of bytes such as 1048576, 512MiB or 20GiB");
      if (n === 0 && options.zeroMeans === undefined) refuse(env, value, "want more than 0 bytes");
      return n;
    },
    fromProp: (value, what) => {
      const textValue = String(value);
      if (parseBytes(textValue) === undefined) {
        throw new ConfigError(
          `${what} ${quote(value)} is not an amount of bytes; write e.g. 536870912 or "512MiB"`,
        );
      }
      return textValue;
    },
  };
}

/** Joins list entries with `separator`, refusing entries that would split or merge on the way. */
function joinEntries(values: readonly string[], separator: string, what: string, entry: string): string {
  values.forEach((v, i) => {
    if (v.trim() === "" || v.includes(separator) || /\s/.test(v) || CONTROL.test(v)) {
      throw new ConfigError(`${what}[${i}] ${quote(v)} is not ${entry}; give one per entry, without spaces`);
    }
  });
  return values.join(separator);
}

/** A comma list of module path glob patterns, with the go command's syntax (GOPRIVATE). */
export const patterns: Kind<string, readonly string[]> = {
  syntax: "patterns",
  propType: "string[]",
  parse: (value, env) => {
    for (const p of value.split(",")) {
      const pattern = p.trim();
      // A URL is a common slip: GOPRIVATE takes module paths such as git.example.com/team.
      if (/[\s\0-\x1f]/.test(pattern) || pattern.includes("\\") || pattern.includes("://")) {
        refuse(
          env,
          value,
          `pattern ${quote(pattern)} is not a module path glob (write git.example.com/team, no scheme)`,
        );
      }
    }
    return value;
  },
  fromProp: (values, what) => joinEntries(values, ",", what, "a module path pattern like git.example.com/*"),
};

/**
 * A list of plain items (CIDR blocks, names), separated by commas or spaces, checked one by one
 * with `check`, whose error message (which names `env`) becomes the ConfigError's.
 */
export function list<T>(
  entry: string,
  check: (item: string, env: string) => T,
): Kind<T[], readonly string[]> {
  return {
    syntax: `comma list of ${entry}s`,
    propType: "string[]",
    parse: (value, env) => {
      const items = value.split(/[\s,]+/).filter((s) => s !== "");
      return items.map((item) => {
        try {
          return check(item, env);
        } catch (err) {
          throw new ConfigError((err as Error).message);
        }
      });
    },
    fromProp: (values, what) => joinEntries(values, ",", what, `a ${entry}`),
  };
}

/**
 * A kind whose text is read by a parser of its own (GOPROXY, GOSUMDB, git rewrites...). Errors
 * the parser throws become ConfigErrors naming the variable; `shown` can hide part of the value.
 */
export function parsedBy<T, P>(options: {
  readonly syntax: string;
  readonly propType: string;
  readonly parse: (text: string) => T;
  readonly fromProp: (value: P, what: string) => string;
  readonly shown?: (text: string) => string;
}): Kind<T, P> {
  return {
    syntax: options.syntax,
    propType: options.propType,
    parse: (value, env) => {
      try {
        return options.parse(value);
      } catch (err) {
        if (err instanceof ConfigError) throw err;
        return refuse(env, options.shown ? options.shown(value) : value, (err as Error).message);
      }
    },
    fromProp: options.fromProp,
  };
}
