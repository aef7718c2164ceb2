import { ProxyError } from "../errors";
import { legacyGoMod, MAX_GO_MOD, modulePath, retractions } from "../module/gomod";
import { matchPathMajor, pathMajorMismatch, splitPathVersion } from "../module/path";
import {
  isPseudoVersion,
  makePseudoVersion,
  pseudoVersionBase,
  pseudoVersionRev,
  pseudoVersionTime,
} from "../module/pseudo";
import {
  build,
  canonical,
  canonicalVersion,
  compare,
  isValid,
  major,
  prerelease,
  sortVersions,
} from "../module/semver";
import { redactURL } from "./credentials";
import type { GitRepo, RevInfo } from "./repo";

/**
 * One module inside one git repository: the go command's modfetch.codeRepo rules, which turn
 * tags and commits into module versions. Where the module lives in the repository
 * (`codeDir`), which tags belong to it (`codeDir/` prefix), the major-version rules (`/vN` as a
 * major branch or a `vN/` subdirectory, `+incompatible`), pseudo-versions and their bases, and
 * where its go.mod and files are at a version.
 *
 * Method names and the order of checks follow cmd/go/internal/modfetch/coderepo.go (Go 1.23), so
 * that each answer, and each refusal, is the one the go command would reach with GOPROXY=direct.
 */

/**
 * Largest go.mod read while resolving versions and served as `.mod`. The go command reads a go.mod
 * of any size there (codehost's git ReadFile ignores its limit) and refuses only the zip of a
 * version whose go.mod passes 16 MiB; this source does the same up to this bound, which keeps
 * memory bounded.
 */
export const MAX_GO_MOD_READ = 4 * MAX_GO_MOD;

/** A resolved version: what `.info` reports. */
export interface ResolvedVersion {
  readonly version: string;
  readonly rev: RevInfo;
}

export class ModuleRepo {
  /** The module path's major version suffix (`/v2`), "" for v0/v1. */
  private readonly pathMajor: string;
  private readonly pathPrefix: string;
  /** Major version a pseudo-version must carry ("" means v0 or v1). */
  private readonly pseudoMajor: string;
  /** The module's directory inside the repository ("" for the root). */
  readonly codeDir: string;
  private retractions?: Promise<(v: string) => boolean>;

  constructor(
    readonly code: GitRepo,
    /** The import path of the repository root (plus the go-import subdirectory, if any). */
    readonly codeRoot: string,
    readonly modPath: string,
    /** Subdirectory named by a go-import meta tag's fourth field. */
    repoSubdir = "",
  ) {
    if (!hasPathPrefix(modPath, codeRoot)) {
      throw new ProxyError("not-found", `mismatched repo: found ${codeRoot} for ${modPath}`);
    }
    const split = splitPathVersion(modPath);
    if (!split) throw new ProxyError("invalid", `invalid module path ${JSON.stringify(modPath)}`);
    this.pathMajor = split.pathMajor;
    this.pathPrefix = codeRoot === modPath ? modPath : split.prefix;
    this.pseudoMajor = pathMajorPrefix(split.pathMajor);
    let dir = "";
    if (codeRoot !== modPath) {
      if (!hasPathPrefix(this.pathPrefix, codeRoot)) {
        throw new ProxyError(
          "not-found",
          `repository rooted at ${codeRoot} cannot contain module ${modPath}`,
        );
      }
      dir = trimSlashes(this.pathPrefix.slice(codeRoot.length));
    }
    this.codeDir = [trimSlashes(repoSubdir), dir].filter((s) => s !== "").join("/");
  }

  /** The module's tagged versions in semver order, `+incompatible` ones where allowed. */
  async versions(): Promise<string[]> {
    const p = this.codeDir !== "" ? `${this.codeDir}/` : "";
    const tags = await this.code.tags(p);
    const list: string[] = [];
    const incompatible: string[] = [];
    for (const tag of tags) {
      let v = tag.name;
      if (this.codeDir !== "") v = v.slice(this.codeDir.length + 1);
      if (v === "" || v !== canonical(v)) continue;
      if (isPseudoVersion(v)) continue;
      if (pathMajorMismatch(v, this.pathMajor) !== undefined) {
        // Go compares the major strings ("v2" > "v1", and "v10" too).
        if (this.codeDir === "" && this.pathMajor === "" && major(v) > "v1") {
          incompatible.push(v);
        }
        continue;
      }
      list.push(v);
    }
    const sorted = sortVersions(list);
    return this.appendIncompatibleVersions(sorted, sortVersions(incompatible));
  }

