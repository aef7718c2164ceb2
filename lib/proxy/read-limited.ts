import type { Readable } from "node:stream";
import { ProxyError } from "./errors";

/**
 * Reads a small body (a `.mod`, a `.info`, a list, a checksum database answer) into memory,
 * refusing anything larger than `limit` bytes as soon as it is seen.
 * @throws ProxyError "too-large"
 */
export async function readLimited(body: Readable, limit: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body) {
    total += (chunk as Buffer).length;
    if (total > limit) {
      body.destroy();
      throw new ProxyError("too-large", `${what} is larger than ${limit} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
