/**
 * Reads a `text/event-stream` body (Server-Sent Events) as events: the `id`, `event` and `data`
 * fields of each block; comments (keepalives) and `retry` are skipped.
 * @module
 */

/**
 * One block of the stream; `data` is its data lines joined, unparsed, or null for a block with an
 * `id` only (the server's "read up to here": a reader records it to resume from, and shows nothing).
 */
export interface SseEvent {
  id: string | null;
  event: string;
  data: string | null;
}

/** The longest block accepted: a stream that sends more without a blank line is broken. */
const MAX_BLOCK_CHARS = 1 << 20;

/** The event in one block (the text between blank lines), or null for a block with neither data nor id. */
export function parseSseBlock(block: string): SseEvent | null {
  let id: string | null = null;
  let event = "message";
  const data: string[] = [];
  for (const line of block.split(/\r?\n/)) {
    if (line === "" || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "id") id = value;
    else if (field === "event") event = value;
    else if (field === "data") data.push(value);
  }
  if (data.length === 0) return id === null ? null : { id, event, data: null };
  return { id, event, data: data.join("\n") };
}

/**
 * The events of `body` as they come; ends when the body ends.
 * @throws {TypeError} when the connection breaks (as `fetch` bodies do), or a block is too long
 */
export async function* readSseEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent> {
  let buffer = "";
  for await (const chunk of body.pipeThrough(new TextDecoderStream())) {
    buffer += chunk.replaceAll("\r\n", "\n");
    let end: number;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const event = parseSseBlock(buffer.slice(0, end));
      buffer = buffer.slice(end + 2);
      if (event !== null) yield event;
    }
    if (buffer.length > MAX_BLOCK_CHARS) {
      throw new TypeError(`Event stream block over ${MAX_BLOCK_CHARS} characters`);
    }
  }
}
