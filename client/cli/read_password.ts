/**
 * Reads a password without putting it on the command line: hidden from a
 * terminal, or the first line of piped stdin.
 * @module
 */
import { UsageError } from "../../shared/cli_args.ts";

const MAX_PASSWORD_BYTES = 4096;

export async function readPassword(options: { fromStdin: boolean }): Promise<string> {
  if (!options.fromStdin && Deno.stdin.isTerminal()) return await promptHidden("Password: ");
  const bytes: number[] = [];
  const buffer = new Uint8Array(1024);
  for (;;) {
    const n = await Deno.stdin.read(buffer);
    if (n === null) break;
    for (const b of buffer.subarray(0, n)) bytes.push(b);
    if (bytes.includes(10) || bytes.length > MAX_PASSWORD_BYTES) break;
  }
  const text = new TextDecoder().decode(new Uint8Array(bytes));
  const line = text.split(/\r?\n/)[0];
  if (line === "" && bytes.length === 0) {
    throw new UsageError(
      "Cannot log in: no password given (pass it after USER, or pipe it on stdin)",
    );
  }
  return line;
}

async function promptHidden(prompt: string): Promise<string> {
  const encoder = new TextEncoder();
  await Deno.stderr.write(encoder.encode(prompt));
  Deno.stdin.setRaw(true);
  const chars: string[] = [];
  try {
    const buffer = new Uint8Array(1);
    for (;;) {
      const n = await Deno.stdin.read(buffer);
      if (n === null) break;
      const c = buffer[0];
      if (c === 3) throw new UsageError("Login cancelled"); // Ctrl-C
      if (c === 13 || c === 10) break;
      if (c === 127 || c === 8) chars.pop();
      else chars.push(String.fromCharCode(c));
    }
  } finally {
    Deno.stdin.setRaw(false);
    await Deno.stderr.write(encoder.encode("\n"));
  }
  return new TextDecoder().decode(new Uint8Array(chars.map((c) => c.charCodeAt(0))));
}
