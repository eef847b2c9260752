// Print jobs: every label udipick rendered, newest first, with where it went and why it did not print.
// A failed or printer-less job is retried (on a printer chosen here, or its own / the default one);
// a printed one is printed again as a new job. Each answer is the job as it stands after one attempt.
import { useEffect, useState } from "preact/hooks";
import { get, post, type Problem, type Schemas } from "../api";
import { feedback } from "../feedback";
import { useLang } from "../i18n";
import { Toast } from "../ui";
import { st, type SupKey } from "./messages";
import { attempt, Chip, LoadState, ProblemBox, Segments, useLoad, when } from "./common";

type Job = Schemas["PrintJobOut"];
type Printer = Schemas["PrinterOut"];
type Status = "queued" | "sent" | "failed" | "no_printer";
const STATUSES: Status[] = ["failed", "no_printer", "queued", "sent"];
const CHIP: Record<string, "ok" | "bad" | "warn" | "info"> = { sent: "ok", failed: "bad", no_printer: "bad", queued: "warn" };

export function statusLabel(status: string): string {
  return (STATUSES as string[]).includes(status) ? st(`print.${status}` as SupKey) : status;
}

export function PrintJobsSection() {
  useLang();
  const [filter, setFilter] = useState<Status | "all">("all");
  const jobs = useLoad<Job[]>(filter === "all" ? "/api/v1/print-jobs?limit=100" : `/api/v1/print-jobs?limit=100&status=${filter}`);
  const [printers, setPrinters] = useState<Printer[]>([]);
  const [printer, setPrinter] = useState("");
  const [problem, setProblem] = useState<Problem | null>(null);
  const [toast, setToast] = useState<string | null>(null);
  const [busy, setBusy] = useState<number | null>(null);

  useEffect(() => {
    // the registry is readable by supervisors; without it a retry goes to the job's own or the default printer
    get<Printer[]>("/api/v1/printers").then(
      (ps) => setPrinters(ps.filter((p) => p.active)),
      () => setPrinters([]),
    );
  }, []);

  const act = async (job: Job, action: "retry" | "reprint") => {
    setBusy(job.id);
    setProblem(null);
    setToast(null);
    const body: Schemas["JobActionIn"] | null = printer ? { printer } : null;
    const done = await attempt(() => post<Job>(`/api/v1/print-jobs/${job.id}/${action}`, body), (p) => {
      feedback("refused");
      setProblem(p);
    });
    setBusy(null);
    if (done) {
      feedback(done.status === "sent" ? "ok" : "queued");
      setToast(st("print.done", { id: done.id, status: statusLabel(done.status) }));
    }
    void jobs.reload();
  };

  return (
    <div class="sup-stack">
      <div class="sup-toolbar">
        <Segments
          value={filter}
          testId="print-filter"
          onChange={setFilter}
          options={[{ value: "all" as const, label: st("print.all") }, ...STATUSES.map((s) => ({ value: s, label: statusLabel(s) }))]}
        />
        <button type="button" class="btn ghost" data-testid="print-refresh" onClick={() => void jobs.reload()}>
          {st("sup.refresh")}
        </button>
      </div>
      <label class="sup-inline sup-printer">
        {st("print.onPrinter")}
        <select data-testid="print-printer" value={printer} onChange={(e) => setPrinter((e.target as HTMLSelectElement).value)}>
          <option value="">{st("print.ownPrinter")}</option>
          {printers.map((p) => (
            <option key={p.name} value={p.name}>
              {p.name}
              {p.zone ? ` (${p.zone})` : ""}
            </option>
          ))}
        </select>
      </label>
      <Toast text={toast} kind="info" />
      <ProblemBox problem={problem} testId="print-problem" />
      <LoadState loaded={jobs} testId="print-load-problem" />
      {jobs.data?.length === 0 && (
        <p class="muted" data-testid="print-none">
          {st("print.none")}
        </p>
      )}
      <ul class="sup-cards">
        {jobs.data?.map((j) => (
          <li key={j.id} class="card" data-testid="print-job" data-job-id={j.id} data-status={j.status}>
            <h3 class="card-title sup-title-row">
              <span>
                {st("print.job", { id: j.id })} · {j.kind}
              </span>
              <Chip kind={CHIP[j.status] ?? "info"} testId="print-status">
                {statusLabel(j.status)}
              </Chip>
            </h3>
            <dl class="facts">
              <dt>{st("print.printer")}</dt>
              <dd>{j.printer ?? "—"}</dd>
              <dt>{st("print.attempts")}</dt>
              <dd>
                {j.attempts} / {j.maxAttempts}
              </dd>
              <dt>{st("print.created")}</dt>
              <dd>{when(j.createdAt)}</dd>
              {j.willRetry && (
                <>
                  <dt>{st("print.nextAttempt")}</dt>
                  <dd>{when(j.nextAttemptAt)}</dd>
                </>
              )}
              {(j.lastError || j.status !== "sent") && (
                <>
                  <dt>{st("print.lastError")}</dt>
                  <dd data-testid="print-error">{j.lastError ?? j.message}</dd>
                </>
              )}
            </dl>
            <div class="row">
              {j.status === "sent" ? (
                <button type="button" class="btn" data-testid="print-reprint" disabled={busy === j.id} onClick={() => void act(j, "reprint")}>
                  {st("print.reprint")}
                </button>
              ) : (
                <button type="button" class="btn primary" data-testid="print-retry" disabled={busy === j.id} onClick={() => void act(j, "retry")}>
                  {st("print.retry")}
                </button>
              )}
            </div>
          </li>
        ))}
      </ul>
    </div>
  );
}
