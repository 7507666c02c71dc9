// The task table: a state filter (and every user's, for admins), cursor paging, a find box over
// the rows shown, and live updates: an event for a task on the page changes its row at once and
// refetches the page (at most once a second), and on the first page a new submission does too, so
// new tasks appear. Events that cannot change the page cost nothing.
import { useEffect, useRef, useState } from "preact/hooks";
import { html } from "./html.js";
import { call } from "./api.js";
import { clock, TASK_STATES } from "./format.js";

const PAGE = 25;
const REFETCH_MS = 1000;

export function TasksView({ token, events, selected, onSelect }) {
  const [filter, setFilter] = useState({ state: "", all: false, text: "" });
  const [cursors, setCursors] = useState([null]); // cursors[i] starts page i
  const [page, setPage] = useState({
    tasks: [],
    total: 0,
    next: null,
    error: null,
    loaded: false,
  });
  const [version, setVersion] = useState(0);
  const after = cursors[cursors.length - 1];

  useEffect(() => {
    let stopped = false;
    const params = new URLSearchParams({ limit: String(PAGE) });
    if (filter.state !== "") params.set("state", filter.state);
    if (filter.all) params.set("all", "true");
    if (after !== null) params.set("after", after);
    call(`/tasks?${params}`, { token }).then(
      (answer) => {
        if (!stopped) {
          setPage({
            tasks: answer.tasks,
            total: answer.total ?? 0,
            next: answer.next ?? null,
            error: null,
            loaded: true,
          });
        }
      },
      (error) => !stopped && setPage((p) => ({ ...p, error: error.message })),
    );
    return () => (stopped = true);
  }, [token, filter.state, filter.all, after, version]);

  // Live: patch rows from events, and refetch the page (at most once a second) when an event
  // may change it: one of its tasks moved, or a new task on the first page, or a gap.
  const pending = useRef(null);
  const onThisPage = useRef(new Set());
  onThisPage.current = new Set(page.tasks.map((t) => t.id));
  const firstPage = cursors.length === 1;
  const firstPageRef = useRef(firstPage);
  firstPageRef.current = firstPage;
  useEffect(() =>
    events.subscribe((event) => {
      if (event.kind !== "task" && event.kind !== "gap") return;
      const onPage = event.kind === "task" && onThisPage.current.has(event.taskId);
      const isNew = event.kind === "task" && event.event === "submitted" && firstPageRef.current;
      if (!onPage && !isNew && event.kind !== "gap") return;
      if (onPage) {
        setPage((p) => {
          const i = p.tasks.findIndex((t) => t.id === event.taskId);
          if (i < 0) return p;
          const tasks = p.tasks.slice();
          tasks[i] = patchRow(tasks[i], event);
          return { ...p, tasks };
        });
      }
      if (pending.current === null) {
        pending.current = setTimeout(() => {
          pending.current = null;
          setVersion((v) => v + 1);
        }, REFETCH_MS);
      }
    }), [events]);
  useEffect(() => () => clearTimeout(pending.current), []);

  const text = filter.text.trim().toLowerCase();
  const rows = text === ""
    ? page.tasks
    : page.tasks.filter((t) =>
      [t.id, t.kind, t.queue ?? "default", t.description, t.owner].some((f) =>
        f.toLowerCase().includes(text)
      )
    );
  const change = (patch) => {
    setFilter((f) => ({ ...f, ...patch }));
    if (!("text" in patch)) setCursors([null]);
  };
  return html`
    <section class="panel wide" data-testid="tasks" data-loaded=${page.loaded ? "yes" : "no"}>
      <h2>Tasks <small>${page.total} matching</small></h2>
      <div class="filters">
        <label>state <select name="state" value=${filter.state}
          onChange=${(e) => change({ state: e.currentTarget.value })}>
          <option value="">any</option>
          ${TASK_STATES.map((s) => html`<option value=${s}>${s}</option>`)}
        </select></label>
        <label><input type="checkbox" name="all" checked=${filter.all}
          onChange=${(e) =>
            change({ all: e.currentTarget.checked })} /> every user's (admins)</label>
        <label>find <input name="find" placeholder="in this page: id, kind, text" value=${filter
          .text}
          onInput=${(e) => change({ text: e.currentTarget.value })} /></label>
      </div>
      ${page.error ? html`<p class="error">${page.error}</p>` : null}
      <table class="tasks">
        <thead><tr><th>id</th><th>state</th><th>kind</th><th>queue</th><th>description</th><th>owner</th><th>attempt</th><th>worker</th><th>submitted</th></tr></thead>
        <tbody>
          ${rows.map((t) =>
            html`
              <tr key=${t.id} data-task=${t.id} class=${t.id === selected ? "selected" : ""}
                onClick=${() => onSelect(t.id)}>
                <td><a href=${`#task=${encodeURIComponent(t.id)}`}>${t.id}</a></td>
                <td data-field="state"><span class=${`badge ${t.state}`}>${t.state}</span></td>
                <td>${t.kind}</td>
                <td>${t.queue ?? "default"}</td>
                <td class="text">${t.description}</td>
                <td>${t.owner}</td>
                <td>${t.attempt}</td>
                <td>${t.workerId ?? "—"}</td>
                <td>${clock(t.submittedAtMs)}</td>
              </tr>
            `
          )}
        </tbody>
      </table>
      <div class="pager">
        <button type="button" disabled=${cursors.length === 1}
          onClick=${() => setCursors((c) => c.slice(0, -1))}>newer</button>
        <span>page ${cursors.length}</span>
        <button type="button" disabled=${page.next === null}
          onClick=${() => setCursors((c) => [...c, page.next])}>older</button>
      </div>
    </section>
  `;
}

/** A row as an event leaves it (the refetch that follows brings the rest). */
function patchRow(task, event) {
  const state = {
    assigned: "running",
    started: "running",
    succeeded: "succeeded",
    failed: "failed",
    cancelled: "cancelled",
    expired: "expired",
    requeued: "queued",
    retrying: "queued",
  }[event.event];
  if (state === undefined) return task;
  return {
    ...task,
    state,
    attempt: Math.max(task.attempt, event.attempt),
    workerId: state === "running" ? event.workerId : task.workerId,
  };
}
