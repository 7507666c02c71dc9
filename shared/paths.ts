/**
 * Where Mutirão keeps files on this machine: `$MUTIRAO_HOME`, default `~/.mutirao`.
 * @module
 */

/** The Mutirão home directory. */
export function mutiraoHome(): string {
  const explicit = Deno.env.get("MUTIRAO_HOME");
  if (explicit !== undefined && explicit !== "") return explicit;
  const home = Deno.env.get("HOME") ?? Deno.env.get("USERPROFILE");
  if (home === undefined) {
    throw new Error("Cannot find the Mutirão home directory: set MUTIRAO_HOME or HOME");
  }
  return `${home}/.mutirao`;
}
