import { remembered } from "../cache/memo";
import { invalid, notFound } from "../errors";
import { unescapePath, unescapeVersion } from "../module/escape";
import { checkPath } from "../module/path";
import { checkCanonicalVersion, checkQuery, isExactVersion } from "../module/version";

/** What a request asks for, after validation. Paths and versions are unescaped. */
export type Route =
  | { readonly kind: "list"; readonly path: string }
  | { readonly kind: "latest"; readonly path: string }
  | { readonly kind: "info"; readonly path: string; readonly query: string; readonly canonical: boolean }
  | { readonly kind: "mod" | "zip"; readonly path: string; readonly version: string }
  | { readonly kind: "sumdb"; readonly rest: string }
  /** `/index?since=&limit=`: the stored versions feed; `query` is the raw query string. */
  | { readonly kind: "index"; readonly query: string }
  | { readonly kind: "healthz" | "readyz" | "metrics" }
  /** `/`: the status page for people (lib/proxy/http/status.ts). */
  | { readonly kind: "status" };

export type Endpoint = Route["kind"] | "unknown";

/** The longest request path accepted; Go module paths and versions are far shorter. */
export const MAX_REQUEST_PATH = 2048;

/** The operational endpoints: liveness, readiness, Prometheus metrics. */
export const OPERATIONAL_PATHS = { healthz: "/healthz", readyz: "/readyz", metrics: "/metrics" } as const;

const OPERATIONAL: Record<string, Route> = {
  [OPERATIONAL_PATHS.healthz]: { kind: "healthz" },
  [OPERATIONAL_PATHS.readyz]: { kind: "readyz" },
  [OPERATIONAL_PATHS.metrics]: { kind: "metrics" },
  "/": { kind: "status" },
};

function decode(part: string, what: string): string {
  let decoded: string;
  try {
    decoded = decodeURIComponent(part);
  } catch {
    throw invalid(`malformed ${what}: bad percent-encoding in ${JSON.stringify(part)}`);
  }
  // Checked after decoding too, so that %00, %5C or %2e%2e tricks are caught the same way.
  if (/[\0-\x1f\x7f\\]/.test(decoded)) {
    throw invalid(`malformed ${what} ${JSON.stringify(decoded)}: control character or backslash`);
  }
  return decoded;
}

function modulePath(escaped: string): string {
  const decoded = decode(escaped, "module path");
  if (decoded.includes("@")) throw invalid(`malformed module path ${JSON.stringify(decoded)}: contains @`);
  const path = unescapePath(decoded);
  checkPath(path);
  return path;
}

/**
 * Parses a request target into a route, validating everything before it can reach storage or
 * the network. Throws ProxyError "invalid" (400) for malformed input and "not-found" (404) for
 * paths that are not part of the protocol. Parsing is a pure function of the target and the
 * module path checks dominate the cost of a cached hit, so recent targets that parsed are
 * remembered (bounded; a target that fails is checked again every time).
 */
export const parseRoute: (target: string) => Route = remembered((target) =>
  Object.freeze(parseUncached(target)),
);

function parseUncached(target: string): Route {
  const q = target.indexOf("?");
  const raw = q >= 0 ? target.slice(0, q) : target;
  if (raw.length > MAX_REQUEST_PATH) throw invalid(`request path is longer than ${MAX_REQUEST_PATH} bytes`);
  if (!raw.startsWith("/")) throw invalid("request path must start with /");
  if (/[\0-\x1f\x7f\\]/.test(raw)) throw invalid("request path holds a control character or backslash");

  const operational = OPERATIONAL[raw];
  if (operational) return operational;
  if (raw.startsWith("/sumdb/")) return { kind: "sumdb", rest: raw.slice("/sumdb/".length) };
  if (raw === "/index") return { kind: "index", query: q >= 0 ? target.slice(q + 1) : "" };

  if (raw.endsWith("/@latest")) {
    return { kind: "latest", path: modulePath(raw.slice(1, -"/@latest".length)) };
  }
  const at = raw.indexOf("/@v/");
  if (at <= 0) throw notFound(`not found: ${raw.slice(0, 200)} is not a GOPROXY protocol path`);
  const path = modulePath(raw.slice(1, at));
  const file = raw.slice(at + "/@v/".length);
  if (file === "list") return { kind: "list", path };

  const dot = file.lastIndexOf(".");
  const ext = dot >= 0 ? file.slice(dot + 1) : "";
  if (ext !== "info" && ext !== "mod" && ext !== "zip") {
    throw notFound(
      `not found: ${path}: unknown file ${JSON.stringify(file.slice(0, 100))} (want list, .info, .mod or .zip)`,
    );
  }
  const version = unescapeVersion(decode(file.slice(0, dot), "version"));
  if (ext === "info") {
    if (isExactVersion(path, version)) return { kind: "info", path, query: version, canonical: true };
    checkQuery(version);
    return { kind: "info", path, query: version, canonical: false };
  }
  checkCanonicalVersion(path, version);
  return { kind: ext, path, version };
}
