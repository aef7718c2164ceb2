import path from "node:path";
import { imageTuning } from "../test/support/image-tuning";
import { freePort, start, waitUntilUp, type Started } from "./processes";

/**
 * The node:http column (bench/node-floor-server.ts): the runtime's own cost, measured with the
 * Node.js and the memory settings gomirror runs with. Bundled with esbuild into `workDir`.
 */

export interface NodeFloor {
  /** The bundled server script. */
  readonly script: string;
}

/** The bundled floor server, or undefined (no column) when esbuild cannot build it. */
export async function prepareNodeFloor(workDir: string): Promise<NodeFloor | undefined> {
  const script = path.join(workDir, "node-floor", "server.js");
  try {
    const esbuild = await import("esbuild");
    await esbuild.build({
      entryPoints: [path.join(__dirname, "node-floor-server.ts")],
      bundle: true,
      platform: "node",
      target: "node24",
      format: "cjs",
      minify: true,
      outfile: script,
      logLevel: "warning",
    });
  } catch (err) {
    process.stderr.write(`bench: esbuild failed (${String(err)}): no node:http column\n`);
    return undefined;
  }
  return { script };
}

export interface RunningNodeFloor {
  readonly url: string;
  readonly proc: Started;
}

/** Starts the floor server on the GOPROXY tree `root`. */
export async function startNodeFloor(floor: NodeFloor, root: string): Promise<RunningNodeFloor> {
  const port = await freePort();
  const proc = start("node:http", process.execPath, [floor.script, root, String(port)], {
    env: { PATH: process.env.PATH, NODE_ENV: "production", ...imageTuning() },
  });
  const url = `http://127.0.0.1:${port}`;
  await waitUntilUp(`${url}/`, proc, { anyStatus: true });
  return { url, proc };
}
