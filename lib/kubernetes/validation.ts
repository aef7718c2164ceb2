import { isIPv4, isIPv6 } from "node:net";

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

/** A parsed CIDR block: the address as a number, its width in bits, and the prefix length. */
export interface Cidr {
  readonly text: string;
  readonly address: bigint;
  readonly bits: 32 | 128;
  readonly prefix: number;
}

function ipv4ToBigInt(ip: string): bigint {
  return ip.split(".").reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
}

function ipv6ToBigInt(ip: string): bigint {
  let text = ip;
  // An embedded IPv4 tail (::ffff:10.0.0.1) becomes two hex groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const n = ipv4ToBigInt(v4[1]!);
    text = text.slice(0, v4.index) + `${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head, tail] = text.split("::") as [string, string | undefined];
  const headGroups = head === "" ? [] : head.split(":");
  const tailGroups = tail === undefined || tail === "" ? [] : tail.split(":");
  const missing = 8 - headGroups.length - tailGroups.length;
  const groups = [...headGroups, ...Array<string>(tail === undefined ? 0 : missing).fill("0"), ...tailGroups];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

function formatAddress(address: bigint, bits: 32 | 128): string {
  if (bits === 32) {
    return [24n, 16n, 8n, 0n].map((shift) => ((address >> shift) & 0xffn).toString()).join(".");
  }
  const groups = [...Array(8).keys()].map((i) => (address >> BigInt(112 - 16 * i)) & 0xffffn);
  // Compress the longest run of two or more zero groups, as RFC 5952 asks.
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0n) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0n) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLength).join(":")}`;
}

/**
 * Parses an IPv4 or IPv6 CIDR block and insists on its network form: `10.1.2.3/8` is refused
 * with `10.0.0.0/8` suggested, because a reader of the policy would misjudge what it allows.
 */
export function parseCidr(value: string, what: string): Cidr {
  const slash = value.indexOf("/");
  const ip = slash < 0 ? value : value.slice(0, slash);
  const prefixText = slash < 0 ? "" : value.slice(slash + 1);
  const bits = isIPv4(ip) ? 32 : isIPv6(ip) && !ip.includes("%") ? 128 : undefined;
  if (bits === undefined || !/^\d{1,3}$/.test(prefixText) || Number(prefixText) > bits) {
    fail(`${what} "${value}" is not a CIDR block; write it like 10.0.0.0/8, 203.0.113.7/32 or fd00::/8`);
  }
  const prefix = Number(prefixText);
  const address = bits === 32 ? ipv4ToBigInt(ip) : ipv6ToBigInt(ip);
  const hostMask = (1n << BigInt(bits - prefix)) - 1n;
  if ((address & hostMask) !== 0n) {
    const network = formatAddress(address & ~hostMask, bits);
    fail(`${what} "${value}" has bits set after the /${prefix} prefix; did you mean ${network}/${prefix}?`);
  }
  return { text: value, address, bits, prefix };
}

/** True when `inner` lies inside `outer` and is strictly smaller. */
export function cidrStrictlyContains(outer: Cidr, inner: Cidr): boolean {
  if (outer.bits !== inner.bits || inner.prefix <= outer.prefix) return false;
  const shift = BigInt(outer.bits - outer.prefix);
  return inner.address >> shift === outer.address >> shift;
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
