import { existsSync } from "node:fs";
import * as path from "node:path";

/**
 * The directory holding the proxy's own Dockerfile (`image/` at the package root).
 *
 * The construct runs from `lib/aws/*.ts` under ts-node and from `dist/lib/aws/*.js` once
 * compiled, so the package root sits a different number of levels up in each case: walk up
 * until `image/Dockerfile` appears instead of counting `..`.
 *
 * @param startDir where to start looking (the directory of this file unless given)
 * @throws Error naming the directories searched when no `image/Dockerfile` is found
 */
export function findImageDirectory(startDir: string = __dirname): string {
  const searched: string[] = [];
  let dir = path.resolve(startDir);
  for (;;) {
    const candidate = path.join(dir, "image");
    searched.push(candidate);
    if (existsSync(path.join(candidate, "Dockerfile"))) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new Error(
    `gomirror: no image/Dockerfile found above ${startDir} (looked in ${searched.join(", ")}). ` +
      "Install the gomirror package with its image/ directory, or pass `image` " +
      "(for example ecs.ContainerImage.fromRegistry(...)) to GoMirror.",
  );
}

/** The server bundle the Dockerfile copies, relative to the image directory. */
export const IMAGE_BUNDLE = path.join("dist", "gomirror.js");

/**
 * Why an image built from `directory` would fail, if it would: the Dockerfile copies the server
 * bundle that `npm run bundle` writes. Synth works without it (nothing is built until deploy).
 */
export function imageBundleProblem(directory: string): string | undefined {
  const bundle = path.join(directory, IMAGE_BUNDLE);
  if (existsSync(bundle)) return undefined;
  return `${bundle} does not exist yet: run \`npm run bundle\` in the gomirror package before \`cdk deploy\`, or the image build fails`;
}
