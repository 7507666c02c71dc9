/**
 * Reads a request body up to a limit: a declared length over it is refused unread, and a body
 * without one (chunked) is cut off as soon as it passes the limit, so a client cannot make the
 * server buffer more than the limit.
 * @module
 */

/**
 * The body of `request` as text, or null when it is longer than `maxBytes` (read no further).
 * @throws {TypeError} when the body stream fails (the client went away)
 */
export async function readBoundedText(request: Request, maxBytes: number): Promise<string | null> {
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > maxBytes) return null;
  if (request.body === null) return "";
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) return null;
      chunks.push(value);
    }
  } finally {
    // Over the limit: stop the client's stream here rather than drain it.
    if (size > maxBytes) await reader.cancel();
    reader.releaseLock();
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new TextDecoder().decode(bytes);
}
