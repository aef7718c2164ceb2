import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { DiskStorage } from "../../../lib/proxy/storage/disk";
import { startTestProxy, writeFiles, type TestProxy } from "../../support/proxy";
import { startStaticUpstream, type StaticUpstream } from "../../support/upstream";

/**
 * Answers the checksum database cannot vouch for (GOSUMDB=off here, as for GONOSUMDB paths): a
 * .mod or .info the go command would refuse is refused with 502 and never kept, and the right
 * answer is served once the upstream has it.
 */
describe("bad .mod and .info answers without a checksum database", () => {
  const M = "example.test/m";
  const GOOD_MOD = `module ${M}\n\ngo 1.21\n`;
  const info = (v: string, time: unknown = "2024-01-02T03:04:05Z") =>
    JSON.stringify({ Version: v, Time: time });
  let root: string;
  let upstream: StaticUpstream;
  let mirror: TestProxy;

  beforeAll(async () => {
    root = mkdtempSync(path.join(tmpdir(), "gomirror-bad-answers-"));
    upstream = await startStaticUpstream({ root });
  });
  afterAll(async () => {
    await upstream.close();
    rmSync(root, { recursive: true, force: true });
  });
  beforeEach(async () => {
    mirror = await startTestProxy({ GOPROXY: upstream.url });
  });
  afterEach(() => mirror.close());

  const stored = async (key: string) => new DiskStorage(mirror.storage).stat(key);

  it.each([
    ["garbage", "\u0000\u0001\u0002 not a go.mod {"],
    ["an HTML error page", "<html><body><h1>Oops</h1></body></html>\n"],
    ["no module line", "go 1.21\n"],
    ["another major version's module line", `module ${M}/v3\n`],
    ["a malformed module path", "module Not/A/Path\n"],
  ])("refuses a .mod with %s, keeps nothing, and serves the right one later", async (_what, text) => {
    const file = `${M}/@v/v1.0.0.mod`;
    writeFiles(root, { [file]: text });
    const res = await fetch(`${mirror.url}/${file}`);
    expect(res.status).toBe(502);
    expect(await res.text()).toMatch(/^example\.test\/m@v1\.0\.0: /);
    expect(await stored(file)).toBeUndefined();
    writeFileSync(path.join(root, file), GOOD_MOD);
    expect(await (await fetch(`${mirror.url}/${file}`)).text()).toBe(GOOD_MOD);
  });

  it.each([
    ["a Time that is not RFC 3339", info("v1.0.0", "yesterday")],
    ["a Time that is not a date", info("v1.0.0", "2024-02-30T00:00:00Z")],
    ["no Time", JSON.stringify({ Version: "v1.0.0" })],
    ["another version", info("v1.0.1")],
  ])("refuses a .info with %s, keeps nothing, and serves the right one later", async (_what, text) => {
    const file = `${M}/@v/v1.0.0.info`;
    writeFiles(root, { [file]: text });
    expect((await fetch(`${mirror.url}/${file}`)).status).toBe(502);
    expect(await stored(file)).toBeUndefined();
    writeFileSync(path.join(root, file), info("v1.0.0"));
    expect(await (await fetch(`${mirror.url}/${file}`)).json()).toEqual({
      Version: "v1.0.0",
      Time: "2024-01-02T03:04:05Z",
    });
  });

  it("refuses a query or @latest answer naming a version the path cannot have, and remembers nothing", async () => {
    writeFiles(root, {
      [`${M}/@v/main.info`]: info("v3.0.0"),
      [`${M}/@latest`]: info("v4.0.0"),
    });
    expect((await fetch(`${mirror.url}/${M}/@v/main.info`)).status).toBe(502);
    expect((await fetch(`${mirror.url}/${M}/@latest`)).status).toBe(502);
    expect(await stored(`${M}/@v/v3.0.0.info`)).toBeUndefined();
    expect(await stored(`${M}/@v/v4.0.0.info`)).toBeUndefined();
  });
});
