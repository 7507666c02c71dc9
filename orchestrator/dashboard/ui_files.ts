/**
 * The dashboard's own browser files (ui/), as text: plain ES modules and CSS served as written,
 * with no build step; the page's import map resolves their bare imports to the vendor files.
 * @module
 */
import app from "./ui/app.js" with { type: "text" };
import api from "./ui/api.js" with { type: "text" };
import charts from "./ui/charts.js" with { type: "text" };
import clusterView from "./ui/cluster_view.js" with { type: "text" };
import errorNote from "./ui/error_note.js" with { type: "text" };
import eventSource from "./ui/event_source.js" with { type: "text" };
import flowStats from "./ui/flow_stats.js" with { type: "text" };
import format from "./ui/format.js" with { type: "text" };
import html from "./ui/html.js" with { type: "text" };
import schedulesView from "./ui/schedules_view.js" with { type: "text" };
import submission from "./ui/submission.js" with { type: "text" };
import submitForm from "./ui/submit_form.js" with { type: "text" };
import taskDetail from "./ui/task_detail.js" with { type: "text" };
import tasksView from "./ui/tasks_view.js" with { type: "text" };
import usePoll from "./ui/use_poll.js" with { type: "text" };
import workersView from "./ui/workers_view.js" with { type: "text" };
import style from "./ui/style.css" with { type: "text" };

/** The files by their name under `/ui/`. */
export const UI_FILES: Readonly<Record<string, string>> = {
  "app.js": app,
  "api.js": api,
  "charts.js": charts,
  "cluster_view.js": clusterView,
  "error_note.js": errorNote,
  "event_source.js": eventSource,
  "flow_stats.js": flowStats,
  "format.js": format,
  "html.js": html,
  "schedules_view.js": schedulesView,
  "submission.js": submission,
  "submit_form.js": submitForm,
  "task_detail.js": taskDetail,
  "tasks_view.js": tasksView,
  "use_poll.js": usePoll,
  "workers_view.js": workersView,
  "style.css": style,
};
