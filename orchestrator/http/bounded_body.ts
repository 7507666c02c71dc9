/**
 * Reads a request body up to a limit of size and of time: a declared length over the size is
 * refused unread, a body without one (chunked) is cut off as soon as it passes it, and a body that
 * has not arrived whole within the time is cut off then (slowloris: a client cannot hold a request
 * open by trickling its body). So a client cannot make the server buffer more than the limit or
 * wait longer than the time.
 * @module
 */

/** A body read whole, or why it was refused. */
export type BodyText = { text: string } | { refused: "tooLarge" | "tooSlow" };

/**
 * The body of `request` as text, or why it was refused: longer than `maxBytes` (read no
 * further) or not whole within `timeoutMs` of the call.
 * @throws {TypeError} when the body stream fails (the client went away)
 * @example
 * const body = await readBoundedText(request, { maxBytes: 1 << 20, timeoutMs: 10_000 });
 * if ("refused" in body) return tooLarge(); // or tooSlow()
 */
export async function readBoundedText(
  request: Request,
  limits: { maxBytes: number; timeoutMs: number },
): Promise<BodyText> {
  const { maxBytes, timeoutMs } = limits;
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > maxBytes) return { refused: "tooLarge" };
  if (request.body === null) return { text: "" };
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"late">((resolve) => {
    timer = setTimeout(() => resolve("late"), timeoutMs);
  });
  let refused: "tooLarge" | "tooSlow" | null = null;
  try {
    for (;;) {
      const read = await Promise.race([reader.read(), late]);
      if (read === "late") {
        refused = "tooSlow";
        break;
      }
      if (read.done) break;
      size += read.value.byteLength;
      if (size > maxBytes) {
        refused = "tooLarge";
        break;
      }
      chunks.push(read.value);
    }
  } finally {
    clearTimeout(timer);
    // Refused: stop the client's stream here rather than drain it (a pending read then settles).
    if (refused !== null) await reader.cancel();
    reader.releaseLock();
  }
  if (refused !== null) return { refused };
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return { text: new TextDecoder().decode(bytes) };
}
