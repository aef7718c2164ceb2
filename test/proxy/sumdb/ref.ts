import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { buildGoHelper } from "../../support/gohelper";

/**
 * The x/mod reference (test/support/gohelper/sumdbref) driven from the tests: h1 hashes, keys,
 * signed notes, transparency-log vectors, and a checksum database server on 127.0.0.1.
 */

let bin: string | undefined;
function helper(): string {
  bin ??= buildGoHelper("sumdbref");
  return bin;
}

function run(args: string[], input?: string | Buffer): string {
  return execFileSync(helper(), args, {
    input,
    encoding: "utf8",
    timeout: 60_000,
    stdio: ["pipe", "pipe", "pipe"],
  });
}

export function refHashZip(...files: string[]): string[] {
  return run(["hashzip", ...files])
    .trim()
    .split("\n");
}

export function refHashMod(...files: string[]): string[] {
  return run(["hashmod", ...files])
    .trim()
    .split("\n");
}

export function refGenerateKey(name: string): { signer: string; verifier: string } {
  const [signer, verifier] = run(["genkey", name]).trim().split("\n");
  return { signer, verifier };
}

export function refSign(text: string, ...signers: string[]): Buffer {
  return Buffer.from(run(["sign", ...signers], text), "utf8");
}

export function refTilePaths(tiles: readonly { h: number; l: number; n: number; w: number }[]): string[] {
  return run(["tilepath"], tiles.map((t) => `${t.h} ${t.l} ${t.n} ${t.w}\n`).join(""))
    .trim()
    .split("\n");
}

export interface TlogVectors {
  readonly recordHashes: string[];
  readonly treeHashes: string[];
  readonly storedCounts: number[];
  readonly storedHashes: string[];
  readonly recordProofs: { t: number; n: number; proof: string[] | null }[];
  readonly treeProofs: { t: number; n: number; proof: string[] | null }[];
  readonly tiles: { path: string; h: number; l: number; n: number; w: number; data: string }[];
  readonly splits: { index: number; level: number; n: number; tile: string }[];
  readonly signedTreeFmt: string;
}

export function refTlog(height: number, records: readonly string[]): TlogVectors {
  return JSON.parse(run(["tlog", String(height)], records.join("\n") + "\n")) as TlogVectors;
}

export interface RefRecord {
  readonly path: string;
  readonly version: string;
  /** h1 of the zip; omitted records hold only the go.mod line. */
  readonly zip?: string;
  readonly mod: string;
}

export interface RefSumdb {
  readonly url: string;
  /** Paths the server was asked for, in order. */
  readonly requests: string[];
  stop(): Promise<void>;
}

/** Starts x/mod's test checksum database holding `records` (logged in that order). */
export function startRefSumdb(signerKey: string, records: readonly RefRecord[]): Promise<RefSumdb> {
  const child: ChildProcess = spawn(helper(), ["serve", signerKey], { stdio: ["pipe", "pipe", "pipe"] });
  const requests: string[] = [];
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (d: string) => {
    stderr += d;
    for (const line of d.split("\n")) {
      const m = /^GET (\S+)/.exec(line);
      if (m) requests.push(m[1]);
    }
  });
  child.stdin?.end(JSON.stringify(records));
  const stop = (): Promise<void> =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once("exit", () => resolve());
      child.kill("SIGTERM");
    });
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout?.setEncoding("utf8").on("data", (d: string) => {
      out += d;
      const nl = out.indexOf("\n");
      if (nl >= 0) resolve({ url: out.slice(0, nl), requests, stop });
    });
    child.once("exit", (code) => reject(new Error(`sumdbref serve exited with ${code}: ${stderr}`)));
  });
}

/** Writes a zip with the given files (names as given, contents as UTF-8), fixed times. */
export async function writeModuleZip(file: string, files: Record<string, string>): Promise<void> {
  const { createWriteStream } = await import("node:fs");
  const yazl = (await import("yazl")).default;
  const zip = new yazl.ZipFile();
  for (const [name, content] of Object.entries(files))
    zip.addBuffer(Buffer.from(content), name, { mtime: new Date(0) });
  zip.end();
  await new Promise<void>((resolve, reject) => {
    zip.outputStream.pipe(createWriteStream(file)).on("close", resolve).on("error", reject);
  });
}
