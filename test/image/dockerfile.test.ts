import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { validate } from "dockerfile-utils";
import { CACHE_DIR, CONTAINER_PORT, IMAGE_ENVIRONMENT, RUN_AS_USER, TMP_DIR } from "../../lib/image-contract";

/**
 * The Dockerfile as text: it lints clean, it keeps to what every builder parses (podman/buildah
 * and docker's classic builder reject BuildKit-only syntax), and its build context holds only
 * what it copies.
 */

const ROOT = path.resolve(__dirname, "../..");
const DOCKERFILE = path.join(ROOT, "image", "Dockerfile");
const DOCKERIGNORE = path.join(ROOT, "image", ".dockerignore");
const text = readFileSync(DOCKERFILE, "utf8");

/** Instructions with continuation lines joined and comments dropped. */
function instructions(source: string): string[] {
  return source
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
}

describe("image/Dockerfile", () => {
  it("has no problems according to `dockerfile-utils lint`", async () => {
    const bin = path.join(ROOT, "node_modules", ".bin", "dockerfile-utils");
    const { stdout, stderr } = await promisify(execFile)(bin, ["lint", DOCKERFILE], { encoding: "utf8" });
    expect(`${stdout}${stderr}`.trim()).toBe("");
    expect(validate(text)).toEqual([]);
  });

  it("is linted for real: a broken copy of it gets diagnostics", () => {
    const broken = text.replace("EXPOSE 8080", "EXPOSE http");
    expect(broken).not.toBe(text);
    expect(validate(broken).map((d) => d.message)).toEqual([expect.stringMatching(/http/)]);
  });

  it("starts with ARG BASE_IMAGE and ARG GIT_BUILDER_IMAGE (public images), a git stage, then FROM ${BASE_IMAGE}", () => {
    const all = instructions(text);
    const [first, second] = all;
    expect(first).toMatch(/^ARG BASE_IMAGE=\S+$/);
    expect(second).toMatch(/^ARG GIT_BUILDER_IMAGE=\S+$/);
    for (const arg of [first, second]) expect(arg).not.toMatch(/localhost\//);
    expect(all.filter((i) => /^FROM\b/i.test(i))).toEqual([
      "FROM ${GIT_BUILDER_IMAGE} AS git",
      "FROM ${BASE_IMAGE}",
    ]);
    expect(all).toContain("COPY --from=git /git-rootfs/ /");
  });

  it("uses nothing the Debian builders reject (COPY --link, heredocs)", () => {
    for (const i of instructions(text)) {
      expect(i).not.toMatch(/--link\b/);
      expect(i).not.toMatch(/<<-?\s*["']?[A-Za-z_]/);
    }
  });

  it("ends as uid 65532, with a HEALTHCHECK that needs only node", () => {
    const users = instructions(text).filter((i) => /^USER\b/.test(i));
    expect(users[users.length - 1]).toMatch(/^USER 65532(:65532)?$/);
    const health = instructions(text).filter((i) => /^HEALTHCHECK\b/.test(i));
    expect(health).toHaveLength(1);
    expect(health[0]).toMatch(/CMD \["node", "\/app\/healthcheck\.js"\]$/);
  });

  it("has a build context of exactly the files it copies", () => {
    const copied = instructions(text)
      .filter((i) => /^(COPY|ADD)\b/.test(i) && !/--from=/.test(i))
      .flatMap((i) => {
        const words = i.split(/\s+/).filter((w) => !w.startsWith("--"));
        return words.slice(1, -1); // sources; the last word is the destination
      });
    const ignore = readFileSync(DOCKERIGNORE, "utf8")
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l !== "" && !l.startsWith("#"));
    expect(ignore[0]).toBe("*");
    const allowed = ignore.slice(1).map((l) => {
      expect(l.startsWith("!")).toBe(true);
      return l.slice(1);
    });
    expect(allowed.sort()).toEqual(copied.sort());
  });

  it("keeps the image contract the constructs build on (lib/image-contract.ts)", () => {
    const all = instructions(text);
    const env = all.filter((i) => /^ENV\b/.test(i)).join(" ");
    for (const [name, value] of Object.entries(IMAGE_ENVIRONMENT)) expect(env).toContain(`${name}=${value}`);
    expect(all).toContain(`EXPOSE ${CONTAINER_PORT}`);
    expect(all).toContain(`VOLUME ["${CACHE_DIR}", "${TMP_DIR}"]`);
    expect(all.filter((i) => /^USER\b/.test(i)).pop()).toBe(`USER ${RUN_AS_USER}:${RUN_AS_USER}`);
    expect(text).toContain(`fs.chownSync('${CACHE_DIR}', ${RUN_AS_USER}, ${RUN_AS_USER})`);
  });
});
