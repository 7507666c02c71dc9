/**
 * The catalog of hostile JSON values the fuzzers draw from: numbers at and past every bound the
 * protocol has, strings that break naive code (lone surrogates, NUL, prototype keys, text past
 * each length limit), wrong types, and nesting thousands of levels deep.
 * @module
 */
import { LAMPORT_CLIENT_JUMP_MAX, LAMPORT_MAX, LIMITS } from "../../shared/limits.ts";
import type { Rng } from "../../shared/prng.ts";

/** Numbers at and just past every bound the schemas check. */
export const BOUNDARY_NUMBERS: readonly number[] = [
  0,
  -0,
  1,
  -1,
  0.5,
  -0.5,
  1.5,
  1e-300,
  2 ** 31 - 1,
  2 ** 31,
  2 ** 32 - 1,
  2 ** 32,
  LAMPORT_CLIENT_JUMP_MAX,
  LAMPORT_CLIENT_JUMP_MAX + 1,
  LAMPORT_MAX - 1,
  LAMPORT_MAX,
  LAMPORT_MAX + 1,
  2 ** 53 - 1,
  2 ** 53,
  2 ** 53 + 2,
  -(2 ** 53),
  2 ** 64,
  1e308,
  -1e308,
  ...Object.values(LIMITS).flatMap((n) => [n - 1, n, n + 1]),
];

/**
 * Number tokens to splice into JSON text: what JSON.stringify never writes (overflow to
 * Infinity, underflow, exponent forms) and what JSON.parse refuses (hex, leading zeros, NaN).
 */
export const RAW_NUMBER_TOKENS: readonly string[] = [
  "1e400",
  "-1e400",
  "1e-400",
  "-0",
  "1.0",
  "1E2",
  "1e0",
  "4503599627370496.5",
  "9007199254740993",
  "123456789012345678901234567890",
  "0x10",
  "01",
  "NaN",
  "Infinity",
  "-",
  "+1",
  ".5",
  "1.",
];

const LONG_LIMITS = [
  LIMITS.descriptionChars,
  LIMITS.argChars,
  LIMITS.userNameChars,
  LIMITS.passwordChars,
  LIMITS.idempotencyKeyChars,
  LIMITS.taskIdChars,
  LIMITS.workerNameChars,
  512, // token
  128, // nonce and proof
];

/** Short strings that break naive code; each is valid JSON once stringified. */
export const ODD_STRINGS: readonly string[] = [
  "",
  " ",
  "\u0000",
  "a\u0000b",
  "\ud800", // lone high surrogate
  "\udc00", // lone low surrogate
  "x\udbff",
  "\udfff\ud800",
  "\ufeff", // byte order mark
  "\u202e", // right-to-left override
  "\u2028\u2029",
  "e\u0301\u0301\u0301",
  "😀",
  "\r\n",
  "\t",
  "\\",
  '"',
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "hasOwnProperty",
  "valueOf",
  "then",
  "t-1",
  "t-0",
  "t--1",
  "t-99999999999999999999",
  "T-1",
  " t-1",
  "null",
  "true",
  "0",
  "-1",
  "NaN",
  "%s%n%x",
  "${7*7}",
  "<script>",
  "../../etc/passwd",
  "admin",
  "o1",
  "o2",
  '{"v":1}',
  "0".repeat(64),
  "f".repeat(64),
  "scrypt$1$1$1$AAAA$BBBB",
];

/** Nesting depths: V8's JSON.parse handles them all; recursive code after it may not. */
const DEPTHS = [64, 1_000, 5_000, 20_000];

/**
 * JSON text spliced in verbatim by {@link stringifyJson}: deep nesting is built as text, because
 * JSON.stringify and structuredClone overflow the stack on values a few thousand levels deep.
 */
export class RawJson {
  readonly text: string;

  constructor(text: string) {
    this.text = text;
  }
}

