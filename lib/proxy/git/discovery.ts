import { ProxyError } from "../errors";
import { type Credentials, redactURL } from "./credentials";
import { HttpBudget, readHead } from "./http";
import { type RewriteRule, rewriteURL } from "./rewrite";
import { hasPathPrefix } from "./versions";

/**
 * Finding the git repository that holds a module path, as the go command's
 * vcs.RepoRootForImportPath does in module mode:
 * 1. well-known layouts: github.com and bitbucket.org (and hosts configured as alike) take
 *    `host/owner/repo` as the repository root; a path element ending in `.git`
 *    (`git.example.test/team/hello.git/sub`) marks the root, and the repository URL is
 *    `https://<root>` without the `.git` (as the go command builds it: `https://git.example.test/team/hello`);
 * 2. otherwise `https://<module path>?go-get=1` and its `<meta name="go-import">` tags: the one
 *    tag whose prefix is a path prefix of the module path (more than one is an error, as in Go),
 *    confirmed by asking the prefix itself when it is shorter than the module path. A fourth
 *    field names a subdirectory of the repository (Go 1.25's go-import subdirectory).
 * GitLab subgroups (`host/group/subgroup/project`) need the go-get step, which GitLab answers.
 *
 * Every URL is passed through the rewrite rules before it is requested, the go-get request
 * included (see rewrite.ts); the repository URL returned is the un-rewritten one.
 */
export interface RepoRoot {
  /** Import path of the repository root (the go-import prefix or the matched root). */
  readonly root: string;
  /** Repository URL (before rewriting). */
  readonly repoURL: string;
  /** Subdirectory of the repository that `root` corresponds to ("" for the top). */
  readonly subdir: string;
}

export interface DiscoveryOptions {
  readonly rewrite: readonly RewriteRule[];
  readonly credentials: Credentials;
  /** Hosts laid out like github.com: `host/owner/repo`. @default ["github.com", "bitbucket.org"] */
  readonly knownHosts?: readonly string[];
  /** Deadline for the go-get requests of one lookup, in ms. */
  readonly timeoutMs: number;
  /** @default 10 */
  readonly maxRedirects?: number;
}

/** Largest part of a go-get page read: its head, where the meta tags are, must end within it. */
export const MAX_GO_GET_HEAD = 1 << 20;

const DEFAULT_KNOWN_HOSTS = ["github.com", "bitbucket.org"];

/** `.git` (or another VCS) qualifier anywhere in the path, as in Go's vcsPaths generic entry. */
const QUALIFIED =
  /(([a-z0-9.-]+\.)+[a-z0-9.-]+(:[0-9]+)?(\/~?[\w.-]+)+?)\.(bzr|fossil|git|hg|svn)(\/~?[\w.-]+)*$/;

export async function discoverRepo(modulePath: string, options: DiscoveryOptions): Promise<RepoRoot> {
  const fixed = staticRoot(modulePath, options.knownHosts ?? DEFAULT_KNOWN_HOSTS);
  if (fixed) return fixed;
  return dynamicRoot(modulePath, options);
}

/** The well-known layouts; undefined when none applies (then go-get decides). */
export function staticRoot(modulePath: string, knownHosts: readonly string[]): RepoRoot | undefined {
  for (const host of knownHosts) {
    if (!hasPathPrefix(modulePath, host)) continue;
    const m = new RegExp(`^(${escapeRegExp(host)}/[\\w.\\-]+/[\\w.\\-]+)(/[\\w.\\-]+)*$`).exec(modulePath);
    if (!m) throw new ProxyError("not-found", `invalid ${host} import path ${JSON.stringify(modulePath)}`);
    if (/\.(bzr|fossil|git|hg|svn)$/.test(m[1])) {
      throw new ProxyError("not-found", `invalid version control suffix in ${host}/ path`);
    }
    return { root: m[1], repoURL: `https://${m[1]}`, subdir: "" };
  }
  const q = QUALIFIED.exec(modulePath);
  if (q) {
    const vcs = q[5];
    if (vcs !== "git") {
      throw new ProxyError("not-found", `${modulePath}: ${vcs} repositories are not supported (only git)`);
    }
    // The repository URL leaves the qualifier out (Go's `{repo}`); git servers find
    // `hello.git` for `hello`.
    return { root: `${q[1]}.git`, repoURL: `https://${q[1]}`, subdir: "" };
  }
  return undefined;
}

interface MetaImport {
  readonly prefix: string;
  readonly vcs: string;
  readonly repoRoot: string;
  readonly subdir: string;
}

async function dynamicRoot(modulePath: string, options: DiscoveryOptions): Promise<RepoRoot> {
  const first = await fetchMetaImports(modulePath, options);
  const mmi = matchGoImport(first.imports, modulePath, first.url);
  if (mmi.prefix !== modulePath) {
    // Someone serving a longer path may not speak for the prefix: ask the prefix itself.
    const second = await fetchMetaImports(mmi.prefix, options);
    let again: MetaImport | undefined;
    try {
      again = matchGoImport(second.imports, modulePath, second.url);
    } catch {
      again = undefined;
    }
    if (
      !again ||
      again.prefix !== mmi.prefix ||
      again.vcs !== mmi.vcs ||
      again.repoRoot !== mmi.repoRoot ||
      again.subdir !== mmi.subdir
    ) {
      throw new ProxyError(
        "not-found",
        `${redactURL(first.url)} and ${redactURL(second.url)} disagree about go-import for ${mmi.prefix}`,
      );
    }
  }
  if (mmi.vcs === "mod") {
    throw new ProxyError(
      "not-found",
      `${modulePath} is served by the module proxy ${redactURL(mmi.repoRoot)}, not by git`,
    );
  }
  if (mmi.vcs !== "git") {
    throw new ProxyError("not-found", `${modulePath}: ${mmi.vcs} repositories are not supported (only git)`);
  }
  let u: URL;
  try {
    u = new URL(mmi.repoRoot);
  } catch {
    throw new ProxyError(
      "not-found",
      `${redactURL(first.url)}: invalid repo root ${JSON.stringify(mmi.repoRoot)}: no scheme`,
    );
  }
  if (u.protocol === "file:")
    throw new ProxyError("not-found", `${redactURL(first.url)}: invalid repo root: file scheme disallowed`);
  if (u.protocol !== "https:" && u.protocol !== "http:" && u.protocol !== "ssh:") {
    throw new ProxyError(
      "not-found",
      `${modulePath}: repository ${redactURL(mmi.repoRoot)} uses ${u.protocol} (only https, http and ssh are supported)`,
    );
  }
  return { root: mmi.prefix, repoURL: mmi.repoRoot, subdir: mmi.subdir };
}

