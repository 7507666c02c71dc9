// The dashboard: log in, then the cluster, workers, flow charts, a submit form, the live task
// table with a task's detail, and schedules. One event stream feeds everything live; reads that
// the stream does not carry (node status, workers' load) are polled.
import { render } from "preact";
import { useEffect, useMemo, useState } from "preact/hooks";
import { html } from "./html.js";
import {
  call,
  clearSession,
  loadSession,
  login,
  onSessionLost,
  reportSessionLost,
  saveSession,
} from "./api.js";
import { openEventStream } from "./event_source.js";
import { FlowStats } from "./flow_stats.js";
import { ClusterView } from "./cluster_view.js";
import { WorkersView } from "./workers_view.js";
import { TasksView } from "./tasks_view.js";
import { TaskDetail } from "./task_detail.js";
import { SubmitForm } from "./submit_form.js";
import { Charts } from "./charts.js";
import { SchedulesView } from "./schedules_view.js";

/** Events of the stream fanned out to the views that subscribe. */
class EventHub {
  #listeners = new Set();
  subscribe(listener) {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
  emit(event) {
    for (const listener of this.#listeners) listener(event);
  }
}

function App() {
  const [session, setSession] = useState(loadSession);
  const [notice, setNotice] = useState(null);
  useEffect(() =>
    onSessionLost((message) => {
      clearSession();
      setSession(null);
      setNotice(`Signed out: ${message}`);
    }), []);
  if (session === null) {
    return html`<${Login} notice=${notice} onLogin=${(s) => {
      saveSession(s);
      setNotice(null);
      setSession(s);
    }} />`;
  }
  const logout = () => {
    // Signed out here at once; the server is told in the background (during an election a
    // forwarded logout can take a while, and the token expires on its own anyway).
    call("/logout", { token: session.token, body: {} }).catch(() => {});
    clearSession();
    setSession(null);
  };
  return html`<${Dashboard} session=${session} onLogout=${logout} />`;
}

function Login({ notice, onLogin }) {
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    setBusy(true);
    setError(null);
    try {
      onLogin(await login(String(form.get("user")), String(form.get("password"))));
    } catch (error) {
      setError(error.message);
    } finally {
      setBusy(false);
    }
  };
  return html`
    <main class="login">
      <h1>Mutirão</h1>
      ${notice ? html`<p class="note">${notice}</p>` : null}
      <form id="login" data-testid="login" onSubmit=${submit}>
        <label>user <input name="user" autocomplete="username" required autofocus /></label>
        <label>password <input name="password" type="password" autocomplete="current-password" required /></label>
        <button type="submit" disabled=${busy}>Log in</button>
      </form>
      ${error ? html`<p class="error" data-testid="login-error">${error}</p>` : null}
    </main>
  `;
}

/** The selected task, from the URL's hash (#task=t-42), so a task's view can be linked. */
function useHashTask() {
  const read = () => {
    const match = /^#task=(.+)$/.exec(location.hash);
    try {
      return match === null ? null : decodeURIComponent(match[1]);
    } catch {
      return null; // a malformed link (bad %-escape) selects nothing
    }
  };
  const [taskId, setTaskId] = useState(read);
  useEffect(() => {
    const changed = () => setTaskId(read());
    addEventListener("hashchange", changed);
    return () => removeEventListener("hashchange", changed);
  }, []);
  const select = (id) => {
    location.hash = id === null ? "" : `task=${encodeURIComponent(id)}`;
  };
  return [taskId, select];
}

/** Log entries the stream starts back from when the page opens. */
const BACKFILL_ENTRIES = 2000;

/**
 * Where the page's stream starts: a log index a little before this node's last applied one; from
 * now when the Raft view is not for this user (plain users). `unavailable` (a follower that has
 * not applied a fresh login yet, an election) is retried a few times.
 */
async function backfillStart(token) {
  for (let attempt = 0; attempt < 10; attempt++) {
    try {
      const { node } = await call("/cluster", { token });
      return String(Math.max(0, node.appliedIndex - BACKFILL_ENTRIES));
    } catch (error) {
      if (error.status !== 503 && error.status !== 0) return undefined;
      await new Promise((resolve) => setTimeout(resolve, 200 * (attempt + 1)));
    }
  }
  return undefined;
}

function Dashboard({ session, onLogout }) {
  const hub = useMemo(() => new EventHub(), []);
  const stats = useMemo(() => new FlowStats(), []);
  const [stream, setStream] = useState({ state: "connecting", detail: null });
  const [clusterKick, setClusterKick] = useState(0);
  const [workerKick, setWorkerKick] = useState(0);
  const [lost, setLost] = useState(() => new Map());
  const [selected, select] = useHashTask();

  useEffect(() => {
    let close = null;
    let stopped = false;
    // Start a little back in the log, so the charts show the last minutes at once (events
    // older than the charts' window are dropped; the ring bounds how far back this can go).
    backfillStart(session.token).then((after) => {
      if (stopped) return;
      close = openEventStream({
        token: session.token,
        after,
        onState: (state, detail) => setStream({ state, detail }),
        onUnauthorized: reportSessionLost,
        onEvent: (kind, data) => {
          // Events were dropped from the server's ring before this reader got them: the views
          // re-read what they show (the charts keep a hole).
          if (kind === "gap") return hub.emit({ kind: "gap" });
          if (kind === "task") stats.add(data);
          if (kind === "cluster") setClusterKick((k) => k + 1);
          if (kind === "worker") {
            setWorkerKick((k) => k + 1);
            setLost((m) => {
              const next = new Map(m);
              if (data.event === "lost") next.set(data.workerId, data);
              else next.delete(data.workerId);
              return next;
            });
          }
          hub.emit(data);
        },
      });
    });
    return () => {
      stopped = true;
      close?.();
    };
  }, [session.token]);

  return html`
    <header class="top">
      <h1>Mutirão</h1>
      <span class=${`stream ${stream.state}`} data-testid="stream" title=${stream.detail ?? ""}>
        ${stream.state === "live" ? "live" : stream.state}
      </span>
      <span class="grow"></span>
      <span data-testid="whoami">${session.user}</span>
      <button type="button" data-testid="logout" onClick=${onLogout}>Log out</button>
    </header>
    <main class="grid">
      <${ClusterView} token=${session.token} kick=${clusterKick} />
      <${WorkersView} token=${session.token} kick=${workerKick} lost=${lost} />
      <${SubmitForm} token=${session.token} onSubmitted=${(id) => select(id)} />
      <${Charts} stats=${stats} />
      ${selected === null ? null : html`
        <${TaskDetail}
          key=${selected}
          token=${session.token}
          user=${session.user}
          taskId=${selected}
          events=${hub}
          onSelect=${select}
          onClose=${() => select(null)} />
      `}
      <${TasksView} token=${session.token} events=${hub} selected=${selected} onSelect=${select} />
      <${SchedulesView} token=${session.token} user=${session.user} />
    </main>
  `;
}

render(html`<${App} />`, document.getElementById("app"));
