// Small formatting helpers shared by the views (plain text out; the templates escape it).

export function ago(ms) {
  if (ms === null || ms === undefined) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

export function clock(ms) {
  if (ms === null || ms === undefined) return "—";
  return new Date(ms).toLocaleTimeString([], { hour12: false });
}

export function dateTime(ms) {
  if (ms === null || ms === undefined) return "—";
  const d = new Date(ms);
  return `${d.toLocaleDateString()} ${d.toLocaleTimeString([], { hour12: false })}`;
}

export function bytes(n) {
  if (n === null || n === undefined) return "—";
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

export const TASK_STATES = ["queued", "running", "succeeded", "failed", "cancelled", "expired"];
export const FINAL_STATES = ["succeeded", "failed", "cancelled", "expired"];

export function isFinal(state) {
  return FINAL_STATES.includes(state);
}

/** What an ended task's outcome says, in one line. */
export function outcomeLine(result) {
  if (result === null || result === undefined) return "";
  const parts = [];
  if (result.value !== undefined) parts.push(`value ${result.value}`);
  if (result.exitCode !== undefined && result.exitCode !== null) {
    parts.push(`exit ${result.exitCode}`);
  }
  if (result.timedOut) parts.push("timed out");
  if (result.dependencyFailed) parts.push(`dependency ${result.dependencyFailed} failed`);
  if (result.error) parts.push(String(result.error));
  return parts.join(" · ");
}
