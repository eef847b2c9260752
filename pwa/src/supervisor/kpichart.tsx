// The KPI chart: uPlot (about 20 kB gzipped, no dependencies), in a chunk of its own that only the KPI
// page imports, so neither the handheld nor the rest of the supervisor area downloads it. A day with
// no value (nothing to divide by) is a gap in the line, not a zero.
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

export interface ChartProps {
  series: { from: string; value: number | null }[];
  label: string;
  format: (v: number) => string;
  /** a ratio is drawn on 0–100 %, whatever the values */
  ratio: boolean;
}

export function KpiChart({ series, label, format, ratio }: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    // one point per bucket, labelled with its first day (MM-DD): days, not clock times, are what a period has
    const xs = series.map((_p, i) => i);
    const day = (i: number) => series[Math.round(i)]?.from.slice(5) ?? "";
    const ys = series.map((p) => p.value);
    const width = () => Math.max(280, el.clientWidth);
    const axis = { stroke: "#cfe0f2", grid: { stroke: "#29496b", width: 1 }, ticks: { stroke: "#29496b", width: 1 } };
    const plot = new uPlot(
      {
        width: width(),
        height: 240,
        legend: { show: false },
        cursor: { y: false },
        scales: { x: { time: false, range: [-0.5, Math.max(0.5, series.length - 0.5)] }, y: ratio ? { range: [0, 1] } : {} },
        axes: [
          { ...axis, space: 48, incrs: [1, 2, 5, 7, 14], values: (_u, ticks) => ticks.map((v) => (Number.isInteger(v) ? day(v) : "")) },
          { ...axis, size: 80, values: (_u, ticks) => ticks.map((v) => format(v)) },
        ],
        series: [{}, { label, stroke: "#ffd400", width: 3, fill: "rgba(255,212,0,0.12)", spanGaps: false, points: { show: true, size: 8, fill: "#ffd400" } }],
      },
      [xs, ys as (number | null)[]] as uPlot.AlignedData,
      el,
    );
    const resize = () => plot.setSize({ width: width(), height: 240 });
    window.addEventListener("resize", resize);
    return () => {
      window.removeEventListener("resize", resize);
      plot.destroy();
    };
  }, [series, label]);
  return <div ref={box} class="sup-chart" data-testid="kpi-chart" data-points={series.filter((p) => p.value !== null).length} role="img" aria-label={label} />;
}
