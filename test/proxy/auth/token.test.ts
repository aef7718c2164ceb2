import crypto from "node:crypto";
import {
  ALL_PATHS,
  MAX_RECORD_BYTES,
  TokenFormatError,
  checkName,
  containsToken,
  formatRecord,
  generateToken,
  hashToken,
  normalizeScopes,
  parseRecord,
  tokenId,
  verifyToken,
  type TokenRecord,
} from "../../../lib/proxy/auth/token";

const lookupOf =
  (...records: TokenRecord[]) =>
  (id: string): TokenRecord | undefined =>
    records.find((r) => r.id === id);

describe("token format", () => {
  it("is gmt_, a 16-hex-digit id, _, and a 43-character base64url secret", () => {
    const { token, record } = generateToken("ci");
    expect(token).toMatch(/^gmt_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    expect(tokenId(token)).toBe(record.id);
    expect(token.startsWith(`gmt_${record.id}_`)).toBe(true);
    expect(Buffer.from(token.slice(21), "base64url")).toHaveLength(32);
  });

  it("builds id, secret and salt from the random source's bytes as they are", () => {
    const sizes: number[] = [];
    let next = 0;
    const random = (size: number): Buffer => {
      sizes.push(size);
      return Buffer.alloc(size, ++next);
    };
    const { token, record } = generateToken("ci", "", random);
    expect(sizes).toEqual([8, 32, 16]);
    expect(token).toBe(`gmt_0101010101010101_${Buffer.alloc(32, 2).toString("base64url")}`);
    expect(record.salt).toBe(Buffer.alloc(16, 3).toString("base64url"));
  });

  it("draws at least 128 bits per secret: no repeats, every bit set about half the time", () => {
    const n = 2000;
    const secrets = Array.from({ length: n }, () => generateToken("ci").token.slice(21));
    expect(new Set(secrets).size).toBe(n);
    const ones = new Array<number>(256).fill(0);
    for (const secret of secrets) {
      const bytes = Buffer.from(secret, "base64url");
      for (let bit = 0; bit < 256; bit++) ones[bit] += (bytes[bit >> 3] >> (bit & 7)) & 1;
    }
    // Binomial(2000, 0.5): standard deviation 22.4; 6 of them either side.
    expect(Math.min(...ones)).toBeGreaterThan(866);
    expect(Math.max(...ones)).toBeLessThan(1134);
  });

  it("reads no id from anything that is not a whole token", () => {
    const { token } = generateToken("ci");
    for (const bad of [
      token.slice(1),
      `${token}x`,
      token.replace("gmt_", "gmx_"),
      ` ${token}`,
      "",
      "gmt__",
    ]) {
      expect({ bad, id: tokenId(bad) }).toEqual({ bad, id: undefined });
    }
    expect(containsToken(`password ${token} here`)).toBe(true);
    expect(containsToken("gmt_short_x")).toBe(false);
  });
});

describe("hashing", () => {
  it("is hex HMAC-SHA-256 keyed with the salt's text over the token (vector from Python's hmac)", () => {
    const token = `gmt_00112233445566ff_${"A".repeat(43)}`;
    expect(hashToken(token, "0123456789abcdefghijkl")).toBe(
      "37a78093e93fbe3abf39ed53c48c2085d76c884266e2a7f75877a01c9ce6811d",
    );
  });

  it("gives the same token under two salts two unrelated hashes", () => {
    const { token } = generateToken("ci");
    expect(hashToken(token, "a".repeat(22))).not.toBe(hashToken(token, "b".repeat(22)));
  });

  it("stores the hash of the token, never the token or its secret", () => {
    const { token, record } = generateToken("ci");
    expect(record.hash).toBe(hashToken(token, record.salt));
    expect(formatRecord(record)).not.toContain(token.slice(21));
  });
});

describe("verifyToken", () => {
  const a = generateToken("alice");
  const b = generateToken("bob");
  const lookup = lookupOf(a.record, b.record);

  it("finds the record of a genuine token by its id", () => {
    expect(verifyToken(a.token, lookup)).toBe(a.record);
    expect(verifyToken(b.token, lookup)).toBe(b.record);
  });

  it("refuses a changed secret, an unknown id, a secret under another id, and garbage", () => {
    const last = a.token.at(-1) === "A" ? "B" : "A";
    expect(verifyToken(`${a.token.slice(0, -1)}${last}`, lookup)).toBeUndefined();
    expect(verifyToken(generateToken("carol").token, lookup)).toBeUndefined();
    expect(verifyToken(`gmt_${b.record.id}_${a.token.slice(21)}`, lookup)).toBeUndefined();
    expect(verifyToken("not a token", lookup)).toBeUndefined();
    expect(verifyToken("", lookup)).toBeUndefined();
  });

  it("compares whole hashes with crypto.timingSafeEqual, however early they differ", () => {
    const spy = jest.spyOn(crypto, "timingSafeEqual");
    try {
      const early = { ...a.record, hash: `${a.record.hash[0] === "0" ? "1" : "0"}${a.record.hash.slice(1)}` };
      const late = {
        ...a.record,
        hash: `${a.record.hash.slice(0, -1)}${a.record.hash.at(-1) === "0" ? "1" : "0"}`,
      };
      expect(verifyToken(a.token, lookupOf(early))).toBeUndefined();
      expect(verifyToken(a.token, lookupOf(late))).toBeUndefined();
      expect(verifyToken(a.token, lookupOf(a.record))).toBe(a.record);
      expect(spy).toHaveBeenCalledTimes(3);
      for (const [x, y] of spy.mock.calls) {
        expect([(x as Buffer).length, (y as Buffer).length]).toEqual([32, 32]);
      }
    } finally {
      spy.mockRestore();
    }
  });
});

describe("records", () => {
  it("round-trip through their one text form", () => {
    const { record } = generateToken("ci-bot@team.example", "corp.example/a/*,corp.example/tools");
    const line = formatRecord(record);
    expect(line.split(" ")).toEqual([
      record.id,
      "ci-bot@team.example",
      "corp.example/a/*,corp.example/tools",
      record.salt,
      record.hash,
    ]);
    expect(parseRecord(line)).toEqual(record);
    expect(parseRecord(`  ${line.replace(/ /g, "\t")}  `)).toEqual(record);
  });

  it("say which field is malformed without repeating the line", () => {
    const good = generateToken("ci").record;
    const cases: [Partial<TokenRecord>, RegExp][] = [
      [{ id: "ZZZZ" }, /malformed id/],
      [{ name: "-x" }, /malformed name/],
      [{ scopes: "a,,b" }, /malformed scopes/],
      [{ salt: "short" }, /malformed salt/],
      [{ hash: good.hash.toUpperCase() }, /malformed hash/],
    ];
    for (const [change, message] of cases) {
      const line = formatRecord({ ...good, ...change });
      expect(() => parseRecord(line)).toThrow(message);
      try {
        parseRecord(line);
      } catch (err) {
        expect((err as Error).message).not.toContain(good.salt);
      }
    }
    expect(() => parseRecord("one two three")).toThrow("has 3 fields; want 5: id name scopes salt hash");
    expect(() => parseRecord(`${formatRecord(good)} ${"x".repeat(MAX_RECORD_BYTES)}`)).toThrow(
      `is longer than ${MAX_RECORD_BYTES} bytes`,
    );
  });

  it("refuse a token pasted into the file, and never echo it", () => {
    const { token } = generateToken("ci");
    let message = "";
    try {
      parseRecord(token);
    } catch (err) {
      expect(err).toBeInstanceOf(TokenFormatError);
      message = (err as Error).message;
    }
    expect(message).toMatch(/holds a token itself, not its record/);
    expect(message).not.toContain(token);
    expect(message).not.toContain(token.slice(21));
  });

  it("fit a CloudFront KeyValueStore value, and longer scopes are refused", () => {
    const many = Array.from({ length: 60 }, (_, i) => `corp.example/team-${i}/*`).join(",");
    expect(() => generateToken("ci", many)).toThrow(`a token record holds at most ${MAX_RECORD_BYTES} bytes`);
  });
});

describe("names and scopes", () => {
  it("allow letters, digits and a few separators in names", () => {
    expect(checkName("ci")).toBeUndefined();
    expect(checkName("dev.alice@corp_1-x")).toBeUndefined();
    for (const bad of ["", "a b", "(none)", "-x", "a".repeat(65), "é", 'a"b']) {
      expect({ bad, ok: checkName(bad) === undefined }).toEqual({ bad, ok: false });
    }
  });

  it("store scopes as a comma list, every path as *", () => {
    expect(normalizeScopes("")).toBe(ALL_PATHS);
    expect(normalizeScopes(" , ")).toBe(ALL_PATHS);
    expect(normalizeScopes(" corp.example/a/* , corp.example/b ")).toBe("corp.example/a/*,corp.example/b");
    expect(() => normalizeScopes("corp example")).toThrow(
      'scope "corp example" is not a module path pattern',
    );
  });
});
