/**
 * Fuzz target: `decodeMessage(payload, DIRECTIONS.x)` for every direction, fed valid messages of
 * every type, the same after structural or byte mutations, and pure noise. It must never throw;
 * a failure is a ProtocolError with a known code, a bounded message and a sane request id; a
 * success is a message of the direction that survives a second round trip unchanged; and no
 * input may pollute Object.prototype.
 * @module
 */
import { ERROR_CODES } from "../../shared/errors.ts";
import { PROTOCOL_VERSION } from "../../shared/limits.ts";
import type { Rng } from "../../shared/prng.ts";
import {
  type Decoded,
  decodeMessage,
  encodeMessage,
  ProtocolError,
} from "../../shared/protocol/codec.ts";
import { canonicalJson } from "../sim/canonical_json.ts";
import { mutateBytes } from "./byte_mutator.ts";
import { type EpisodeContext, type FuzzTarget, FuzzViolation } from "./fuzz_runner.ts";
import { stringifyJson } from "./hostile_values.ts";
import { mutateJson } from "./json_mutator.ts";
import {
  DIRECTION_NAMES,
  type DirectionName,
  directionOf,
  generateMessage,
} from "./message_generators.ts";

/**
 * Longest error message accepted. Error replies are logged and sent back: one naming every one
 * of 100,000 unknown fields would turn each hostile frame into a huge log line.
 */
export const MAX_ERROR_MESSAGE_CHARS = 2048;

const errorCodes = new Set<string>(ERROR_CODES);
const encoder = new TextEncoder();

/** What one iteration feeds the codec. */
export interface CodecCase {
  direction: DirectionName;
  payload: Uint8Array;
  /** True when the payload is a generated message, unmutated: it must decode to itself. */
  pristine: boolean;
  source: unknown;
  description: string;
}

/** Draws one codec input: a valid message, mutated (structurally or bytewise) or not, or noise. */
export function drawCodecCase(rng: Rng, direction: DirectionName): CodecCase {
  const message = generateMessage(rng, direction);
  const type = String(message.type);
  const roll = rng.next();
  if (roll < 0.15) {
    return {
      direction,
      payload: encodeMessage(message),
      pristine: true,
      source: message,
      description: `valid ${type}`,
    };
  }
  if (roll < 0.6) {
    const { value, did } = mutateJson(rng, message);
    return {
      direction,
      payload: encoder.encode(stringifyJson(value)),
      pristine: false,
      source: value,
      description: `${type} with ${did.join("; ")}`,
    };
  }
  if (roll < 0.95) {
    const { bytes, did } = mutateBytes(rng, encodeMessage(message));
    return {
      direction,
      payload: bytes,
      pristine: false,
      source: null,
      description: `${type} bytes ${did.join("; ")}`,
    };
  }
  const noise = new Uint8Array(rng.int(0, 64)).map(() => rng.int(0, 255));
  return { direction, payload: noise, pristine: false, source: null, description: "noise" };
}

/**
 * Decodes `payload` as `direction` and checks every property of the result.
 * @throws {FuzzViolation} naming the broken property.
 */
export function checkDecode(payload: Uint8Array, direction: DirectionName, pristine: boolean) {
  let decoded: Decoded<unknown>;
  try {
    decoded = decodeMessage(payload, directionOf(direction));
  } catch (error) {
    throw new FuzzViolation(
      "decoderThrew",
      `decodeMessage(${direction}) threw ${describe(error)}`,
      {
        cause: error,
      },
    );
  }
  checkPrototypes();
  if (decoded.ok) {
    checkMessage(decoded.message, direction);
  } else {
    checkError(decoded.error, direction);
    if (pristine) {
      throw new FuzzViolation(
        "validRefused",
        `a valid message of direction ${direction} was refused: ${decoded.error.message}`,
      );
    }
  }
  return decoded;
}

function checkMessage(message: unknown, direction: DirectionName): void {
  const dir = directionOf(direction);
  const record = message as Record<string, unknown>;
  if (typeof message !== "object" || message === null || Array.isArray(message)) {
    throw new FuzzViolation("notAnObject", `decoded ${direction} message is not an object`);
  }
  if (!dir.types.has(String(record.type)) || record.v !== PROTOCOL_VERSION) {
    throw new FuzzViolation(
      "wrongShape",
      `decoded ${direction} message has type ${record.type} v ${record.v}`,
    );
  }
  const again = decodeMessage(encodeMessage(record), dir);
  if (!again.ok) {
    throw new FuzzViolation(
      "notIdempotent",
      `decoded ${direction} message does not decode again: ${again.error.message}`,
    );
  }
  if (canonicalJson(again.message) !== canonicalJson(record)) {
    throw new FuzzViolation(
      "notIdempotent",
      `decoded ${direction} message changed in a second round trip`,
    );
  }
}

function checkError(error: unknown, direction: DirectionName): void {
  if (!(error instanceof ProtocolError)) {
    throw new FuzzViolation(
      "wrongErrorType",
      `decodeMessage(${direction}) failed with a non-ProtocolError`,
    );
  }
  if (!errorCodes.has(error.code)) {
    throw new FuzzViolation("unknownErrorCode", `unknown error code ${error.code}`);
  }
  if (error.message.length === 0 || error.message.length > MAX_ERROR_MESSAGE_CHARS) {
    throw new FuzzViolation(
      "errorMessageTooLong",
      `error message of ${error.message.length} characters for ${direction} (bound ` +
        `${MAX_ERROR_MESSAGE_CHARS}): ${error.message.slice(0, 200)}…`,
    );
  }
  const id = error.requestId;
  if (id !== null && !(Number.isSafeInteger(id) && id >= 0)) {
    throw new FuzzViolation("badRequestId", `error carries request id ${id}`);
  }
}

/** Fails if decoding let a "__proto__" or "constructor" key reach Object.prototype. */
export function checkPrototypes(): void {
  const probe = {} as Record<string, unknown>;
  if (probe.polluted !== undefined || Object.keys(Object.prototype).length > 0) {
    throw new FuzzViolation("prototypePolluted", "Object.prototype was polluted");
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** Every direction of the codec. */
export const codecTarget: FuzzTarget = {
  name: "codec",
  description: "decodeMessage() on valid, mutated and random payloads of every direction",
  episodeLength: 1,
  runEpisode(rng: Rng, ctx: EpisodeContext): void {
    ctx.begin(0);
    const direction = rng.pick(DIRECTION_NAMES);
    const drawn = drawCodecCase(rng, direction);
    // Sometimes a payload meant for one direction arrives on another.
    const target = rng.chance(0.05) ? rng.pick(DIRECTION_NAMES) : direction;
    ctx.note(`${drawn.description} -> ${target}: ${preview(drawn.payload)}`);
    const decoded = checkDecode(drawn.payload, target, drawn.pristine && target === direction);
    if (drawn.pristine && target === direction && decoded.ok) {
      if (canonicalJson(decoded.message) !== canonicalJson(drawn.source)) {
        throw new FuzzViolation(
          "validChanged",
          `a valid ${direction} message decoded to something else`,
        );
      }
    }
    ctx.tally("frames");
    ctx.tally(decoded.ok ? "decoded" : `error:${decoded.error.code}`);
  },
};

/** The start of a payload, printable, for failure reports. */
export function preview(payload: Uint8Array, max = 160): string {
  const text = new TextDecoder().decode(payload.subarray(0, max));
  return JSON.stringify(text) + (payload.length > max ? `… (${payload.length} bytes)` : "");
}
