import { rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import { ProxyError, notFound } from "../../lib/proxy/errors";
import type { Download, ModuleInfo, ModuleSource } from "../../lib/proxy/sources/source";

/** What a fake source does: answer from its tables, or fail with a given error. */
export interface FakeModule {
  readonly versions: string[];
  readonly mods?: Record<string, string>;
  readonly zips?: Record<string, Buffer>;
  readonly times?: Record<string, string>;
}

/** An in-memory ModuleSource that counts its calls and can be told to fail or stall. */
export class FakeSource implements ModuleSource {
  readonly calls: string[] = [];
  failure: ProxyError | Error | undefined;
  /** Resolves every call only after this promise settles (to hold concurrent callers). */
  gate: Promise<void> | undefined;

  constructor(private readonly modules: Record<string, FakeModule> = {}) {}

  count(prefix: string): number {
    return this.calls.filter((c) => c.startsWith(prefix)).length;
  }

  private async enter(call: string, path: string): Promise<FakeModule> {
    this.calls.push(call);
    if (this.gate) await this.gate;
    if (this.failure) throw this.failure;
    const mod = this.modules[path];
    if (!mod) throw notFound(`not found: ${path}`);
    return mod;
  }

  async list(path: string): Promise<string[]> {
    return [...(await this.enter(`list ${path}`, path)).versions];
  }

  async info(path: string, query: string): Promise<ModuleInfo> {
    const mod = await this.enter(`info ${path}@${query}`, path);
    const version =
      mod.versions.find((v) => v === query) ??
      mod.versions
        .filter((v) => v.startsWith(`${query}.`))
        .sort()
        .pop();
    if (!version) throw notFound(`not found: ${path}@${query}`);
    return { Version: version, Time: mod.times?.[version] ?? "2024-01-02T03:04:05Z" };
  }

  async latest(path: string): Promise<ModuleInfo> {
    const mod = await this.enter(`latest ${path}`, path);
    const version = mod.versions[mod.versions.length - 1];
    if (!version) throw notFound(`not found: ${path}@latest`);
    return { Version: version, Time: "2024-01-02T03:04:05Z" };
  }

  async mod(path: string, version: string): Promise<Buffer> {
    const mod = await this.enter(`mod ${path}@${version}`, path);
    const text = mod.mods?.[version];
    if (text === undefined) throw notFound(`not found: ${path}@${version}`);
    return Buffer.from(text);
  }

  async zip(path: string, version: string): Promise<Download> {
    const mod = await this.enter(`zip ${path}@${version}`, path);
    const data = mod.zips?.[version];
    if (!data) throw notFound(`not found: ${path}@${version}`);
    // Several chunks, so that consumers really stream.
    const chunks: Buffer[] = [];
    for (let i = 0; i < data.length; i += 64 * 1024) chunks.push(data.subarray(i, i + 64 * 1024));
    return { body: Readable.from(chunks), size: data.length };
  }
}

/** A zip body that delivers `good` bytes and then fails, as a dropped upstream connection does. */
export function brokenDownload(good: Buffer, declaredSize: number): Download {
  const body = new Readable({
    read() {
      this.push(good);
      this.destroy(new ProxyError("upstream", `upstream sent ${good.length} of ${declaredSize} bytes`));
    },
  });
  return { body, size: declaredSize };
}

export async function readStream(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * Reads a download the way its contract says a consumer must: the whole body into a file in
 * `dir`, then the download's own check (Download.check) on that file. Resolves with the bytes
 * only when the check passed; the file is removed either way.
 */
export async function readChecked(download: Download, dir: string): Promise<Buffer> {
  const data = await readStream(download.body);
  const file = path.join(dir, `checked-${process.hrtime.bigint()}.zip`);
  await writeFile(file, data);
  try {
    await download.check?.(file);
  } finally {
    await rm(file, { force: true });
  }
  return data;
}