async function fetchMetaImports(
  importPath: string,
  options: DiscoveryOptions,
): Promise<{ url: string; imports: MetaImport[] }> {
  const slash = importPath.indexOf("/");
  const host = slash < 0 ? importPath : importPath.slice(0, slash);
  if (!host.includes("."))
    throw new ProxyError("not-found", `${importPath}: import path does not begin with hostname`);
  const logical = `https://${host}${slash < 0 ? "/" : importPath.slice(slash)}?go-get=1`;
  const target = rewriteURL(logical, options.rewrite);
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), options.timeoutMs);
  try {
    const budget = new HttpBudget({
      credentials: options.credentials,
      signal: controller.signal,
      // readHead stops at the limit; the budget only guards against a runaway redirect body.
      maxBytes: 2 * MAX_GO_GET_HEAD,
      maxRedirects: options.maxRedirects ?? 10,
      logicalHost: host,
    });
    const res = await budget.send(target, "GET", { accept: "text/html" });
    const head = await readHead(res, MAX_GO_GET_HEAD);
    if (head === undefined) {
      throw new ProxyError(
        "upstream",
        `${redactURL(logical)}: the page's <head> does not end within its first ${MAX_GO_GET_HEAD} bytes; ` +
          "gomirror reads at most 1 MiB of a go-get page to find its go-import meta tags (put them in a shorter <head>)",
      );
    }
    const imports = parseMetaGoImports(head);
    if (imports.length === 0) {
      if (res.statusCode !== 200) {
        throw new ProxyError(
          "not-found",
          `${redactURL(logical)}?go-get=1: ${res.statusCode} answer without go-import meta tags`,
        );
      }
      throw new ProxyError("not-found", `${redactURL(logical)}?go-get=1: no go-import meta tag found`);
    }
    return { url: logical, imports };
  } catch (err) {
    if (err instanceof ProxyError) throw err;
    throw new ProxyError(
      "upstream",
      `${redactURL(logical)}?go-get=1: ${controller.signal.aborted ? "timed out" : "request failed"}`,
    );
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The go-import tags of a page's head (Go's parseMetaGoImports: up to `<body>` or `</head>`,
 * `mod` entries first, other entries of a prefix that has a `mod` entry dropped).
 */
export function parseMetaGoImports(page: string): MetaImport[] {
  const end = page.search(/<body[\s>]|<\/head\s*>/i);
  const head = end >= 0 ? page.slice(0, end) : page;
  const found: MetaImport[] = [];
  for (const m of head.matchAll(/<meta\b([^>]*)>/gi)) {
    const attrs = parseAttributes(m[1]);
    if (attrs.get("name") !== "go-import") continue;
    const f = (attrs.get("content") ?? "").trim().split(/\s+/);
    if (f.length === 3 || f.length === 4) {
      found.push({ prefix: f[0], vcs: f[1], repoRoot: f[2], subdir: f[3] ?? "" });
    }
  }
  const modPrefixes = new Set(found.filter((i) => i.vcs === "mod").map((i) => i.prefix));
  return [
    ...found.filter((i) => i.vcs === "mod"),
    ...found.filter((i) => i.vcs !== "mod" && !modPrefixes.has(i.prefix)),
  ];
}

function matchGoImport(imports: MetaImport[], importPath: string, url: string): MetaImport {
  let match = -1;
  for (let i = 0; i < imports.length; i++) {
    if (!hasPathPrefix(importPath, imports[i].prefix)) continue;
    if (match >= 0) {
      if (imports[match].vcs === "mod" && imports[i].vcs !== "mod") break;
      throw new ProxyError(
        "not-found",
        `${redactURL(url)}: multiple meta tags match import path ${JSON.stringify(importPath)}`,
      );
    }
    match = i;
  }
  if (match < 0) {
    const tried = imports
      .map((i) => `meta tag ${i.prefix} did not match import path ${importPath}`)
      .join(", ");
    throw new ProxyError("not-found", `${redactURL(url)}: no go-import meta tags (${tried})`);
  }
  return imports[match];
}

function parseAttributes(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of text.matchAll(/([^\s=/]+)\s*(?:=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?/g)) {
    const name = m[1].toLowerCase();
    if (!out.has(name)) out.set(name, decodeEntities(m[2] ?? m[3] ?? m[4] ?? ""));
  }
  return out;
}

function decodeEntities(s: string): string {
  return s.replace(
    /&(amp|lt|gt|quot|apos|#(\d+)|#x([0-9a-f]+));/gi,
    (all, name: string, dec?: string, hex?: string) => {
      if (dec) return String.fromCodePoint(Number(dec));
      if (hex) return String.fromCodePoint(Number.parseInt(hex, 16));
      return { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" }[name.toLowerCase()] ?? all;
    },
  );
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
