// The KPI page (GET /api/v1/kpis, docs/kpis.md): a period picker, every figure of the period in a table
// (a value the server could not compute, because nothing happened to divide by, is "—" with the reason
// as a tooltip, never 0), a CSV download of the same figures, and a chart of one KPI day by day across the
// period. The chart library (uPlot) comes in its own chunk (kpichart.ts), fetched only when this page opens.
import { useEffect, useState } from "preact/hooks";
import { get, headers, OfflineError, ProblemError, type Problem, type Schemas } from "../api";
import { useLang } from "../i18n";
import { LoadState, ProblemBox, Segments, useLoad } from "./common";
import { st, type SupKey } from "./messages";

type Figure = Schemas["KpiFigure"];
type Report = Schemas["KpiReport"];

const DAY = 86_400_000;
const iso = (d: Date) => d.toISOString().slice(0, 10);
const addDays = (day: string, n: number) => iso(new Date(Date.parse(`${day}T00:00:00Z`) + n * DAY));
const daysBetween = (a: string, b: string) => Math.round((Date.parse(`${b}T00:00:00Z`) - Date.parse(`${a}T00:00:00Z`)) / DAY) + 1;

/** The KPIs the chart can follow: one figure for the whole warehouse each. */
export const CHARTED = ["pick_accuracy", "short_pick_rate", "stockout_rate", "inventory_availability", "shipping_accuracy", "dock_to_stock_time", "count_duration", "turnover_days"] as const;
type Charted = (typeof CHARTED)[number];

const kpiName = (kpi: string) => {
  const key = `kpi.${kpi}` as SupKey;
  const name = st(key);
  return name === key ? kpi : name;
};

/** A figure's value as a reader wants it: ratios in per cent, durations with their unit, units whole. */
export function formatValue(f: Pick<Figure, "value" | "unit">, locale?: string): string {
  if (f.value === null) return "—";
  const n = (v: number, digits: number) => v.toLocaleString(locale, { maximumFractionDigits: digits, minimumFractionDigits: digits });
  switch (f.unit) {
    case "ratio":
      return `${n(f.value * 100, 1)} %`;
    case "hours":
      return st("kpi.hours", { n: n(f.value, 1) });
    case "days":
      return st("kpi.days", { n: n(f.value, 1) });
    case "lines/hour":
      return st("kpi.perHour", { n: n(f.value, 1) });
    default:
      return n(f.value, 0);
  }
}

/** Why a value is missing (the tooltip of "—"). */
function whyNull(f: Figure): string {
  return f.kpi === "recall_response_time" ? st("kpi.nullRecall") : st("kpi.nullWhy");
}

type Preset = "7" | "30" | "90" | "custom";

export function KpisSection() {
  const l = useLang();
  const today = iso(new Date());
  const [preset, setPreset] = useState<Preset>("30");
  const [from, setFrom] = useState(addDays(today, -29));
  const [to, setTo] = useState(today);
  const choose = (p: Preset) => {
    setPreset(p);
    if (p !== "custom") {
      setTo(today);
      setFrom(addDays(today, -(Number(p) - 1)));
    }
  };
  const query = `from=${from}&to=${to}`;
  const report = useLoad<Report>(`/api/v1/kpis?${query}`);
  const [charted, setCharted] = useState<Charted>("pick_accuracy");
  const locale = l === "zh-CN" ? "zh-CN" : "en";

  return (
    <div class="sup-stack" data-testid="kpis">
      <div class="sup-toolbar">
        <Segments
          value={preset}
          testId="kpi-preset"
          onChange={choose}
          options={[
            { value: "7", label: st("kpi.lastDays", { n: 7 }) },
            { value: "30", label: st("kpi.lastDays", { n: 30 }) },
            { value: "90", label: st("kpi.lastDays", { n: 90 }) },
            { value: "custom", label: st("kpi.custom") },
          ]}
        />
        <label class="sup-inline sup-date">
          {st("kpi.from")}
          <input
            type="date"
            data-testid="kpi-from"
            value={from}
            max={to}
            onChange={(e) => {
              setPreset("custom");
              setFrom((e.target as HTMLInputElement).value);
            }}
          />
        </label>
        <label class="sup-inline sup-date">
          {st("kpi.to")}
          <input
            type="date"
            data-testid="kpi-to"
            value={to}
            min={from}
            onChange={(e) => {
              setPreset("custom");
              setTo((e.target as HTMLInputElement).value);
            }}
          />
        </label>
        <CsvLink query={query} />
      </div>
      <LoadState loaded={report} testId="kpi-problem" />
      {report.data && (
        <>
          <section class="card sup-stack">
            <div class="sup-toolbar">
              <h2 class="card-title sup-grow">{st("kpi.chartTitle")}</h2>
              <label class="sup-inline">
                {st("kpi.chartKpi")}
                <select data-testid="kpi-chart-kpi" value={charted} onChange={(e) => setCharted((e.target as HTMLSelectElement).value as Charted)}>
                  {CHARTED.map((k) => (
                    <option key={k} value={k}>
                      {kpiName(k)}
                    </option>
                  ))}
                </select>
              </label>
            </div>
            <Trend from={report.data.from} to={report.data.to} kpi={charted} locale={locale} />
          </section>
          <FigureTable report={report.data} locale={locale} zh={l === "zh-CN"} />
        </>
      )}
    </div>
  );
}

