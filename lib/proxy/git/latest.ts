import { ProxyError } from "../errors";
import { legacyGoMod, retractions } from "../module/gomod";
import { compare, prerelease } from "../module/semver";
import type { ModuleRepo, ResolvedVersion } from "./versions";

/**
 * Queries a source answers itself, as the go command answers them with GOPROXY=direct
 * (cmd/go/internal/modload/query.go with modload.CheckAllowed): `latest` and version prefixes
 * (`v1`, `v1.2`) pick the highest allowed release, else the highest allowed pre-release, and
 * `latest` falls back to the default branch head. A version is not allowed when it is
 * retracted by the go.mod of the module's latest version (found while ignoring retractions), so
 * a version that retracts itself is skipped. `+incompatible` versions count only when the
 * highest compatible version before them has no go.mod.
 */

/** `@latest`: the version `go get M@latest` settles on. */
export async function resolveLatest(m: ModuleRepo): Promise<ResolvedVersion> {
  const versions = await m.versions();
  const ignoringRetractions = await pick(m, versions, () => true);
  const latest = ignoringRetractions ? await m.stat(ignoringRetractions) : await m.latestCommit();
  const retracted = retractedBy(await m.goMod(latest.version));
  const allowed = (v: string) => !retracted(v);
  const best = await pick(m, versions, allowed);
  if (best) return m.stat(best);
  const head = ignoringRetractions ? await m.latestCommit() : latest;
  if (allowed(head.version)) return head;
  throw new ProxyError("not-found", `${m.modPath}@latest: no matching versions for query "latest"`);
}

/** A version prefix query (`v1`, `v1.2`): the highest allowed version it matches, if any. */
export async function resolvePrefix(m: ModuleRepo, query: string): Promise<ResolvedVersion | undefined> {
  const versions = await m.versions();
  const matching = versions.filter((v) => v.startsWith(`${query}.`));
  const latest = await pick(m, versions, () => true);
  const retracted = latest ? retractedBy(await m.goMod(latest)) : () => false;
  const best = await pick(m, matching, (v) => !retracted(v));
  return best ? m.stat(best) : undefined;
}

/** modload's filterVersions, then the highest release, else the highest pre-release. */
async function pick(
  m: ModuleRepo,
  versions: readonly string[],
  allowed: (v: string) => boolean,
): Promise<string | undefined> {
  let releases: string[] = [];
  const prereleases: string[] = [];
  let lastCompatible = "";
  let needIncompatible = false;
  for (const v of versions) {
    if (!allowed(v)) continue;
    if (!needIncompatible) {
      if (!v.endsWith("+incompatible")) lastCompatible = v;
      else if (lastCompatible !== "") {
        if (await hasGoMod(m, lastCompatible)) break;
        needIncompatible = true;
      }
    }
    if (prerelease(v) !== "") prereleases.push(v);
    else releases.push(v);
  }
  releases = releases.sort(compare);
  if (releases.length > 0) return releases[releases.length - 1];
  return prereleases.sort(compare)[prereleases.length - 1];
}

/** modload's versionHasGoMod: whether the version's `.mod` is not the one made up for a module without go.mod. */
async function hasGoMod(m: ModuleRepo, version: string): Promise<boolean> {
  return !(await m.goMod(version)).equals(legacyGoMod(m.modPath));
}

function retractedBy(gomod: Buffer): (v: string) => boolean {
  const intervals = retractions(gomod);
  return (v) => intervals.some((r) => compare(r.low, v) <= 0 && compare(v, r.high) <= 0);
}