  private async appendIncompatibleVersions(list: string[], incompatible: string[]): Promise<string[]> {
    if (incompatible.length === 0 || this.pathMajor !== "") return list;
    const versionHasGoMod = async (v: string): Promise<boolean> =>
      (await this.readFileAt(v, "go.mod")) !== undefined;
    if (list.length > 0 && (await versionHasGoMod(list[list.length - 1]))) {
      // The latest compatible version has a go.mod: consumers are meant to stay on v0/v1.
      return list;
    }
    const out = [...list];
    let lastMajor = "";
    let lastMajorHasGoMod = false;
    for (let i = 0; i < incompatible.length; i++) {
      const v = incompatible[i];
      const m = major(v);
      if (m !== lastMajor) {
        let j = i;
        while (j < incompatible.length && major(incompatible[j]) === m) j++;
        lastMajor = m;
        lastMajorHasGoMod = await versionHasGoMod(incompatible[j - 1]);
      }
      if (!lastMajorHasGoMod) out.push(`${v}+incompatible`);
    }
    return out;
  }

  /** `.info` for a revision: a canonical version, a tag, a branch, a commit hash or prefix. */
  async stat(rev: string): Promise<ResolvedVersion> {
    const codeRev = this.revToRev(rev);
    // convert reads the retractions from the highest version's go.mod: asked for now, that
    // version's fetch is made together with this one's.
    if (!isPseudoVersion(rev)) void this.retractedVersions().catch(() => undefined);
    const info = await this.code.stat(codeRev);
    return this.convert(info, rev);
  }

  /** The default branch's head as a module version. */
  async latestCommit(): Promise<ResolvedVersion> {
    const info = await this.code.latest();
    return this.convert(info, "");
  }

