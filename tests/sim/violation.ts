/**
 * The error a checker throws when the system under simulation broke a
 * guarantee. Anything else thrown during a run is a crash of a core (an
 * assertion) or a bug in the simulator, and is reported as such.
 * @module
 */

/** A broken guarantee, found by a checker. */
export class SimViolation extends Error {
  override name = "SimViolation";
}
