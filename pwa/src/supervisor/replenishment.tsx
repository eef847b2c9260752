// Replenishment: moves from reserve to pick faces, planned for a wave (or for every item below its
// minimum) and confirmed by scans on the floor. The supervisor plans, watches and cancels them; a
// cancel releases the reserve stock the task had set aside.
import { useState } from "preact/hooks";
import { post, type Problem, type Schemas } from "../api";
import { feedback } from "../feedback";
import { t, useLang } from "../i18n";
import { Toast } from "../ui";
import { st } from "./messages";
import { attempt, Chip, LoadState, ProblemBox, Segments, useLoad, when } from "./common";

type Task = Schemas["ReplenishmentTask"];
type Status = Task["status"];

export function ReplenishmentSection() {
  useLang();
  const [status, setStatus] = useState<Status>("open");
  const tasks = useLoad<Task[]>(`/api/v1/replenishment/tasks?status=${status}`);
  const [waveId, setWaveId] = useState("");
  const [problem, setProblem] = useState<Problem | null>(null);
  const [toast, setToast] = useState<string | null>(null);
  const [cancelling, setCancelling] = useState<Task | null>(null);
  const [busy, setBusy] = useState(false);

  const plan = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setProblem(null);
    const body: Schemas["PlanIn"] = { waveId: waveId ? Number(waveId) : null };
    const planned = await attempt(() => post<Schemas["ReplenishmentPlan"]>("/api/v1/replenishment/plan", body), (p) => {
      feedback("refused");
      setProblem(p);
    });
    setBusy(false);
    if (planned) {
      feedback("ok");
      setToast(st("replen.planned", { n: planned.tasks.length }));
      void tasks.reload();
    }
  };

  return (
    <div class="sup-cols">
      <div class="sup-stack">
        {cancelling ? (
          <CancelForm
            task={cancelling}
            onCancel={() => setCancelling(null)}
            onDone={(c) => {
              setCancelling(null);
              setToast(st("replen.cancelledTask", { number: c.number, n: c.released }));
              void tasks.reload();
            }}
          />
        ) : (
          <form class="card form" data-testid="replen-plan-form" onSubmit={(e) => void plan(e)}>
            <h2 class="card-title">{st("replen.plan")}</h2>
            <label>
              {st("replen.planWave")}
              <input data-testid="replen-wave" type="number" inputMode="numeric" min={1} value={waveId} onInput={(e) => setWaveId((e.target as HTMLInputElement).value)} />
            </label>
            <ProblemBox problem={problem} testId="replen-problem" />
            <button type="submit" class="btn primary" data-testid="replen-plan" disabled={busy}>
              {st("replen.plan")}
            </button>
          </form>
        )}
      </div>
      <section class="sup-stack" data-testid="replen-list">
        <div class="sup-toolbar">
          <Segments
            value={status}
            testId="replen-filter"
            onChange={setStatus}
            options={(["open", "done", "cancelled"] as const).map((s) => ({ value: s, label: st(`replen.${s}`) }))}
          />
          <button type="button" class="btn ghost" data-testid="replen-refresh" onClick={() => void tasks.reload()}>
            {st("sup.refresh")}
          </button>
        </div>
        <Toast text={toast} kind="ok" />
        <LoadState loaded={tasks} testId="replen-load-problem" />
        {tasks.data?.length === 0 && (
          <p class="muted" data-testid="replen-none">
            {st("replen.none")}
          </p>
        )}
        <ul class="sup-cards">
          {tasks.data?.map((task) => (
            <li key={task.taskId} class="card" data-testid="replen-task" data-task-id={task.taskId}>
              <h3 class="card-title sup-title-row">
                <span>{st("replen.task", { number: task.number })}</span>
                <Chip kind={task.status === "open" ? "warn" : task.status === "done" ? "ok" : "info"}>{st(`replen.${task.status}`)}</Chip>
              </h3>
              <dl class="facts">
                <dt>{t("field.item")}</dt>
                <dd>
                  {task.item.erpId} <span class="muted">{task.item.name}</span>
                </dd>
                <dt>{t("field.lot")}</dt>
                <dd>
                  {task.lot ?? "—"}
                  {task.expiry ? ` (${task.expiry})` : ""}
                </dd>
                <dt>{st("replen.from")}</dt>
                <dd>{task.from.code}</dd>
                <dt>{st("replen.to")}</dt>
                <dd>{task.to.code}</dd>
                <dt>{st("replen.progress")}</dt>
                <dd>
                  {task.moved} / {task.quantity}
                </dd>
                <dt>{st("replen.why")}</dt>
                <dd>{task.reason}</dd>
                {task.waveId !== null && (
                  <>
                    <dt>{st("replen.wave")}</dt>
                    <dd>{task.waveId}</dd>
                  </>
                )}
                <dt>{st("replen.created")}</dt>
                <dd>{when(task.createdAt)}</dd>
                {task.cancelReason && (
                  <>
                    <dt>{st("replen.cancelled")}</dt>
                    <dd>{task.cancelReason}</dd>
                  </>
                )}
              </dl>
              {task.status === "open" && !cancelling && (
                <button type="button" class="btn danger" data-testid="replen-cancel" onClick={() => setCancelling(task)}>
                  {st("replen.cancel")}
                </button>
              )}
            </li>
          ))}
        </ul>
      </section>
    </div>
  );
}

function CancelForm({ task, onCancel, onDone }: { task: Task; onCancel: () => void; onDone: (c: Schemas["CancelledTask"]) => void }) {
  const [reason, setReason] = useState("");
  const [problem, setProblem] = useState<Problem | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setProblem(null);
    const done = await attempt(
      () => post<Schemas["CancelledTask"]>(`/api/v1/replenishment/tasks/${task.taskId}/cancel`, { reason: reason.trim() } satisfies Schemas["replenishment_CancelIn"]),
      (p) => {
        feedback("refused");
        setProblem(p);
      },
    );
    setBusy(false);
    if (done) {
      feedback("ok");
      onDone(done);
    }
  };
  return (
    <form class="answer form" data-testid="replen-cancel-form" onSubmit={(e) => void submit(e)}>
      <h2>{st("replen.task", { number: task.number })}</h2>
      <label>
        {st("replen.cancelReason")}
        <input data-testid="replen-cancel-reason" autocomplete="off" required minLength={3} maxLength={500} value={reason} onInput={(e) => setReason((e.target as HTMLInputElement).value)} />
      </label>
      <ProblemBox problem={problem} testId="replen-cancel-problem" />
      <div class="row">
        <button type="button" class="btn" onClick={onCancel}>
          {t("common.back")}
        </button>
        <button type="submit" class="btn danger" data-testid="replen-cancel-submit" disabled={busy || reason.trim().length < 3}>
          {st("replen.cancelSubmit")}
        </button>
      </div>
    </form>
  );
}
