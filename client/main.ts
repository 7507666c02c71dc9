/**
 * `mutirao` (or `deno task client`): the command-line client.
 * @module
 */
import { runCli } from "./cli/run_cli.ts";

if (import.meta.main) {
  Deno.exit(await runCli(Deno.args));
}
