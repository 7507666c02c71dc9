/**
 * The error a fuzz target throws when a property does not hold.
 * @module
 */

/** A property a target checks did not hold; the message says what was fed and what broke. */
export class FuzzViolation extends Error {
  override name = "FuzzViolation";
  /** Which property broke, for recognizing known bugs without parsing prose. */
  readonly kind: string;

  constructor(kind: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.kind = kind;
  }
}
