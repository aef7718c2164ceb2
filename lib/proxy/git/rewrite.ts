import { ProxyError } from "../errors";

/**
 * URL rewrites in the manner of git's `url.<to>.insteadOf <from>`: a URL starting with `from`
 * has that prefix replaced by `to`; when several rules match, the longest `from` wins.
 *
 * They are applied to every URL the git source contacts: repository URLs and also the
 * `https://<module path>?go-get=1` discovery requests. The go command only rewrites what git
 * itself fetches (git's insteadOf does not touch go-get), but a proxy inside a network usually
 * reaches the same host under a different address for both, and tests need both on loopback.
 * Origin URLs in `.info` files stay un-rewritten, as the go command reports them.
 */
export interface RewriteRule {
  readonly from: string;
  readonly to: string;
}

/** Parses `GOMIRROR_GIT_REWRITE`: comma-separated `from=to` pairs (whitespace around them ignored). */
export function parseRewriteRules(spec: string | undefined): RewriteRule[] {
  if (!spec || spec.trim() === "") return [];
  return spec
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "")
    .map((pair) => {
      const eq = pair.indexOf("=");
      const from = eq > 0 ? pair.slice(0, eq).trim() : "";
      const to = eq > 0 ? pair.slice(eq + 1).trim() : "";
      if (!from || !to) {
        throw new ProxyError(
          "invalid",
          `GOMIRROR_GIT_REWRITE entry ${JSON.stringify(pair)} is not of the form from=to ` +
            `(e.g. https://git.example.com/=http://10.0.0.5:8080/)`,
        );
      }
      for (const u of [from, to]) {
        if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(u)) {
          throw new ProxyError(
            "invalid",
            `GOMIRROR_GIT_REWRITE entry ${JSON.stringify(pair)}: ${JSON.stringify(u)} is not an absolute URL`,
          );
        }
      }
      return { from, to };
    });
}

/** The URL after the longest matching rule, or the URL itself when none matches. */
export function rewriteURL(url: string, rules: readonly RewriteRule[]): string {
  let best: RewriteRule | undefined;
  for (const r of rules) {
    if (url.startsWith(r.from) && (!best || r.from.length > best.from.length)) best = r;
  }
  return best ? best.to + url.slice(best.from.length) : url;
}
