// Throughput and latency over the last minutes (uPlot: canvas, fast with thousands of points).
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import { html } from "./html.js";

const REDRAW_MS = 1000;

export function Charts({ stats }) {
  return html`
    <section class="panel wide charts" data-testid="charts">
      <h2>Flow <small>last 5 minutes, per second</small></h2>
      <div class="chart-row">
        <${Chart} stats=${stats} pick="throughput" title="tasks / s" series=${[
          { label: "submitted", stroke: "#6b7fd7" },
          { label: "succeeded", stroke: "#2f9e44" },
          { label: "failed", stroke: "#e03131" },
        ]} />
        <${Chart} stats=${stats} pick="latency" title="ms" series=${[
          { label: "wait p50", stroke: "#f08c00" },
          { label: "wait p95", stroke: "#e8590c", dash: [4, 4] },
          { label: "run p50", stroke: "#1098ad" },
        ]} />
      </div>
    </section>
  `;
}

function timeOfDay(seconds) {
  return new Date(seconds * 1000).toLocaleTimeString([], {
    hour12: false,
    hour: "2-digit",
    minute: "2-digit",
  });
}

function Chart({ stats, pick, title, series }) {
  const box = useRef(null);
  useEffect(() => {
    const width = () => Math.max(280, Math.min(640, (box.current.clientWidth || 600) - 8));
    const plot = new uPlot(
      {
        width: width(),
        height: 180,
        series: [{}, ...series.map((s) => ({ ...s, width: 1.5, points: { size: 4 } }))],
        axes: [
          { space: 70, values: (_u, ticks) => ticks.map(timeOfDay) },
          { label: title, size: 50 },
        ],
        scales: { x: { time: true } },
        legend: { live: false },
      },
      stats.series(Date.now())[pick],
      box.current,
    );
    const timer = setInterval(() => plot.setData(stats.series(Date.now())[pick]), REDRAW_MS);
    const resize = () => plot.setSize({ width: width(), height: 180 });
    addEventListener("resize", resize);
    return () => {
      clearInterval(timer);
      removeEventListener("resize", resize);
      plot.destroy();
    };
  }, [stats, pick]);
  return html`<div class="chart" data-chart=${pick} ref=${box}></div>`;
}
