import { generateKeyPairSync, sign } from "node:crypto";
import { noteKeyHash, openNote, parseVerifierKey } from "../../../lib/proxy/sumdb/note";
import { parseGosumdb, SUM_GOLANG_ORG_KEY } from "../../../lib/proxy/sumdb/config";
import { describeWithTools } from "../../support/tools";
import { refGenerateKey, refSign } from "./ref";

const TEXT = "go.sum database tree\n5\nnND/nri/U0xuHUrYSy0HtMeal2vK1+Ep1vGXZvI4yPs=\n";

describeWithTools({ go: true }, "signed notes against x/mod", () => {
  let alice: { signer: string; verifier: string };
  let aliceToo: { signer: string; verifier: string };
  let bob: { signer: string; verifier: string };
  beforeAll(() => {
    alice = refGenerateKey("db.example.test");
    aliceToo = refGenerateKey("db.example.test"); // same name, another key
    bob = refGenerateKey("bob.example.test");
  });

  it("verifies a note signed with the configured key", () => {
    const v = parseVerifierKey(alice.verifier);
    const note = openNote(refSign(TEXT, alice.signer), [v]);
    expect(note.text).toBe(TEXT);
    expect(note.sigs.map((s) => s.name)).toEqual(["db.example.test"]);
    expect(note.unverifiedSigs).toEqual([]);
  });

  it("keeps signatures of unknown keys apart and accepts the known one", () => {
    const note = openNote(refSign(TEXT, bob.signer, alice.signer), [parseVerifierKey(alice.verifier)]);
    expect(note.sigs.map((s) => s.name)).toEqual(["db.example.test"]);
    expect(note.unverifiedSigs.map((s) => s.name)).toEqual(["bob.example.test"]);
  });

  it("refuses a note signed only by another key of the same name", () => {
    expect(() => openNote(refSign(TEXT, aliceToo.signer), [parseVerifierKey(alice.verifier)])).toThrow(
      /no verifiable signatures.*db\.example\.test\+/,
    );
  });

  it("refuses a note whose text was changed after signing", () => {
    const msg = refSign(TEXT, alice.signer).toString("utf8").replace("\n5\n", "\n6\n");
    expect(() => openNote(Buffer.from(msg), [parseVerifierKey(alice.verifier)])).toThrow(
      /invalid signature for key/,
    );
  });

  it("refuses a signature whose bytes were changed", () => {
    const msg = refSign(TEXT, alice.signer).toString("utf8");
    const line = msg.slice(msg.lastIndexOf("\u2014 "));
    const sig = Buffer.from(line.split(" ")[2].trim(), "base64");
    sig[10] ^= 1;
    const bad =
      msg.slice(0, msg.lastIndexOf("\u2014 ")) + `\u2014 db.example.test ${sig.toString("base64")}\n`;
    expect(() => openNote(Buffer.from(bad), [parseVerifierKey(alice.verifier)])).toThrow(/invalid signature/);
  });

  it("parses the verifier keys x/mod generates and computes the same key hash", () => {
    const v = parseVerifierKey(alice.verifier);
    expect(v.name).toBe("db.example.test");
    expect(v.keyHash.toString(16).padStart(8, "0")).toBe(alice.verifier.split("+")[1]);
    const raw = Buffer.from(alice.verifier.split("+").slice(2).join("+"), "base64");
    expect(noteKeyHash("db.example.test", raw)).toBe(v.keyHash);
  });
});

