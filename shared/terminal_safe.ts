/**
 * Text from users (names, task descriptions, program output) reaches operators' terminals through
 * log lines and CLI tables. Control characters in it could forge log lines (a newline) or drive the
 * terminal (ANSI/OSC escapes: colours, cursor moves, clipboard writes). This makes such text inert.
 * @module
 */

// C0 controls (tab kept), DEL, C1 controls, and the Unicode line/paragraph separators and bidi
// overrides that reorder what a reader sees.
// deno-lint-ignore no-control-regex
const UNSAFE = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * Replaces every control character in `text` with a visible escape (`\n`, `\x1b`, `\u202e`), so
 * that it prints as one inert line. Text without control characters is returned unchanged.
 * @example
 * terminalSafe("bad\nINFO forged"); // "bad\\nINFO forged"
 */
export function terminalSafe(text: string): string {
  return text.replace(UNSAFE, escapeOne);
}

function escapeOne(char: string): string {
  if (char === "\n") return "\\n";
  if (char === "\r") return "\\r";
  const code = char.charCodeAt(0);
  return code <= 0xff
    ? `\\x${code.toString(16).padStart(2, "0")}`
    : `\\u${code.toString(16).padStart(4, "0")}`;
}
