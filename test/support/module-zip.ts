import { randomBytes } from "node:crypto";
import yazl from "yazl";

/**
 * A small module zip built in memory for unit tests (the end-to-end tests build theirs with
 * x/mod). `fillerBytes` of random, stored (uncompressed) content make it as large as wanted.
 */
export async function makeModuleZip(
  modulePath: string,
  version: string,
  options: { files?: Record<string, string | Buffer>; fillerBytes?: number } = {},
): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  const prefix = `${modulePath}@${version}/`;
  const files = options.files ?? { "go.mod": `module ${modulePath}\n`, "hello.go": "package hello\n" };
  for (const [name, content] of Object.entries(files)) {
    zip.addBuffer(Buffer.isBuffer(content) ? content : Buffer.from(content), prefix + name, {
      mtime: new Date(0),
    });
  }
  if (options.fillerBytes) {
    zip.addBuffer(randomBytes(options.fillerBytes), `${prefix}filler.bin`, {
      compress: false,
      mtime: new Date(0),
    });
  }
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
