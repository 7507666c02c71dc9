// Proves that the fuzzers' generators make valid messages of every type of every direction (so
// "valid" inputs really are), and that the mutators and the runner are deterministic per seed.
import assert from "node:assert/strict";
import { createPrng } from "../../shared/prng.ts";
import { decodeMessage, encodeMessage } from "../../shared/protocol/codec.ts";
import { mutateBytes } from "./byte_mutator.ts";
import { stringifyJson } from "./hostile_values.ts";
import { mutateJson } from "./json_mutator.ts";
import { BUILDERS, DIRECTION_NAMES, directionOf, generateMessage } from "./message_generators.ts";

Deno.test("generateMessage() has a builder for every message type of every direction", () => {
  for (const name of DIRECTION_NAMES) {
    assert.deepEqual(
      new Set(Object.keys(BUILDERS[name])),
      directionOf(name).types,
      `builders of direction ${name}`,
    );
  }
});

Deno.test("generateMessage() makes only messages the codec accepts, 200 of each type", () => {
  const rng = createPrng(42);
  for (const name of DIRECTION_NAMES) {
    for (const type of Object.keys(BUILDERS[name])) {
      for (let i = 0; i < 200; i++) {
        const message = generateMessage(rng, name, { type });
        const decoded = decodeMessage(encodeMessage(message), directionOf(name));
        assert.ok(decoded.ok, `${name} ${type}: ${!decoded.ok && decoded.error.message}`);
      }
    }
  }
});

Deno.test("mutateJson() and mutateBytes() give the same output for the same seed", () => {
  const draw = (seed: number) => {
    const rng = createPrng(seed);
    const message = generateMessage(rng, "clientToOrchestrator");
    const json = stringifyJson(mutateJson(rng, message).value);
    const bytes = mutateBytes(rng, encodeMessage(message)).bytes;
    return `${json}|${bytes.join(",")}`;
  };
  for (let seed = 1; seed <= 50; seed++) assert.equal(draw(seed), draw(seed));
});
