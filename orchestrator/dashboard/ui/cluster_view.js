// Each orchestrator's role, term, commit, lag and disk, from the serving orchestrator's
// fan-out (GET /api/v1/cluster/nodes), polled every 2 s and at once on a leader change.
import { html } from "./html.js";
import { call } from "./api.js";
import { usePoll } from "./use_poll.js";
import { ErrorNote } from "./error_note.js";
import { bytes } from "./format.js";

async function readCluster(token) {
  try {
    return (await call("/cluster/nodes", { token })).nodes;
  } catch (error) {
    if (error.status !== 404) throw error;
    // An orchestrator without the fan-out: its own view only.
    const { node } = await call("/cluster", { token });
    return [{ id: node.id, reachable: true, node }];
  }
}

export function ClusterView({ token, kick }) {
  const { data: nodes, error } = usePoll(() => readCluster(token), 2000, kick);
  const leader = nodes?.find((n) => n.reachable && n.node.role === "leader")?.node;
  return html`
    <section class="panel" data-testid="cluster">
      <h2>Cluster ${leader
        ? html`<small>leader ${leader.id}, term ${leader.term}</small>`
        : null}</h2>
      <${ErrorNote} error=${error} />
      <table>
        <thead>
          <tr>
            <th>node</th>
            <th>role</th>
            <th>term</th>
            <th>commit</th>
            <th>lag</th>
            <th>disk</th>
          </tr>
        </thead>
        <tbody>
          ${(nodes ?? []).map((n) => html`<${NodeRow} key=${n.id} entry=${n} leader=${leader} />`)}
        </tbody>
      </table>
    </section>
  `;
}

function NodeRow({ entry, leader }) {
  if (!entry.reachable) {
    return html`
      <tr data-node=${entry.id} class="down">
        <td>${entry.id}</td>
        <td data-field="role">unreachable</td>
        <td colspan="4" class="muted text" title=${entry.error ?? ""}>${entry.error ?? ""}</td>
      </tr>
    `;
  }
  const n = entry.node;
  const lag = leader ? Math.max(0, leader.commitIndex - n.appliedIndex) : null;
  const disk = n.disk ? n.disk.snapshotBytes + n.disk.logBytes : null;
  return html`
    <tr data-node=${n.id} class=${n.role}>
      <td>${n.id}</td>
      <td data-field="role"><span class=${`badge ${n.role}`}>${n.role}</span></td>
      <td>${n.term}</td>
      <td>${n.commitIndex}</td>
      <td>${lag === null ? "—" : lag}</td>
      <td>${bytes(disk)}</td>
    </tr>
  `;
}
