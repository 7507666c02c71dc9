// How a view shows a failed read: "admins only" for a plain user's forbidden answer (the cluster
// and worker views are admins'), else the API's message in red.
import { html } from "./html.js";

export function ErrorNote({ error }) {
  if (error === null || error === undefined) return null;
  if (error.code === "forbidden") {
    return html`<p class="muted" data-testid="admins-only">Only admins see this.</p>`;
  }
  return html`<p class="error">${error.message ?? String(error)}</p>`;
}
