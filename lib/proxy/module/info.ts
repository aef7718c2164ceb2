import { ProxyError } from "../errors";
import type { ModuleInfo } from "../sources/source";
import { isCanonicalVersion } from "./semver";
import { checkCanonicalVersion } from "./version";

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
  if (typeof Time !== "string" || !isRfc3339(Time)) {
    throw new ProxyError("upstream", `${what}: .info has invalid Time ${JSON.stringify(Time)}`);
  }
  const info: ModuleInfo = { Version, Time };
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

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-](\d{2}):(\d{2}))$/;

/**
 * Whether `time` is an RFC 3339 date-time as the go command's JSON decoding of a `.info` takes
 * it (Go's time.Time: upper-case T and Z, a day that exists, hours below 24, no leap second).
 */
export function isRfc3339(time: string): boolean {
  const m = RFC3339.exec(time);
  if (!m) return false;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
  const date = new Date(Date.UTC(year, month - 1, day));
  date.setUTCFullYear(year); // years below 100 are not 19xx
  const offsetOk = m[8] === "Z" || (Number(m[9]) < 24 && Number(m[10]) < 60);
  return (
    date.getUTCMonth() === month - 1 &&
    date.getUTCDate() === day &&
    hour < 24 &&
    minute < 60 &&
    second < 60 &&
    offsetOk
  );
}

/**
 * Checks a `.info` (or `@latest`) answer for module `path` before it is served or kept, as the
 * go command checks a proxy's: a canonical Version that `path` can have, the very version asked
 * for when one exact version was (`asked`), and a valid Time.
 * @throws ProxyError "upstream" saying what is wrong
 */
export function checkInfo(path: string, asked: string | undefined, info: ModuleInfo): void {
  const what = `${path}@${asked ?? "latest"}`;
  if (asked !== undefined && info.Version !== asked) {
    throw new ProxyError("upstream", `${what}: source answered .info for ${info.Version}`);
  }
  try {
    checkCanonicalVersion(path, info.Version);
  } catch (err) {
    throw new ProxyError(
      "upstream",
      `${what}: .info names version ${JSON.stringify(info.Version)}, which ${path} cannot have: ${(err as Error).message}`,
    );
  }
  if (typeof info.Time !== "string" || !isRfc3339(info.Time)) {
    throw new ProxyError("upstream", `${what}: .info has invalid Time ${JSON.stringify(info.Time)}`);
  }
}
