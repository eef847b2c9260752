// Cycle counts (盘点): a supervisor creates count tasks (a location, a zone, an item or a lot), runs the
// ABC schedule, and reviews what was counted: a recounted difference is approved here with a reason code
// (then udipick books it through the ledger and tells the ERP, count.adjusted.v1). The counters count
// blind on their handhelds; this is the only screen that shows the books next to the count.
import { useState } from "preact/hooks";
import { post, type Problem, type Schemas } from "../api";
import { feedback } from "../feedback";
import { useLang } from "../i18n";
import { Toast } from "../ui";
import { st, type SupKey } from "./messages";
import { attempt, Chip, LoadState, ProblemBox, Segments, useLoad, when } from "./common";

type Task = Schemas["CountTaskView"];
type Line = Schemas["TaskLineView"];
type Kind = Schemas["CountTaskIn"]["kind"];
const REASONS = ["counting-error", "damage", "theft-loss", "found", "unrecorded-receipt", "other"] as const;

export function CountsSection() {
  useLang();
  const tasks = useLoad<Task[]>("/api/v1/count-tasks?status=open");
  const [kind, setKind] = useState<Kind>("location");
  const [target, setTarget] = useState("");
  const [lot, setLot] = useState("");
  const [problem, setProblem] = useState<Problem | null>(null);
  const [toast, setToast] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const create = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setProblem(null);
    const body: Schemas["CountTaskIn"] = { kind };
    if (kind === "location") body.location = target;
    else if (kind === "zone") body.zone = target;
    else body.item = target;
    if (kind === "lot") body.lot = lot;
    const made = await attempt(() => post<Task>("/api/v1/count-tasks", body), (p) => {
      feedback("refused");
      setProblem(p);
    });
    setBusy(false);
    if (made) {
      feedback("ok");
      setToast(st("counts.created", { task: made.taskId, n: made.lines.length }));
      setTarget("");
      setLot("");
      void tasks.reload();
    }
  };

  const schedule = async () => {
    setProblem(null);
    const run = await attempt(() => post<Schemas["ScheduleRun"]>("/api/v1/count-tasks/schedule"), setProblem);
    if (run) {
      setToast(st("counts.scheduled", { n: run.created.length }));
      void tasks.reload();
    }
  };

  return (
    <div class="sup-cols">
      <div class="sup-stack">
        <form class="card form" data-testid="counts-form" onSubmit={(e) => void create(e)}>
          <h2 class="card-title">{st("counts.create")}</h2>
          <Segments
            value={kind}
            testId="counts-kind"
            onChange={setKind}
            options={(["location", "zone", "item", "lot"] as const).map((k) => ({ value: k, label: st(`counts.kind.${k}` as SupKey) }))}
          />
          <label>
            {st(kind === "location" ? "counts.location" : kind === "zone" ? "counts.zone" : "counts.item")}
            <input data-testid="counts-target" value={target} required onInput={(e) => setTarget((e.target as HTMLInputElement).value)} />
          </label>
          {kind === "lot" && (
            <label>
              {st("counts.lot")}
              <input data-testid="counts-lot" value={lot} required onInput={(e) => setLot((e.target as HTMLInputElement).value)} />
            </label>
          )}
          <ProblemBox problem={problem} testId="counts-problem" />
          <button type="submit" class="btn primary" data-testid="counts-create" disabled={busy}>
            {st("counts.create")}
          </button>
          <button type="button" class="btn ghost" data-testid="counts-schedule" onClick={() => void schedule()}>
            {st("counts.schedule")}
          </button>
        </form>
      </div>
      <section class="sup-stack" data-testid="counts-list">
        <div class="sup-toolbar">
          <button type="button" class="btn ghost" data-testid="counts-refresh" onClick={() => void tasks.reload()}>
            {st("sup.refresh")}
          </button>
        </div>
        <Toast text={toast} kind="ok" />
        <LoadState loaded={tasks} testId="counts-load-problem" />
        {tasks.data?.length === 0 && (
          <p class="muted" data-testid="counts-none">
            {st("counts.none")}
          </p>
        )}
        <ul class="sup-cards">
          {tasks.data?.map((task) => (
            <li key={task.taskId} class="card" data-testid="counts-task" data-task-id={task.taskId}>
              <h3 class="card-title sup-title-row">
                <span>{st("counts.task", { task: task.taskId, target: task.target })}</span>
                <Chip kind="info">{st(`counts.origin.${task.origin}` as SupKey)}</Chip>
              </h3>
              <p class="muted">{when(task.createdAt)}</p>
              <div class="sup-stack">
                {task.lines.map((line) => (
                  <LineCard key={line.lineId} line={line} onDone={(text) => { setToast(text); void tasks.reload(); }} />
                ))}
              </div>
            </li>
          ))}
        </ul>
      </section>
    </div>
  );
}

function LineCard({ line, onDone }: { line: Line; onDone: (text: string) => void }) {
  useLang();
  const [reason, setReason] = useState<string>("counting-error");
  const [note, setNote] = useState("");
  const [problem, setProblem] = useState<Problem | null>(null);

  const approve = async (e: Event) => {
    e.preventDefault();
    setProblem(null);
    const body: Schemas["ApproveIn"] = { reason, note: note || null };
    const done = await attempt(() => post<Schemas["CountApproved"]>(`/api/v1/count-tasks/lines/${line.lineId}/approve`, body), (p) => {
      feedback("refused");
      setProblem(p);
    });
    if (done) {
      feedback("ok");
      onDone(st("counts.approved", { location: line.location, n: done.adjusted }));
    }
  };

  return (
    <div data-testid="counts-line" data-line-id={line.lineId} data-status={line.status}>
      <strong>{line.location}</strong> · {line.item} <Chip kind={line.status === "review" ? "warn" : "info"}>{st(`counts.status.${line.status}` as SupKey)}</Chip>
      {line.compared && (
        <div class="counts-table">
        <table data-testid="counts-compared">
          <thead>
            <tr>
              <th>{st("counts.lot")}</th>
              <th>{st("counts.expected")}</th>
              <th>{st("counts.counted")}</th>
              <th>{st("counts.difference")}</th>
            </tr>
          </thead>
          <tbody>
            {line.compared.map((c, i) => (
              <tr key={i}>
                <td>{String(c.serial ?? c.lot ?? "—")}</td>
                <td>{String(c.expected)}</td>
                <td>{String(c.counted)}</td>
                <td>{String(c.difference)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        </div>
      )}
      {(line.firstBy || line.recountBy) && (
        <p class="muted">{st("counts.by", { first: line.firstBy ?? "—", recount: line.recountBy ?? "—" })}</p>
      )}
      {line.status === "review" && (
        <form class="form" data-testid="counts-approve-form" onSubmit={(e) => void approve(e)}>
          <label>
            {st("counts.reason")}
            <select data-testid="counts-reason" value={reason} onChange={(e) => setReason((e.target as HTMLSelectElement).value)}>
              {REASONS.map((r) => (
                <option key={r} value={r}>
                  {st(`counts.reason.${r}` as SupKey)}
                </option>
              ))}
            </select>
          </label>
          <label>
            {st("counts.note")}
            <input data-testid="counts-note" value={note} onInput={(e) => setNote((e.target as HTMLInputElement).value)} />
          </label>
          <ProblemBox problem={problem} testId="counts-approve-problem" />
          <button type="submit" class="btn primary" data-testid="counts-approve">
            {st("counts.approve")}
          </button>
        </form>
      )}
    </div>
  );
}