describe("note format rules", () => {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  const raw = publicKey.export({ format: "der", type: "spki" }).subarray(12);
  const key = Buffer.concat([Buffer.of(1), raw]);
  const name = "local.test";
  const hash = noteKeyHash(name, key);
  const vkey = `${name}+${hash.toString(16).padStart(8, "0")}+${key.toString("base64")}`;
  const signLine = (text: string, n = name): string => {
    const sig = sign(null, Buffer.from(text), privateKey);
    const h = Buffer.alloc(4);
    h.writeUInt32BE(hash);
    return `\u2014 ${n} ${Buffer.concat([h, sig]).toString("base64")}\n`;
  };
  const v = parseVerifierKey(vkey);

  it("accepts a well-formed note", () => {
    expect(openNote(Buffer.from(`${TEXT}\n${signLine(TEXT)}`), [v]).text).toBe(TEXT);
  });

  it.each([
    ["no blank line before the signatures", `${TEXT}${signLine(TEXT)}`],
    ["a control character in the text", `go.sum\tdatabase\n\n${signLine("go.sum\tdatabase\n")}`],
    ["a signature line without the em dash", `${TEXT}\n- ${signLine(TEXT).slice(2)}`],
    ["no final newline", `${TEXT}\n${signLine(TEXT).trimEnd()}`],
    ["a short signature", `${TEXT}\n\u2014 ${name} AAAA\n`],
    ["bad base64", `${TEXT}\n\u2014 ${name} !!!!\n`],
    [
      "more than 100 signatures",
      `${TEXT}\n${Array.from({ length: 101 }, () => signLine(TEXT, "other.test")).join("")}`,
    ],
  ])("refuses %s", (_what, msg) => {
    expect(() => openNote(Buffer.from(msg), [v])).toThrow(/malformed note/);
  });

  it("refuses invalid UTF-8", () => {
    const msg = Buffer.concat([
      Buffer.from("go.sum "),
      Buffer.of(0xff),
      Buffer.from(`\n\n${signLine("x\n")}`),
    ]);
    expect(() => openNote(msg, [v])).toThrow(/malformed note/);
  });

  it.each([
    [
      "a key hash that does not match",
      vkey.replace(/\+[0-9a-f]{8}\+/, "+00000000+"),
      /invalid verifier hash/,
    ],
    ["a name with a plus", `a+b+${vkey.split("+")[1]}+${key.toString("base64")}`, /malformed verifier id/],
    ["a short hash", `${name}+abc+${key.toString("base64")}`, /malformed verifier id/],
    ["a 31-byte key", `${name}+00000000+${key.subarray(0, 32).toString("base64")}`, /verifier/],
  ])("refuses a verifier key with %s", (_what, k, err) => {
    expect(() => parseVerifierKey(k)).toThrow(err);
  });

  it("refuses an unknown algorithm", () => {
    const k2 = Buffer.concat([Buffer.of(2), raw]);
    const h2 = noteKeyHash(name, k2).toString(16).padStart(8, "0");
    expect(() => parseVerifierKey(`${name}+${h2}+${k2.toString("base64")}`)).toThrow(
      /unknown verifier algorithm/,
    );
  });
});

describe("GOSUMDB", () => {
  it("knows sum.golang.org's key (as in cmd/go/internal/modfetch/key.go)", () => {
    expect(parseGosumdb("sum.golang.org")).toEqual({
      name: "sum.golang.org",
      key: SUM_GOLANG_ORG_KEY,
      url: undefined,
    });
    expect(parseVerifierKey(SUM_GOLANG_ORG_KEY).name).toBe("sum.golang.org");
  });

  it("maps sum.golang.google.cn to sum.golang.org at that URL", () => {
    expect(parseGosumdb("sum.golang.google.cn")?.url).toBe("https://sum.golang.google.cn");
  });

  it("reads a key with a URL, and off", () => {
    expect(parseGosumdb(`${SUM_GOLANG_ORG_KEY} http://127.0.0.1:1234/`)?.url).toBe("http://127.0.0.1:1234");
    expect(parseGosumdb("off")).toBeUndefined();
  });

  it("says what is wrong with a bad value", () => {
    expect(() => parseGosumdb("a b c")).toThrow(/too many fields/);
    expect(() => parseGosumdb("nokey.example")).toThrow(
      /invalid GOSUMDB "nokey.example": malformed verifier id/,
    );
    expect(() => parseGosumdb(`${SUM_GOLANG_ORG_KEY} ftp://x`)).toThrow(/only http and https/);
  });
});
