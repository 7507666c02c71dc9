// What the submit form sends: the body of POST /api/v1/tasks from its fields, and when a failed
// submission keeps its idempotency key. No imports: unit-tested under Deno without a DOM.

/** Whether an error answer may hide a write the cluster applied (then retry with the same key). */
export function mayHaveApplied(status) {
  return status === 0 || status === 408 || status === 429 || status >= 500;
}

/** The body of POST /api/v1/tasks from the form's fields; throws with what is wrong. */
export function buildSubmission(kind, text) {
  const description = text("description");
  let task;
  if (kind === "sleep") {
    const seconds = Number(text("duration"));
    if (!Number.isFinite(seconds) || seconds < 0) {
      throw new Error("seconds: a number of seconds, 0 or more");
    }
    task = { kind: "sleep", description, durationMs: Math.round(seconds * 1000) };
  } else {
    const payload = text("payload") === "" ? "null" : text("payload");
    try {
      JSON.parse(payload);
    } catch (error) {
      throw new Error(`payload is not JSON: ${error.message}`);
    }
    task = { kind: "handler", handler: text("kind"), description, payload };
  }
  const body = { task };
  if (text("priority") !== "") body.priority = Number(text("priority"));
  if (text("queue") !== "") body.queue = text("queue");
  if (text("retries") !== "" && Number(text("retries")) > 0) {
    // The CLI's defaults for --retries alone: exponential from 1 s, at most 5 min.
    body.retry = {
      retries: Number(text("retries")),
      backoff: "exponential",
      delayMs: 1000,
      maxDelayMs: 300_000,
    };
  }
  if (text("delay") !== "" && Number(text("delay")) > 0) {
    body.delayMs = Math.round(Number(text("delay")) * 1000);
  }
  return body;
}
