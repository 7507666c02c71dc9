// The event stream (GET /api/v1/events, Server-Sent Events) read with fetch rather than
// EventSource: EventSource cannot send an Authorization header, and a token in the URL would
// end up in logs. Reconnects after a failure with Last-Event-ID (the last id the server sent, on an
// event or on its own, where the server says how far it has read for this reader), so no event is
// lost or repeated; ids come from the replicated log. A 401 means the session is gone; any other
// failure (a 503 while a follower has not yet applied a fresh login, a dropped connection) is
// retried with backoff.

const RETRY_MS = [500, 1000, 2000, 4000];

/**
 * Opens the stream and calls `onEvent(kind, data)` for each event (`task`, `worker`, `cluster`,
 * `gap`) and `onState("live" | "reconnecting" | "closed", detail)`. `after` starts from an event id
 * (or a log index) instead of now. Returns a function that closes it.
 */
export function openEventStream({ token, after, onEvent, onState, onUnauthorized }) {
  const abort = new AbortController();
  let lastId = after ?? null;
  let failures = 0;

  async function run() {
    while (!abort.signal.aborted) {
      try {
        const headers = { authorization: `Bearer ${token}`, accept: "text/event-stream" };
        if (lastId !== null) headers["last-event-id"] = lastId;
        const response = await fetch("/api/v1/events", {
          headers,
          signal: abort.signal,
          credentials: "omit",
        });
        if (response.status === 401) {
          const answer = await response.json().catch(() => null);
          onState("closed", "session refused");
          onUnauthorized?.(answer?.error?.message ?? "session refused");
          return;
        }
        if (!response.ok || response.body === null) throw new Error(`HTTP ${response.status}`);
        failures = 0;
        onState("live", null);
        await readEvents(response.body, (id) => (lastId = id), onEvent);
        throw new Error("stream ended");
      } catch (error) {
        if (abort.signal.aborted) return;
        onState("reconnecting", error.message);
        const wait = RETRY_MS[Math.min(failures, RETRY_MS.length - 1)];
        failures += 1;
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  }
  run();
  return () => {
    abort.abort();
    onState("closed", null);
  };
}

/**
 * Parses a text/event-stream body: `id:`, `event:` and `data:` lines, a blank line ending each
 * block. An id is recorded even on a block without data (the server's "read up to here").
 */
export async function readEvents(body, recordId, emit) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let id = null;
  let kind = "message";
  let data = [];
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let newline;
    while ((newline = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, newline).replace(/\r$/, "");
      buffer = buffer.slice(newline + 1);
      if (line === "") {
        if (id !== null) recordId(id);
        if (data.length > 0) {
          let parsed = null;
          try {
            parsed = JSON.parse(data.join("\n"));
          } catch {
            parsed = null;
          }
          if (parsed !== null) emit(kind, parsed);
        }
        id = null;
        kind = "message";
        data = [];
      } else if (line.startsWith(":")) {
        continue; // keepalive comment
      } else {
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const text = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "id") id = text;
        else if (field === "event") kind = text;
        else if (field === "data") data.push(text);
      }
    }
  }
}
