/**
 * What a message looks like after crossing the wire: serialized to JSON and
 * decoded by the real codec, exactly as the receiving shell would. Nothing
 * sent between simulated nodes shares an object with its sender, and a
 * message the codec would refuse fails the run (the sender has a bug).
 * @module
 */
import { decodeValue, type Direction, DIRECTIONS } from "../../shared/protocol/codec.ts";
import { SimViolation } from "./violation.ts";

export { type Direction, DIRECTIONS };

/**
 * Copies `message` through JSON and, when `validate`, through the codec of `direction`.
 * @throws {SimViolation} when the codec refuses it.
 */
export function overTheWire<T>(
  message: unknown,
  direction: Direction<T>,
  options: { validate: boolean; sender: string },
): T {
  const copy: unknown = JSON.parse(JSON.stringify(message));
  if (!options.validate) return copy as T;
  const decoded = decodeValue(copy, direction);
  if (!decoded.ok) {
    throw new SimViolation(
      `${options.sender} sent a ${direction.name} the codec refuses: ${decoded.error.message}`,
    );
  }
  return decoded.message;
}
