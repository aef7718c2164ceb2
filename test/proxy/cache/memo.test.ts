import { remembered } from "../../../lib/proxy/cache/memo";
import { parseRoute } from "../../../lib/proxy/http/routes";

describe("remembered", () => {
  it("calls the function once per argument while the argument stays remembered", () => {
    const calls: string[] = [];
    const upper = remembered((s: string) => {
      calls.push(s);
      return s.toUpperCase();
    });
    expect([upper("a"), upper("b"), upper("a"), upper("a")]).toEqual(["A", "B", "A", "A"]);
    expect(calls).toEqual(["a", "b"]);
  });

  it("remembers false and undefined results too", () => {
    let calls = 0;
    const none = remembered(() => {
      calls++;
      return undefined;
    });
    none("x");
    none("x");
    expect(calls).toBe(1);
  });

  it("does not remember a call that threw", () => {
    let calls = 0;
    const strict = remembered((s: string) => {
      calls++;
      if (s === "bad") throw new Error(`bad input ${s}`);
      return s;
    });
    expect(() => strict("bad")).toThrow("bad input bad");
    expect(() => strict("bad")).toThrow("bad input bad");
    expect(calls).toBe(2);
  });

  it("forgets the oldest argument beyond its entry limit", () => {
    const calls: string[] = [];
    const id = remembered((s: string) => {
      calls.push(s);
      return s;
    }, 2);
    id("a");
    id("b");
    id("c"); // "a" goes
    id("b");
    id("a");
    expect(calls).toEqual(["a", "b", "c", "a"]);
  });

  it("never remembers arguments longer than its length limit", () => {
    let calls = 0;
    const id = remembered(
      (s: string) => {
        calls++;
        return s;
      },
      10,
      3,
    );
    id("long");
    id("long");
    id("abc");
    id("abc");
    expect(calls).toBe(3);
  });
});

describe("parseRoute's cache of parsed targets", () => {
  it("answers a repeated target with the same frozen route", () => {
    const first = parseRoute("/example.test/memo/@v/v1.0.0.info");
    expect(parseRoute("/example.test/memo/@v/v1.0.0.info")).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
  });

  it("refuses a bad target every time it comes", () => {
    for (let i = 0; i < 3; i++) {
      expect(() => parseRoute("/example.test/memo/@v/v1.0.0.mod/../x.zip")).toThrow();
      expect(() => parseRoute("/Example.test/memo/@v/v1.0.0.mod")).toThrow(/invalid escaped module path/);
    }
  });
});
