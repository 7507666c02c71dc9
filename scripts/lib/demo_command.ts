/**
 * The commands `deno task demo` reads on stdin (`kill w1`, `r o1`, `status`, …), parsed from one
 * typed line into a value. Pure: no processes, no I/O, so every input has a unit test.
 * @module
 */
import { terminalSafe } from "../../shared/terminal_safe.ts";

/** Actions on one or more nodes, each named by its demo name (`o1`, `w2`). */
export type NodeAction = "kill" | "stop" | "restart" | "pause" | "resume";

/** One parsed line. `none` is an empty line: nothing to do. */
export type DemoCommand =
  | { type: NodeAction; nodes: string[] }
  | { type: "status" }
  | { type: "help" }
  | { type: "quit" }
  | { type: "none" };

/** A command, or a one-line error in the user's words that lists what would have been valid. */
export type ParsedDemoCommand =
  | { ok: true; command: DemoCommand }
  | { ok: false; error: string };

/** The command words and their abbreviations; `r` is the shorthand for restart. */
const VERBS: Readonly<Record<string, NodeAction | "status" | "help" | "quit">> = {
  kill: "kill",
  stop: "stop",
  restart: "restart",
  r: "restart",
  start: "restart",
  pause: "pause",
  resume: "resume",
  status: "status",
  help: "help",
  "?": "help",
  quit: "quit",
  exit: "quit",
};

/** The one-line list of valid commands, appended to every error. */
export const COMMAND_SUMMARY =
  "commands: kill X, stop X, restart X (r X), pause X, resume X, status, help, quit";

/** What `help` prints: each command, the signal it sends and what it is for. */
export const DEMO_HELP =
  `Commands (X is a node: o1, o2, … orchestrators; w1, w2, … workers; several may follow):
  kill X       SIGKILL: a crash; nothing is cleaned up
  stop X       SIGTERM: a graceful stop (a worker hands its tasks back first)
  restart X    start X again with the same id, data directory and port, so the cluster
               recognises it (r X for short)
  pause X      SIGSTOP: frozen; its connections stay open, so others notice only its silence
  resume X     SIGCONT: thaws a paused node
  status       which nodes run, are paused or died, with their PIDs
  help         this list
  quit         stop everything, remove the demo's data and exit (also Ctrl-C)`;

/**
 * Parses one line typed at the demo.
 * @param line what was typed (surrounding blanks and case do not matter)
 * @param nodes the demo's node names, in display order (`["o1", "o2", "o3", "w1", …]`)
 * @example
 * parseDemoCommand("r W2", ["o1", "w2"]); // { ok: true, command: { type: "restart", nodes: ["w2"] } }
 */
export function parseDemoCommand(line: string, nodes: readonly string[]): ParsedDemoCommand {
  const words = line.trim().split(/\s+/).filter((w) => w !== "");
  if (words.length === 0) return { ok: true, command: { type: "none" } };
  const [word, ...rest] = words;
  const verb = Object.hasOwn(VERBS, word.toLowerCase()) ? VERBS[word.toLowerCase()] : undefined;
  if (verb === undefined) {
    return { ok: false, error: `Unknown command "${terminalSafe(word)}"; ${COMMAND_SUMMARY}` };
  }
  if (verb === "status" || verb === "help" || verb === "quit") {
    if (rest.length > 0) {
      return {
        ok: false,
        error: `"${verb}" takes nothing after it, got "${terminalSafe(rest.join(" "))}"`,
      };
    }
    return { ok: true, command: { type: verb } };
  }
  if (rest.length === 0) {
    return { ok: false, error: `"${word}" needs a node: one of ${nodes.join(", ")}` };
  }
  const chosen: string[] = [];
  for (const target of rest) {
    const node = nodes.find((n) => n.toLowerCase() === target.toLowerCase());
    if (node === undefined) {
      return {
        ok: false,
        error: `No node "${terminalSafe(target)}": the nodes are ${nodes.join(", ")}`,
      };
    }
    if (!chosen.includes(node)) chosen.push(node);
  }
  return { ok: true, command: { type: verb, nodes: chosen } };
}
