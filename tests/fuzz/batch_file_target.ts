/**
 * Fuzz target: the CLI's batch-file parser `parseBatchFile` (client/cli/batch_file.ts) on valid
 * files, files with mutated lines (wrong types, deep nesting, prototype keys, odd strings) and
 * mutated bytes. It may only throw UsageError (its documented error, exit code 2); what it
 * accepts must be one valid batch item per task line.
 * @module
 */
import { parseBatchFile } from "../../client/cli/batch_file.ts";
import { UsageError } from "../../shared/cli_args.ts";
import { LIMITS } from "../../shared/limits.ts";
import type { Rng } from "../../shared/prng.ts";
import { BatchItemSchema } from "../../shared/protocol/messages.ts";
import { mutateBytes } from "./byte_mutator.ts";
import { type EpisodeContext, type FuzzTarget, FuzzViolation } from "./fuzz_runner.ts";
import { hostileString, stringifyJson } from "./hostile_values.ts";
import { mutateJson } from "./json_mutator.ts";
import { anyString, charsFrom, intIn, type Json } from "./message_generators.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder(); // not fatal, like Deno.readTextFile

/** One valid task line's object. */
function generateLine(rng: Rng): Json {
  const maxSeconds = LIMITS.taskDurationMsMax / 1000;
  const line: Json = rng.chance(0.6)
    ? { description: anyString(rng, 0, LIMITS.descriptionChars), durationSeconds: seconds(rng) }
    : { exec: Array.from({ length: rng.int(1, 4) }, () => anyString(rng, 1, 40)) };
  if (line.exec !== undefined) {
    if (rng.chance(0.5)) line.execTimeoutSeconds = Math.min(maxSeconds, seconds(rng) + 0.001);
    if (rng.chance(0.3)) line.description = anyString(rng, 0, 100);
  }
  if (rng.chance(0.3)) line.idempotencyKey = anyString(rng, 1, LIMITS.idempotencyKeyChars);
  if (rng.chance(0.3)) line.maxAttempts = intIn(rng, 1, LIMITS.maxAttemptsMax);
  return line;
}

function seconds(rng: Rng): number {
  return rng.chance(0.5) ? rng.int(0, 60) : rng.next() * LIMITS.taskDurationMsMax / 1000;
}

/** The batch file parser. */
export const batchFileTarget: FuzzTarget = {
  name: "batch",
  description: "parseBatchFile() on valid and mutated batch files",
  episodeLength: 1,
  runEpisode(rng: Rng, ctx: EpisodeContext): void {
    ctx.begin(0);
    const lines: string[] = [];
    let taskLines = 0;
    let mutated = false;
    for (let i = rng.int(1, 6); i > 0; i--) {
      const roll = rng.next();
      if (roll < 0.1) {
        lines.push(rng.pick(["", "   ", "# a comment", "#", "\t", "\r"]));
        continue;
      }
      taskLines += 1;
      if (roll < 0.6) {
        lines.push(JSON.stringify(generateLine(rng)));
      } else {
        mutated = true;
        lines.push(stringifyJson(mutateJson(rng, generateLine(rng)).value));
      }
    }
    let text = lines.join(rng.chance(0.9) ? "\n" : "\r\n");
    if (rng.chance(0.15)) {
      mutated = true;
      text = decoder.decode(mutateBytes(rng, encoder.encode(text)).bytes);
    }
    const ordinaryPrefix = rng.chance(0.9);
    const prefix = ordinaryPrefix ? charsFrom(rng, "0123456789abcdef-", 36) : hostileString(rng);
    ctx.note(
      `prefix ${JSON.stringify(prefix.slice(0, 40))}, file ${JSON.stringify(text.slice(0, 300))}`,
    );
    try {
      const items = parseBatchFile(text, prefix);
      for (const item of items) {
        if (!BatchItemSchema.safeParse(item).success) {
          throw new FuzzViolation("invalidItem", "parseBatchFile returned an invalid batch item");
        }
      }
      if (!mutated && items.length !== taskLines) {
        throw new FuzzViolation("lostLines", `${taskLines} task lines gave ${items.length} items`);
      }
      ctx.tally("accepted");
    } catch (error) {
      if (error instanceof FuzzViolation) throw error;
      if (!(error instanceof UsageError)) {
        throw new FuzzViolation(
          "undocumentedError",
          `parseBatchFile threw ${(error as Error)?.name}: ${(error as Error)?.message}`,
          { cause: error },
        );
      }
      if (!mutated && ordinaryPrefix && taskLines > 0) {
        throw new FuzzViolation("validRefused", `a valid batch file was refused: ${error.message}`);
      }
      ctx.tally("UsageError");
    }
  },
};
