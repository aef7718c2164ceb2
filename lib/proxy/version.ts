/**
 * The version of gomirror (package.json's). From a clone it is two folders up; from the
 * published package (dist/lib/proxy) three; in the server bundle esbuild inlines the first.
 */
function readVersion(): string {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- package.json, read once
    return (require("../../package.json") as { version: string }).version;
  } catch {
    // the published package: dist/lib/proxy/version.js
  }
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- package.json, read once
    return (require("../../../package.json") as { version: string }).version;
  } catch {
    return "unknown";
  }
}

/** gomirror's version, as package.json says. */
export const VERSION: string = readVersion();