/** JSON text of `depth` nested arrays or objects. */
export function nestedText(depth: number, kind: "array" | "object"): string {
  return kind === "array"
    ? "[".repeat(depth) + "]".repeat(depth)
    : '{"a":'.repeat(depth) + "{}" + "}".repeat(depth);
}

const nestingCache = new Map<string, RawJson>();

/** True for a value shared between draws (raw JSON), which mutators must leave alone. */
export function isSharedValue(value: unknown): boolean {
  return value instanceof RawJson;
}

/** `depth` nested arrays or objects, as raw JSON (cached: building the text takes time). */
export function nestedValue(depth: number, kind: "array" | "object"): RawJson {
  const key = `${kind}${depth}`;
  let value = nestingCache.get(key);
  if (value === undefined) {
    value = new RawJson(nestedText(depth, kind));
    nestingCache.set(key, value);
  }
  return value;
}

/**
 * JSON.stringify that splices {@link RawJson} values in verbatim and keeps own "__proto__" keys.
 * @example
 * stringifyJson({ a: new RawJson("[[]]") }) // '{"a":[[]]}'
 */
export function stringifyJson(value: unknown): string {
  const raws: string[] = [];
  const text = JSON.stringify(value, (_key, v) => {
    if (v instanceof RawJson) {
      raws.push(v.text);
      return `\u0000raw#${raws.length - 1}`;
    }
    return v;
  }) ?? "null";
  if (raws.length === 0) return text;
  return text.replace(/"\\u0000raw#(\d+)"/g, (_, n) => raws[Number(n)]);
}

/** A number drawn from the boundaries, or a random one of any magnitude and sign. */
export function hostileNumber(rng: Rng): number {
  if (rng.chance(0.7)) return rng.pick(BOUNDARY_NUMBERS);
  const magnitude = 10 ** rng.int(0, 20);
  const value = (rng.next() - 0.5) * 2 * magnitude;
  return rng.chance(0.5) ? Math.trunc(value) : value;
}

/** A string from the odd catalog, one at or past a length limit, or random code units. */
export function hostileString(rng: Rng): string {
  const roll = rng.next();
  if (roll < 0.45) return rng.pick(ODD_STRINGS);
  if (roll < 0.75) {
    const limit = rng.pick(LONG_LIMITS);
    const length = limit + rng.int(-1, 1);
    return rng.pick(["a", "\u0000", "é", "😀", "\ud800"]).repeat(Math.max(0, length));
  }
  if (roll < 0.77) return "x".repeat(rng.pick([100_000, 300_000]));
  return randomCodeUnits(rng, rng.int(1, 40));
}

/** A string of random UTF-16 code units, surrogates and controls included. */
export function randomCodeUnits(rng: Rng, length: number): string {
  let out = "";
  for (let i = 0; i < length; i++) {
    const roll = rng.next();
    const code = roll < 0.6
      ? rng.int(0x20, 0x7e)
      : roll < 0.7
      ? rng.int(0, 0x1f)
      : roll < 0.85
      ? rng.int(0xd800, 0xdfff)
      : rng.int(0x80, 0xffff);
    out += String.fromCharCode(code);
  }
  return out;
}

/** Any hostile JSON value: a wrong type, a boundary number, an odd string, deep nesting. */
export function hostileValue(rng: Rng): unknown {
  const roll = rng.next();
  if (roll < 0.3) return hostileNumber(rng);
  if (roll < 0.6) return hostileString(rng);
  if (roll < 0.85) {
    return rng.pick<unknown>([
      null,
      true,
      false,
      [],
      {},
      [1],
      [""],
      [null],
      { a: 1 },
      { __proto__: null, polluted: true },
      JSON.parse('{"__proto__":{"polluted":true}}'),
      JSON.parse('{"constructor":{"prototype":{"polluted":true}}}'),
    ]);
  }
  // The deepest cost milliseconds to parse: rare.
  const depth = rng.chance(0.1) ? rng.pick(DEPTHS) : rng.pick([8, 64]);
  return nestedValue(depth, rng.chance(0.5) ? "array" : "object");
}