  /** Turns what git reports into a module version (coderepo.go `convert`). */
  private async convert(info: RevInfo, statVers: string): Promise<ResolvedVersion> {
    const incompatibleOk = new Map<string, boolean>();
    const canUseIncompatible = async (v: string): Promise<boolean> => {
      if (this.codeDir !== "" || this.pathMajor !== "") return false;
      let ok = incompatibleOk.get("");
      if (ok === undefined) {
        ok = (await this.code.readFile(info.name, "go.mod", MAX_GO_MOD_READ)) === undefined;
        incompatibleOk.set("", ok);
      }
      if (!ok) return false;
      // A vN/go.mod claims the vN tags for the vN module (go.dev/issue/51324), unless the
      // +incompatible version was asked for explicitly.
      if (v !== "" && !statVers.endsWith("+incompatible")) {
        const m = major(v);
        let sub = incompatibleOk.get(m);
        if (sub === undefined) {
          sub = (await this.code.readFile(info.name, `${m}/go.mod`, MAX_GO_MOD_READ)) === undefined;
          incompatibleOk.set(m, sub);
        }
        if (!sub) return false;
      }
      return true;
    };

    const checkCanonical = async (v0: string): Promise<ResolvedVersion> => {
      let v = v0;
      try {
        await this.findDir(v);
      } catch (err) {
        if (err instanceof ProxyError && err.kind !== "invalid" && err.kind !== "not-found") throw err;
        throw new ProxyError("not-found", `${this.modPath}@${v}: invalid version: ${(err as Error).message}`);
      }
      const invalidf = (msg: string): ProxyError =>
        new ProxyError("not-found", `${this.modPath}@${v}: invalid version: ${msg}`);
      if (v === trimIncompatible(statVers)) v = statVers;
      const base = trimIncompatible(v);
      let errIncompatible: ProxyError | undefined;
      if (!matchPathMajor(base, this.pathMajor)) {
        if (await canUseIncompatible(base)) {
          v = `${base}+incompatible`;
        } else if (this.pathMajor !== "") {
          errIncompatible = invalidf(
            "module path includes a major version suffix, so major version must match",
          );
        } else {
          errIncompatible = invalidf(
            `module contains a go.mod file, so module path must match major version (${JSON.stringify(`${this.pathPrefix}/${major(v)}`)})`,
          );
        }
      } else if (v.endsWith("+incompatible")) {
        errIncompatible = invalidf(
          `+incompatible suffix not allowed: major version ${major(v)} is compatible`,
        );
      }
      if (statVers !== "" && statVers === canonicalVersion(statVers)) {
        const statBase = trimIncompatible(statVers);
        if (statBase !== base) {
          throw new ProxyError(
            "not-found",
            `${this.modPath}@${statVers}: invalid version: resolves to version ${v} (${statBase} is not a tag)`,
          );
        }
      }
      if (errIncompatible) throw errIncompatible;
      return { version: v, rev: info };
    };

    if (isPseudoVersion(statVers)) {
      const resolved = await checkCanonical(statVers);
      await this.validatePseudoVersion(info, statVers);
      return resolved;
    }

    const tagPrefix = this.codeDir !== "" ? `${this.codeDir}/` : "";
    let isRetracted: (v: string) => boolean;
    try {
      isRetracted = await this.retractedVersions();
    } catch {
      isRetracted = () => false;
    }

    const tagToVersion = (tag: string): { v: string; canonical: boolean } => {
      if (!tag.startsWith(tagPrefix)) return { v: "", canonical: false };
      const trimmed = tag.slice(tagPrefix.length);
      if (isPseudoVersion(tag)) return { v: "", canonical: false };
      const v = canonical(trimmed);
      if (v === "" || !trimmed.startsWith(v)) return { v: "", canonical: false };
      return { v, canonical: v === trimmed };
    };

    const fromVCS = tagToVersion(info.version);
    if (fromVCS.canonical) {
      try {
        return await checkCanonical(fromVCS.v);
      } catch (err) {
        if (!(err instanceof ProxyError) || (err.kind !== "not-found" && err.kind !== "invalid")) throw err;
      }
    }

    let highestCanonical = "";
    let pseudoBase = "";
    for (const pathTag of info.tags) {
      const { v, canonical: tagIsCanonical } = tagToVersion(pathTag);
      if (statVers !== "" && compare(v, statVers) === 0) {
        if (tagIsCanonical) return checkCanonical(v);
        pseudoBase = v;
      }
      if (tagIsCanonical && compare(highestCanonical, v) < 0 && !isRetracted(v)) {
        if (matchPathMajor(v, this.pathMajor) || (await canUseIncompatible(v))) highestCanonical = v;
      }
    }
    if (highestCanonical !== "") return checkCanonical(highestCanonical);

    if (pseudoBase === "") {
      // Which tags may be a base is decided up front (canUseIncompatible reads files), so the
      // history walk can use a plain predicate.
      const candidates = await this.code.tags(tagPrefix);
      const allowedTags = new Set<string>();
      for (const t of candidates) {
        const { v } = tagToVersion(t.name);
        if (v === "") continue;
        if (!matchPathMajor(v, this.pathMajor) && !(await canUseIncompatible(v))) continue;
        if (isRetracted(v)) continue;
        allowedTags.add(t.name);
      }
      const tag = await this.code.recentTag(info.name, tagPrefix, (t) => allowedTags.has(t), compare);
      if (tag !== "") pseudoBase = tagToVersion(tag).v;
    }
    return checkCanonical(makePseudoVersion(this.pseudoMajor, pseudoBase, info.time, info.short));
  }

  /** coderepo.go `validatePseudoVersion`: a pseudo-version's revision, time and base must be true. */
  private async validatePseudoVersion(info: RevInfo, version: string): Promise<void> {
    const fail = (msg: string): ProxyError =>
      new ProxyError("not-found", `${this.modPath}@${version}: invalid pseudo-version: ${msg}`);
    const rev = pseudoVersionRev(version);
    if (rev !== info.short) {
      if (rev.startsWith(info.short))
        throw fail(`revision is longer than canonical (expected ${info.short})`);
      if (info.short.startsWith(rev))
        throw fail(`revision is shorter than canonical (expected ${info.short})`);
      throw fail(`does not match short name of revision (expected ${info.short})`);
    }
    const t = pseudoVersionTime(version);
    if (t.getTime() !== Math.floor(info.time.getTime() / 1000) * 1000) {
      throw fail(`does not match version-control timestamp (expected ${timestamp(info.time)})`);
    }
    const tagPrefix = this.codeDir !== "" ? `${this.codeDir}/` : "";
    const base = pseudoVersionBase(trimIncompatible(version));
    if (base === "") {
      if (this.pseudoMajor === "" && major(version) === "v1") {
        throw fail("major version without preceding tag must be v0, not v1");
      }
      return;
    }
    for (const tag of info.tags) {
      if (tag.startsWith(tagPrefix) && tag.slice(tagPrefix.length) === base) {
        throw fail(
          `tag (${tag}) found on revision ${rev} is already canonical, so should not be replaced with a pseudo-version derived from that tag`,
        );
      }
    }
    const tags = await this.code.tags(tagPrefix + base);
    let lastTag = "";
    let ancestorFound = false;
    for (const tag of tags) {
      const versionOnly = tag.name.startsWith(tagPrefix) ? tag.name.slice(tagPrefix.length) : tag.name;
      if (compare(versionOnly, base) === 0) {
        lastTag = tag.name;
        ancestorFound = await this.code.descendsFrom(info.name, tag.name);
        if (ancestorFound) break;
      }
    }
    if (lastTag === "") throw fail(`preceding tag (${base}) not found`);
    if (!ancestorFound) throw fail(`revision ${rev} is not a descendent of preceding tag (${lastTag})`);
  }

