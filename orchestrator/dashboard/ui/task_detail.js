// One task: its spec and options, the Lamport-ordered history, attempts, result and logs, and
// Cancel / Retry for its owner. Refreshed by its own events.
import { useEffect, useState } from "preact/hooks";
import { html } from "./html.js";
import { call } from "./api.js";
import { ago, clock, dateTime, isFinal, outcomeLine } from "./format.js";

export function TaskDetail({ token, user, taskId, events, onSelect, onClose }) {
  const [task, setTask] = useState(null);
  const [logs, setLogs] = useState(null);
  const [error, setError] = useState(null);
  const [message, setMessage] = useState(null);
  const [version, setVersion] = useState(0);

  useEffect(() => {
    let stopped = false;
    const id = encodeURIComponent(taskId);
    call(`/tasks/${id}`, { token }).then(async (answer) => {
      if (stopped) return;
      setTask(answer.task);
      setError(null);
      try {
        const read = await call(`/tasks/${id}/logs`, { token });
        if (!stopped) setLogs(read);
      } catch {
        if (!stopped) setLogs(null);
      }
    }, (e) => !stopped && setError(e.message));
    return () => (stopped = true);
  }, [token, taskId, version]);

  useEffect(() =>
    events.subscribe((event) => {
      const mine = event.kind === "task" && event.taskId === taskId;
      if (mine || event.kind === "gap") setVersion((v) => v + 1);
    }), [events, taskId]);
  // Live output of a running task is not in the event stream: poll while it runs.
  useEffect(() => {
    if (task === null || task.state !== "running") return;
    const timer = setInterval(() => setVersion((v) => v + 1), 2000);
    return () => clearInterval(timer);
  }, [task?.state]);

  const act = async (what) => {
    setMessage(null);
    try {
      const id = encodeURIComponent(taskId);
      const answer = await call(`/tasks/${id}/${what}`, { token, body: {} });
      if (what === "retry" && answer.taskId) onSelect(answer.taskId);
      else setMessage(answer.message ?? `${what} sent`);
      setVersion((v) => v + 1);
    } catch (e) {
      setMessage(`${what} failed: ${e.message}`);
    }
  };

  if (error !== null && task === null) {
    return html`
      <section class="panel detail" data-testid="task-detail">
        <header><h2>${taskId}</h2><button type="button" onClick=${onClose}>close</button></header>
        <p class="error">${error}</p>
      </section>
    `;
  }
  if (task === null) {
    return html`
      <section class="panel detail" data-testid="task-detail">
        <p>Loading ${taskId}…</p>
      </section>
    `;
  }
  const mine = task.owner === user;
  const history = [...task.history].sort((a, b) => a.lamport - b.lamport);
  const spec = task.spec;
  return html`
    <section class="panel detail" data-testid="task-detail" data-task=${task.id}>
      <header>
        <h2>${task.id} <span class=${`badge ${task.state}`} data-field="state">${task
          .state}</span></h2>
        <div class="actions">
          ${mine && !isFinal(task.state)
            ? html`<button type="button" data-testid="cancel" onClick=${() =>
              act("cancel")}>Cancel</button>`
            : null}
          ${mine && isFinal(task.state) && task.state !== "succeeded"
            ? html`<button type="button" data-testid="retry" onClick=${() =>
              act("retry")}>Retry</button>`
            : null}
          <button type="button" onClick=${onClose}>close</button>
        </div>
      </header>
      ${message ? html`<p class="note">${message}</p>` : null}
      <dl class="facts">
        <dt>description</dt><dd class="text">${spec.description || "—"}</dd>
        <dt>kind</dt><dd>${spec.kind === "handler" ? spec.handler : spec.kind}</dd>
        ${spec.kind === "sleep"
          ? html`
            <dt>duration</dt>
            <dd>${ago(spec.durationMs)}</dd>
          `
          : null}
        ${spec.kind === "exec"
          ? html`
            <dt>argv</dt>
            <dd class="text"><code>${spec.argv.join(" ")}</code></dd>
          `
          : null}
        ${spec.kind === "handler"
          ? html`
            <dt>payload</dt>
            <dd class="text"><code>${spec.payload}</code></dd>
          `
          : null}
        <dt>owner</dt><dd>${task.owner}</dd>
        <dt>queue</dt><dd>${task.queue ?? "default"}, priority ${task.priority ?? 0}</dd>
        <dt>attempt</dt><dd>${task.attempt} of ${task.maxAttempts}${task.retried
          ? `, ${task.retried} retried`
          : ""}</dd>
        <dt>worker</dt><dd>${task.workerId ?? "—"}</dd>
        <dt>submitted</dt><dd>${dateTime(task.submittedAtMs)}</dd>
        ${task.finishedAtMs
          ? html`
            <dt>finished</dt>
            <dd>${dateTime(task.finishedAtMs)}</dd>
          `
          : null}
        ${task.waitingReason
          ? html`
            <dt>waiting</dt>
            <dd class="text">${task.waitingReason}</dd>
          `
          : null}
        ${task.after?.length
          ? html`
            <dt>after</dt>
            <dd>${task.after.join(", ")}</dd>
          `
          : null}
        ${task.result
          ? html`
            <dt>result</dt>
            <dd class="text" data-testid="result">${task.result.status}${outcomeLine(task.result)
              ? ` · ${outcomeLine(task.result)}`
              : ""}</dd>
          `
          : null}
      </dl>
      <h3>History <small>(Lamport order)</small></h3>
      <table class="history" data-testid="history">
        <thead><tr><th>lamport</th><th>event</th><th>attempt</th><th>worker</th><th>node</th><th>time</th><th>detail</th></tr></thead>
        <tbody>
          ${history.map((e) =>
            html`
              <tr data-event=${e.event}>
                <td>${e.lamport}</td>
                <td>${e.event}</td>
                <td>${e.attempt}</td>
                <td>${e.workerId ?? ""}</td>
                <td>${e.node}</td>
                <td>${clock(e.atMs)}</td>
                <td class="text">${e.detail ?? ""}</td>
              </tr>
            `
          )}
        </tbody>
      </table>
      <${Output} logs=${logs} result=${task.result} />
    </section>
  `;
}

function Output({ logs, result }) {
  const stdout = logs?.stdout?.text ?? result?.stdout ?? "";
  const stderr = logs?.stderr?.text ?? result?.stderr ?? "";
  if (stdout === "" && stderr === "") return null;
  return html`
    <h3>Output</h3>
    ${stdout !== "" ? html`<pre class="out" data-testid="stdout">${stdout}</pre>` : null}
    ${stderr !== "" ? html`<pre class="out err" data-testid="stderr">${stderr}</pre>` : null}
  `;
}
