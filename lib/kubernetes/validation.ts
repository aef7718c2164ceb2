import { CidrError, cidrCovers, parseCidr as parseCidrBlock, type Cidr } from "../proxy/net/cidr";

/**
 * Prop checks shared by the Kubernetes construct. Each names the prop (`what`), repeats the bad
 * value and says what would be accepted, so a synth failure reads as an instruction.
 */
export class GoMirrorKubernetesPropsError extends Error {
  constructor(message: string) {
    super(`GoMirrorKubernetes: ${message}`);
    this.name = "GoMirrorKubernetesPropsError";
  }
}

export function fail(message: string): never {
  throw new GoMirrorKubernetesPropsError(message);
}

export function checkInteger(value: number, what: string, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `at least ${min}` : `from ${min} to ${max}`;
    fail(`${what} is ${value}; want a whole number ${range}`);
  }
}

export function checkPort(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 1 || value > 65535) {
    fail(`${what} ${value} is not a TCP port; want a whole number from 1 to 65535`);
  }
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** RFC 1123 label: namespaces, Services and most object names that become DNS names. */
export function checkDnsLabel(value: string, what: string): void {
  if (value.length > 63 || !DNS_LABEL.test(value)) {
    fail(
      `${what} "${value}" is not a valid Kubernetes name; use at most 63 lowercase letters, ` +
        `digits and '-', starting and ending with a letter or digit`,
    );
  }
}

/** RFC 1123 subdomain: Secrets, PersistentVolumeClaims and other object names. */
export function checkDnsSubdomain(value: string, what: string): void {
  if (value.length > 253 || !value.split(".").every((label) => DNS_LABEL.test(label))) {
    fail(
      `${what} "${value}" is not a valid Kubernetes object name; use lowercase letters, digits, '-' and '.', ` +
        `at most 253 characters`,
    );
  }
}

/** A key inside a Secret: letters, digits, '-', '_' and '.'. */
export function checkSecretKey(value: string, what: string): void {
  if (value.length === 0 || value.length > 253 || !/^[-._a-zA-Z0-9]+$/.test(value)) {
    fail(`${what} "${value}" is not a valid Secret key; use letters, digits, '-', '_' and '.'`);
  }
}

const QUANTITY = /^[+]?(\d+(\.\d*)?|\.\d+)([KMGTPE]i|[numkMGTPE]|[eE][+-]?\d+)?$/;

/** A Kubernetes resource quantity such as `250m`, `1`, `512Mi`. */
export function checkQuantity(value: string, what: string): void {
  if (!QUANTITY.test(value)) {
    fail(`${what} "${value}" is not a Kubernetes quantity; write it like 250m, 2, 512Mi or 10Gi`);
  }
}

const DURATION = /^(\d+(ms|s|m|h|d|w|y))+$/;

/** A Prometheus duration such as `30s` or `5m`. */
export function checkPrometheusDuration(value: string, what: string): void {
  if (!DURATION.test(value)) {
    fail(`${what} "${value}" is not a Prometheus duration; write it like 30s, 5m or 1h`);
  }
}

export function checkHostname(value: string, what: string): void {
  const labels = value.split(".");
  const ok =
    value.length <= 253 &&
    labels.every((label) => /^[a-zA-Z0-9]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?$/.test(label) || label === "*");
  if (!ok || labels.slice(1).includes("*")) {
    fail(`${what} "${value}" is not a host name; write it like goproxy.example.com`);
  }
}

/**
 * Parses an IPv4 or IPv6 CIDR block with the proxy's own parser (lib/proxy/net/cidr.ts), which
 * insists on the network form: `10.1.2.3/8` is refused with `10.0.0.0/8` suggested, because a
 * reader of the policy would misjudge what it allows.
 */
export function parseCidr(value: string, what: string): Cidr {
  try {
    return parseCidrBlock(value, what);
  } catch (err) {
    if (err instanceof CidrError) fail(err.message);
    throw err;
  }
}

/** True when `inner` lies inside `outer` and is strictly smaller. */
export function cidrStrictlyContains(outer: Cidr, inner: Cidr): boolean {
  return inner.prefix > outer.prefix && cidrCovers(outer, inner);
}

export function checkLabels(labels: Record<string, string>, what: string): void {
  for (const [key, value] of Object.entries(labels)) {
    const slash = key.lastIndexOf("/");
    const name = slash < 0 ? key : key.slice(slash + 1);
    const prefix = slash < 0 ? undefined : key.slice(0, slash);
    if (
      !/^[a-zA-Z0-9]([-_.a-zA-Z0-9]{0,61}[a-zA-Z0-9])?$/.test(name) ||
      (prefix !== undefined && prefix === "")
    ) {
      fail(
        `${what} key "${key}" is not a valid label key; use [prefix/]name with letters, digits, '-', '_' and '.'`,
      );
    }
    if (prefix !== undefined) checkDnsSubdomain(prefix, `${what} key prefix`);
    if (value.length > 63 || !/^([a-zA-Z0-9]([-_.a-zA-Z0-9]*[a-zA-Z0-9])?)?$/.test(value)) {
      fail(
        `${what}["${key}"] value "${value}" is not a valid label value; use at most 63 letters, digits, '-', '_', '.'`,
      );
    }
  }
}