  private revToRev(rev: string): string {
    if (isValid(rev)) {
      if (isPseudoVersion(rev)) return pseudoVersionRev(rev);
      let r = rev;
      if (build(r) === "+incompatible") r = r.slice(0, -"+incompatible".length);
      return this.codeDir === "" ? r : `${this.codeDir}/${r}`;
    }
    return rev;
  }

  /**
   * Where the module is at `version`: the revision, the directory inside the repository, and
   * the go.mod found there (coderepo.go `findDir`). Throws "not-found" with the go command's
   * reason when the version is not this module's.
   */
  async findDir(version: string): Promise<{ rev: RevInfo; dir: string; gomod?: Buffer }> {
    if (!isValid(version))
      throw new ProxyError("invalid", `${this.modPath}@${version}: invalid version: syntax error`);
    const revName = this.revToRev(version);
    const rev = await this.code.stat(revName);
    const file1 = joinPath(this.codeDir, "go.mod");
    const gomod1 = await this.code.readFile(rev.name, file1, MAX_GO_MOD_READ);
    const mpath1 = gomod1 ? modulePath(gomod1) : "";
    const found1 =
      gomod1 !== undefined &&
      (isMajor(mpath1, this.pathMajor) || (this.pathMajor === "" && mpath1.startsWith("gopkg.in/")));
    const notHere = (msg: string): ProxyError => new ProxyError("not-found", msg);

    let file2 = "";
    if (this.pathMajor !== "" && this.codeRoot !== this.modPath && !this.pathMajor.startsWith(".")) {
      const dir2 = joinPath(this.codeDir, this.pathMajor.slice(1));
      file2 = joinPath(dir2, "go.mod");
      const gomod2 = await this.code.readFile(rev.name, file2, MAX_GO_MOD_READ);
      const mpath2 = gomod2 ? modulePath(gomod2) : "";
      const found2 = gomod2 !== undefined && isMajor(mpath2, this.pathMajor);
      if (found1 && found2) {
        throw notHere(
          `${this.pathPrefix}/${file1} and ...${this.pathMajor}/go.mod both have ...${this.pathMajor} module paths at revision ${revName}`,
        );
      }
      if (found2) return { rev, dir: dir2, gomod: gomod2 };
      if (gomod2 !== undefined) {
        if (mpath2 === "")
          throw notHere(`${this.codeRoot}/${file2} is missing module path at revision ${revName}`);
        throw notHere(
          `${this.codeRoot}/${file2} has non-...${this.pathMajor} module path "${mpath2}" at revision ${revName}`,
        );
      }
    }

    if (found1) return { rev, dir: this.codeDir, gomod: gomod1 };
    if (gomod1 !== undefined) {
      const suffix = file2 !== "" ? ` (and ...${this.pathMajor}/go.mod does not exist)` : "";
      if (mpath1 === "") throw notHere(`${file1} is missing module path${suffix} at revision ${revName}`);
      if (this.pathMajor !== "") {
        throw notHere(
          `${file1} has non-...${this.pathMajor} module path "${mpath1}"${suffix} at revision ${revName}`,
        );
      }
      if (!splitPathVersion(mpath1))
        throw notHere(`${file1} has malformed module path "${mpath1}"${suffix} at revision ${revName}`);
      throw notHere(
        `${file1} has post-${major(version)} module path "${mpath1}"${suffix} at revision ${revName}`,
      );
    }
    if (this.codeDir === "" && (this.pathMajor === "" || this.pathMajor.startsWith("."))) {
      return { rev, dir: "" };
    }
    if (file2 !== "") {
      throw notHere(
        `missing ${this.pathPrefix}/go.mod and ...${this.pathMajor}/go.mod at revision ${revName}`,
      );
    }
    throw notHere(`missing ${this.pathPrefix}/go.mod at revision ${revName}`);
  }