function FigureTable({ report, locale, zh }: { report: Report; locale: string; zh: boolean }) {
  return (
    <section class="card">
      <h2 class="card-title" data-testid="kpi-period">
        {st("kpi.period", { from: report.from, to: report.to })}
      </h2>
      <div class="sup-scroll">
      <table class="sup-table" data-testid="kpi-table">
        <thead>
          <tr>
            <th>{st("kpi.kpi")}</th>
            <th>{st("kpi.subject")}</th>
            <th class="num">{st("kpi.value")}</th>
            <th class="num sup-parts">{st("kpi.parts")}</th>
          </tr>
        </thead>
        <tbody>
          {report.figures.map((f) => (
            <tr key={`${f.kpi}/${f.subject ?? ""}`} data-testid="kpi-figure" data-kpi={f.kpi} data-subject={f.subject ?? ""}>
              <td>{zh ? f.nameZh : kpiName(f.kpi)}</td>
              <td>{f.subject ?? ""}</td>
              <td class="num" data-testid="kpi-value" data-value={f.value ?? ""} title={f.value === null ? whyNull(f) : undefined}>
                {f.value === null ? (
                  <abbr class="sup-null" title={whyNull(f)} tabIndex={0}>
                    —
                  </abbr>
                ) : (
                  formatValue(f, locale)
                )}
              </td>
              <td class="num muted sup-parts">
                {f.numerator === null ? "—" : f.numerator.toLocaleString(locale, { maximumFractionDigits: 2 })} / {f.denominator === null ? "—" : f.denominator.toLocaleString(locale, { maximumFractionDigits: 2 })}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      </div>
    </section>
  );
}

/** The CSV of the period. The API wants the bearer token, which a plain link cannot send, so the link
 * fetches it and hands the browser the file. */
function CsvLink({ query }: { query: string }) {
  const [problem, setProblem] = useState<Problem | null>(null);
  const href = `/api/v1/kpis?${query}&format=csv`;
  const download = async (e: Event) => {
    e.preventDefault();
    setProblem(null);
    let res: Response;
    try {
      res = await fetch(href, { headers: { ...headers(), Accept: "text/csv" } });
    } catch {
      setProblem({ status: 0, detail: st("sup.offline") });
      return;
    }
    if (!res.ok) {
      setProblem(await res.json().catch(() => ({ status: res.status })));
      return;
    }
    const url = URL.createObjectURL(await res.blob());
    const a = document.createElement("a");
    a.href = url;
    a.download = `udipick-kpis-${query.replace(/from=|to=/g, "").replace("&", "_")}.csv`;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  };
  return (
    <>
      <a class="btn ghost" href={href} data-testid="kpi-csv" onClick={(e) => void download(e)}>
        {st("kpi.csv")}
      </a>
      <ProblemBox problem={problem} testId="kpi-csv-problem" />
    </>
  );
}

/** Day buckets of the period (at most 31; a longer period gets buckets of several days). */
export function buckets(from: string, to: string, most = 31): { from: string; to: string }[] {
  const days = daysBetween(from, to);
  const size = Math.ceil(days / most);
  const out = [];
  for (let start = from; start <= to; start = addDays(start, size)) {
    const end = addDays(start, size - 1);
    out.push({ from: start, to: end < to ? end : to });
  }
  return out;
}

type Series = { from: string; value: number | null; unit: string }[];

function Trend({ from, to, kpi, locale }: { from: string; to: string; kpi: Charted; locale: string }) {
  const [series, setSeries] = useState<Series | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [Chart, setChart] = useState<typeof import("./kpichart").KpiChart | null>(null);
  useEffect(() => {
    let gone = false;
    import("./kpichart").then(
      (m) => !gone && setChart(() => m.KpiChart),
      (err: unknown) => !gone && setProblem({ status: 0, detail: String(err) }),
    );
    return () => {
      gone = true;
    };
  }, []);
  useEffect(() => {
    let gone = false;
    setSeries(null);
    setProblem(null);
    const parts = buckets(from, to);
    const out: Series = new Array(parts.length);
    let next = 0;
    // three at a time: each report is one REPEATABLE READ transaction on the server
    const worker = async () => {
      while (next < parts.length && !gone) {
        const i = next++;
        const r = await get<Report>(`/api/v1/kpis?from=${parts[i].from}&to=${parts[i].to}`);
        const f = r.figures.find((x) => x.kpi === kpi && !x.subject);
        out[i] = { from: parts[i].from, value: f?.value ?? null, unit: f?.unit ?? "ratio" };
      }
    };
    Promise.all([worker(), worker(), worker()]).then(
      () => !gone && setSeries(out),
      (err: unknown) => {
        if (gone) return;
        if (err instanceof ProblemError) setProblem(err.problem);
        else if (err instanceof OfflineError) setProblem({ status: 0, detail: st("sup.offline") });
        else setProblem({ status: 0, detail: String(err) });
      },
    );
    return () => {
      gone = true;
    };
  }, [from, to, kpi]);
  if (problem) return <ProblemBox problem={problem} testId="kpi-chart-problem" />;
  if (!series || !Chart) return <p class="muted">{st("kpi.chartLoading")}</p>;
  const empty = series.every((p) => p.value === null);
  return (
    <>
      <Chart
        series={series}
        label={kpiName(kpi)}
        ratio={series[0]?.unit === "ratio"}
        format={(v) => formatValue({ value: v, unit: series[0]?.unit ?? "ratio" }, locale)}
      />
      {empty && <p class="muted" data-testid="kpi-chart-empty">{st("kpi.chartEmpty")}</p>}
    </>
  );
}
