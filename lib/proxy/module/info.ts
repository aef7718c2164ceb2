import { ProxyError } from "../errors";
import type { ModuleInfo } from "../sources/source";
import { isCanonicalVersion } from "./semver";

/**
 * The GOPROXY protocol's two small text answers: the JSON of a `.info` (or `@latest`) and the
 * lines of a `list`, read the way the go command reads them.
 */

/** Checks an upstream's `.info` JSON and returns only the fields we know. */
export function parseInfo(data: Buffer, what: string): ModuleInfo {
  let doc: unknown;
  try {
    doc = JSON.parse(data.toString("utf8"));
  } catch {
    throw new ProxyError("upstream", `${what}: invalid JSON in .info answer`);
  }
  if (typeof doc !== "object" || doc === null)
    throw new ProxyError("upstream", `${what}: .info is not an object`);
  const { Version, Time, Origin } = doc as Record<string, unknown>;
  if (typeof Version !== "string" || !isCanonicalVersion(Version)) {
    throw new ProxyError("upstream", `${what}: .info has invalid Version ${JSON.stringify(Version)}`);
  }
  if (Time !== undefined && (typeof Time !== "string" || Number.isNaN(Date.parse(Time)))) {
    throw new ProxyError("upstream", `${what}: .info has invalid Time ${JSON.stringify(Time)}`);
  }
  const info: ModuleInfo = { Version, Time: typeof Time === "string" ? Time : "" };
  return typeof Origin === "object" && Origin !== null
    ? { ...info, Origin: Origin as ModuleInfo["Origin"] }
    : info;
}

/** The versions of a `list` answer: first field of each line, kept only when canonical. */
export function parseList(data: Buffer): string[] {
  const versions = new Set<string>();
  for (const line of data.toString("utf8").split("\n")) {
    const v = line.trim().split(/\s+/)[0];
    if (v && isCanonicalVersion(v)) versions.add(v);
  }
  return [...versions];
}
