// Workers: load, slots, kinds and queues, heartbeat age, draining; lost ones stay listed for a
// while (the API lists only registered workers; the event stream says which were lost).
import { useRef } from "preact/hooks";
import { html } from "./html.js";
import { call } from "./api.js";
import { usePoll } from "./use_poll.js";
import { ErrorNote } from "./error_note.js";
import { ago, clock } from "./format.js";

/** How long a lost worker stays in the table. */
const LOST_SHOWN_MS = 10 * 60_000;

export function WorkersView({ token, kick, lost }) {
  const { data, error } = usePoll(
    async () => (await call("/workers", { token })).workers,
    2000,
    kick,
  );
  const seen = useRef(new Map());
  const workers = data ?? [];
  for (const w of workers) seen.current.set(w.id, w);
  const live = new Set(workers.map((w) => w.id));
  const now = Date.now();
  const gone = [...lost.values()].filter((l) =>
    !live.has(l.workerId) && now - l.atMs < LOST_SHOWN_MS
  );
  return html`
    <section class="panel" data-testid="workers">
      <h2>Workers <small>${workers.length} live${gone.length
        ? `, ${gone.length} lost`
        : ""}</small></h2>
      <${ErrorNote} error=${error} />
      <table>
        <thead>
          <tr>
            <th>worker</th>
            <th>state</th>
            <th>load</th>
            <th>kinds / queues</th>
            <th>heartbeat</th>
            <th>done</th>
          </tr>
        </thead>
        <tbody>
          ${workers.map((w) => html`<${WorkerRow} key=${w.id} w=${w} />`)}
          ${gone.map((l) =>
            html`
              <tr key=${`lost-${l.workerId}`} data-worker=${l.workerId} class="down">
                <td>${l.workerId}</td>
                <td data-field="state"><span class="badge lost">lost</span></td>
                <td colspan="4" class="muted">at ${clock(l.atMs)}${l.detail
                  ? ` (${l.detail})`
                  : ""}</td>
              </tr>
            `
          )}
        </tbody>
      </table>
    </section>
  `;
}

function WorkerRow({ w }) {
  const state = w.status === "draining" ? "draining" : "live";
  const kinds = [...(w.canExec ? ["exec"] : []), "sleep", ...(w.kinds ?? [])];
  return html`
    <tr data-worker=${w.id}>
      <td title=${`incarnation ${w.incarnation}`}>${w.id}</td>
      <td data-field="state"><span class=${`badge ${state}`}>${state}</span></td>
      <td>
        <meter min="0" max=${w.slots} value=${w.running}></meter>
        <span data-field="load">${w.running}/${w.slots}</span>
      </td>
      <td class="tags">${kinds.join(", ")}<br /><span class="muted">${(w.queues ?? ["default"])
        .join(", ")}</span></td>
      <td>${ago(w.lastHeartbeatAgoMs)}</td>
      <td>${w.completed}</td>
    </tr>
  `;
}
