// Schedules (cron): next and last tick, firings, and pause / resume / remove for their owner.
import { useState } from "preact/hooks";
import { html } from "./html.js";
import { call } from "./api.js";
import { usePoll } from "./use_poll.js";
import { ErrorNote } from "./error_note.js";
import { dateTime } from "./format.js";

export function SchedulesView({ token, user }) {
  const [kick, setKick] = useState(0);
  const [message, setMessage] = useState(null);
  const { data, error } = usePoll(
    async () => (await call("/schedules", { token })).schedules,
    5000,
    kick,
  );
  const act = async (s, verb) => {
    const name = encodeURIComponent(s.name);
    const owner = s.owner === user ? "" : `?owner=${encodeURIComponent(s.owner)}`;
    try {
      await call(`/schedules/${name}${verb === "remove" ? "" : `/${verb}`}${owner}`, {
        token,
        method: verb === "remove" ? "DELETE" : "POST",
        ...(verb === "remove" ? {} : { body: {} }),
      });
      setMessage(null);
    } catch (e) {
      setMessage(`${verb} ${s.name}: ${e.message}`);
    }
    setKick((k) => k + 1);
  };
  const schedules = data ?? [];
  return html`
    <section class="panel wide" data-testid="schedules">
      <h2>Schedules <small>${schedules.length}</small></h2>
      <${ErrorNote} error=${error} />
      ${message ? html`<p class="error">${message}</p>` : null}
      ${schedules.length === 0
        ? html`<p class="muted">None. Add one with <code>mutirao schedule add NAME "CRON" …</code></p>`
        : html`
          <table>
            <thead>
              <tr>
                <th>name</th>
                <th>owner</th>
                <th>cron</th>
                <th>task</th>
                <th>next</th>
                <th>last</th>
                <th>fired</th>
                <th></th>
              </tr>
            </thead>
            <tbody>
              ${schedules.map((s) =>
                html`
                  <tr key=${`${s.owner}/${s.name}`} data-schedule=${s.name}>
                    <td>${s.name}${s.paused
                      ? html`
                        <span class="badge draining">paused</span>
                      `
                      : null}</td>
                    <td>${s.owner}</td>
                    <td><code>${s.cron}</code>${s.timezone ? ` (${s.timezone})` : ""}</td>
                    <td class="text">${s.task.spec.kind === "handler"
                      ? s.task.spec.handler
                      : s.task.spec.kind}: ${s.task.spec.description}</td>
                    <td>${dateTime(s.nextTickMs)}</td>
                    <td>${s.lastTaskId
                      ? html`<a href=${`#task=${encodeURIComponent(s.lastTaskId)}`}>${
                        dateTime(s.lastTickMs)
                      }</a>`
                      : "—"}</td>
                    <td>${s.fired}${s.missedTicks ? ` (+${s.missedTicks} missed)` : ""}</td>
                    <td class="actions">
                      <button type="button" onClick=${() =>
                        act(s, s.paused ? "resume" : "pause")}>${s.paused
                        ? "resume"
                        : "pause"}</button>
                      <button type="button" onClick=${() => act(s, "remove")}>remove</button>
                    </td>
                  </tr>
                `
              )}
            </tbody>
          </table>
        `}
    </section>
  `;
}
