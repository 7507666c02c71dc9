// Submits one task: a sleep (the seed's `submit "description" -d SECONDS`) or a handler kind with
// a JSON payload, with the common options. One idempotency key per submission: kept after an
// answer that may hide an applied write (no answer, 503, 429, 408), so pressing Submit again
// after a failover finds the task the first press made instead of making a second; a new key once
// it succeeded, the server refused it for good, or the form changed.
import { useRef, useState } from "preact/hooks";
import { html } from "./html.js";
import { call } from "./api.js";
import { buildSubmission, mayHaveApplied } from "./submission.js";

export function SubmitForm({ token, onSubmitted }) {
  const [kind, setKind] = useState("sleep");
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState(null);
  const key = useRef(crypto.randomUUID());
  const freshKey = () => (key.current = crypto.randomUUID());

  const submit = async (e) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    const text = (name) => String(form.get(name) ?? "").trim();
    setMessage(null);
    let body;
    try {
      body = buildSubmission(kind, text);
    } catch (error) {
      setMessage({ error: true, text: error.message });
      return;
    }
    setBusy(true);
    try {
      const answer = await call("/tasks", {
        token,
        body,
        headers: { "idempotency-key": key.current },
      });
      freshKey();
      setMessage({ error: false, text: `Submitted ${answer.taskId}`, taskId: answer.taskId });
      onSubmitted(answer.taskId);
    } catch (error) {
      if (!mayHaveApplied(error.status)) freshKey();
      setMessage({ error: true, text: error.message });
    } finally {
      setBusy(false);
    }
  };

  return html`
    <section class="panel" data-testid="submit">
      <h2>Submit a task</h2>
      <form data-testid="submit-form" onSubmit=${submit} onInput=${freshKey} onChange=${freshKey}>
        <label>type <select name="type" value=${kind} onChange=${(e) =>
          setKind(e.currentTarget.value)}>
          <option value="sleep">sleep (seconds)</option>
          <option value="handler">handler (kind + JSON payload)</option>
        </select></label>
        <label>description <input name="description" maxlength="1000" placeholder="what it is" /></label>
        ${kind === "sleep"
          ? html`<label>seconds <input name="duration" type="number" min="0" step="any" value="2" required /></label>`
          : html`
            <label>kind <input name="kind" required placeholder="echo" pattern="[A-Za-z][A-Za-z0-9_.:\\-]*" /></label>
            <label>payload <textarea name="payload" rows="2" placeholder='{"text":"hi"}'></textarea></label>
          `}
        <details>
          <summary>options</summary>
          <label>priority <input name="priority" type="number" step="1" placeholder="0" /></label>
          <label>queue <input name="queue" placeholder="default" /></label>
          <label>retries <input name="retries" type="number" min="0" step="1" placeholder="0" /></label>
          <label>delay (s) <input name="delay" type="number" min="0" step="any" placeholder="0" /></label>
        </details>
        <button type="submit" disabled=${busy}>Submit</button>
      </form>
      ${message
        ? html`<p class=${message.error ? "error" : "note"} data-testid=${
          message.error ? "submit-error" : "submitted"
        } data-task=${message.taskId ?? ""}>${message.text}</p>`
        : null}
    </section>
  `;
}