  /** `.mod` at a canonical version: the go.mod found, or `module <path>` when there is none. */
  async goMod(version: string): Promise<Buffer> {
    this.requireCanonical(version);
    if (isPseudoVersion(version)) await this.stat(version);
    const { rev, dir, gomod } = await this.findDir(version);
    if (gomod) return gomod;
    const data = await this.code.readFile(rev.name, joinPath(dir, "go.mod"), MAX_GO_MOD_READ);
    return data ?? legacyGoMod(this.modPath);
  }

  /** Where the zip's files come from at a canonical version (after the checks `.zip` makes). */
  async zipSource(version: string): Promise<{ rev: RevInfo; dir: string }> {
    this.requireCanonical(version);
    if (isPseudoVersion(version)) await this.stat(version);
    const { rev, dir } = await this.findDir(version);
    return { rev, dir };
  }

  private requireCanonical(version: string): void {
    if (version !== canonicalVersion(version)) {
      throw new ProxyError("invalid", `${this.modPath}@${version}: version ${version} is not canonical`);
    }
  }

  /** The retractions declared by the go.mod of the highest release (coderepo.go `retractedVersions`), once. */
  private retractedVersions(): Promise<(v: string) => boolean> {
    this.retractions ??= this.loadRetractions();
    return this.retractions;
  }

  private async loadRetractions(): Promise<(v: string) => boolean> {
    let versions = await this.versions();
    const inc = versions.findIndex((v) => v.endsWith("+incompatible"));
    if (inc >= 0) versions = versions.slice(0, inc);
    if (versions.length === 0) return () => false;
    let highest = "";
    for (let i = versions.length - 1; i >= 0; i--) {
      if (prerelease(versions[i]) === "") {
        highest = versions[i];
        break;
      }
    }
    if (highest === "") highest = versions[versions.length - 1];
    const intervals = retractions(await this.goMod(highest));
    return (v: string) => intervals.some((r) => compare(r.low, v) <= 0 && compare(v, r.high) <= 0);
  }

  /** A file at the revision a version names (used for go.mod probes). */
  private async readFileAt(version: string, file: string): Promise<Buffer | undefined> {
    const rev = await this.code.stat(this.revToRev(version));
    return this.code.readFile(rev.name, file, MAX_GO_MOD_READ);
  }

  describe(): string {
    return `${this.modPath} (${redactURL(this.code.url)}${this.codeDir ? `, directory ${this.codeDir}` : ""})`;
  }
}

/** Whether path `s` starts with the elements of `prefix` (Go's str.HasPathPrefix). */
export function hasPathPrefix(s: string, prefix: string): boolean {
  if (s.length === prefix.length) return s === prefix;
  if (s.length > prefix.length) {
    if (prefix !== "" && prefix.endsWith("/")) return s.startsWith(prefix);
    return s[prefix.length] === "/" && s.startsWith(prefix);
  }
  return false;
}

/** x/mod PathMajorPrefix: `/v2` -> `v2`, `.v2-unstable` -> `v2`, "" -> "". */
function pathMajorPrefix(pathMajor: string): string {
  if (pathMajor === "") return "";
  let m = pathMajor.endsWith("-unstable") ? pathMajor.slice(0, -"-unstable".length) : pathMajor;
  m = m.slice(1);
  return m;
}

/** coderepo.go isMajor: whether a go.mod's module path fits the path's major version. */
function isMajor(mpath: string, pathMajor: string): boolean {
  if (mpath === "") return false;
  const split = splitPathVersion(mpath);
  if (!split) return false;
  if (pathMajor === "") {
    const p = pathMajorPrefix(split.pathMajor);
    return p === "" || p === "v0" || p === "v1";
  }
  if (split.pathMajor === "") return false;
  return pathMajor.slice(1) === split.pathMajor.slice(1);
}

function trimIncompatible(v: string): string {
  return v.endsWith("+incompatible") ? v.slice(0, -"+incompatible".length) : v;
}

function trimSlashes(s: string): string {
  return s.replace(/^\/+|\/+$/g, "");
}

function joinPath(dir: string, file: string): string {
  return dir === "" ? file : `${dir}/${file}`;
}

function timestamp(t: Date): string {
  return t.toISOString().replace(/[-:T]/g, "").slice(0, 14);
}
