// The wave board: the waves (GET /api/v1/waves, filters by status and release day), one wave's detail
// (GET /api/v1/waves/{id}: orders with lines picked of total, short lines, pickers, times), its priority
// (1 first in the pickers' lists) and cancelling a wave, an order or a line with a reason. Cancelling
// asks twice (the reason, then a confirmation naming what will happen) and its buttons sit apart from
// the everyday ones, in their own "danger" box. The live feed (live.ts) says when a wave moved; the board
// then re-reads it, so every figure comes from the same server query whether live or refreshed by hand.
import { useEffect, useRef, useState } from "preact/hooks";
import { post, type Problem, type Schemas } from "../api";
import { feedback } from "../feedback";
import { t, useLang } from "../i18n";
import { Progress, Toast } from "../ui";
import { attempt, Chip, LoadState, ProblemBox, Segments, useLoad, when } from "./common";
import { LiveChip } from "./livechip";
import { useLive } from "./live";
import { st } from "./messages";

type WaveSummary = Schemas["WaveSummary"];
type WaveDetail = Schemas["WaveDetail"];
type Status = WaveSummary["status"] | "all";

const STATUS_KIND = { released: "info", done: "ok", cancelled: "bad" } as const;

/** Call `reload` shortly after the live feed moved one of `waves` (every wave when `waves` is null). */
function useReloadOnLive(waves: number[] | null, reload: () => Promise<void>) {
  const s = useLive();
  const key = waves === null ? Object.values(s.waveTick).reduce((a, b) => a + b, 0) : waves.map((w) => s.waveTick[w] ?? 0).join(",");
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    const timer = setTimeout(() => void reload(), 250);
    return () => clearTimeout(timer);
  }, [key]);
}

export function WavesSection() {
  useLang();
  const [status, setStatus] = useState<Status>("released");
  const [date, setDate] = useState("");
  const q = new URLSearchParams();
  if (status !== "all") q.set("status", status);
  if (date) q.set("date", date);
  const page = useLoad<Schemas["WavePage"]>(`/api/v1/waves?${q}`);
  const [open, setOpen] = useState<number | null>(null);
  useReloadOnLive(null, page.reload);

  return (
    <div class="sup-cols sup-cols-wide">
      <section class="sup-stack" data-testid="waves-list">
        <div class="sup-toolbar">
          <Segments
            value={status}
            testId="waves-filter"
            onChange={setStatus}
            options={(["released", "done", "cancelled", "all"] as const).map((v) => ({ value: v, label: st(`waves.${v}`) }))}
          />
          <label class="sup-inline sup-date">
            {st("waves.date")}
            <input type="date" data-testid="waves-date" value={date} onChange={(e) => setDate((e.target as HTMLInputElement).value)} />
          </label>
          <LiveChip />
        </div>
        <LoadState loaded={page} testId="waves-problem" />
        {page.data?.waves.length === 0 && (
          <p class="muted" data-testid="waves-none">
            {st("waves.none")}
          </p>
        )}
        <ul class="sup-cards">
          {page.data?.waves.map((w) => (
            <li key={w.waveId}>
              <button
                type="button"
                class={`card sup-wave${open === w.waveId ? " selected" : ""}`}
                data-testid="wave"
                data-wave-id={w.waveId}
                aria-pressed={open === w.waveId}
                onClick={() => setOpen(w.waveId)}
              >
                <span class="sup-title-row">
                  <strong>{st("waves.wave", { wave: w.waveId })}</strong>
                  <Chip kind={STATUS_KIND[w.status]}>{st(`waves.${w.status}`)}</Chip>
                </span>
                <Progress done={w.linesPicked} total={w.linesTotal} />
                <span class="sup-figures">
                  <span data-testid="wave-lines">{st("waves.linesPicked", { picked: w.linesPicked, total: w.linesTotal })}</span>
                  <span>{st("waves.orders", { n: w.orders })}</span>
                  {w.shortLines > 0 && <Chip kind="warn">{st("waves.shortN", { n: w.shortLines })}</Chip>}
                  <span>{st("waves.priorityN", { n: w.priority })}</span>
                </span>
                <span class="muted">{when(w.releasedAt)}</span>
              </button>
            </li>
          ))}
        </ul>
      </section>
      <section class="sup-stack">
        {open === null ? (
          <p class="muted">{st("waves.pick")}</p>
        ) : (
          <WaveDetailView key={open} waveId={open} onChanged={() => void page.reload()} onClose={() => setOpen(null)} />
        )}
      </section>
    </div>
  );
}

type Target = { kind: "wave" } | { kind: "order"; order: string } | { kind: "line"; order: string; lineNo: number };

function WaveDetailView({ waveId, onChanged, onClose }: { waveId: number; onChanged: () => void; onClose: () => void }) {
  useLang();
  const wave = useLoad<WaveDetail>(`/api/v1/waves/${waveId}`);
  useReloadOnLive([waveId], wave.reload);
  const [toast, setToast] = useState<string | null>(null);
  const [cancel, setCancel] = useState<Target | null>(null);
  const w = wave.data;
  const changed = (text: string) => {
    setToast(text);
    void wave.reload();
    onChanged();
  };
  return (
    <article class="card sup-detail" data-testid="wave-detail" data-wave-id={waveId}>
      <h2 class="card-title sup-title-row">
        <span>{st("waves.wave", { wave: waveId })}</span>
        {w && <Chip kind={STATUS_KIND[w.status]}>{st(`waves.${w.status}`)}</Chip>}
        <button type="button" class="btn ghost" data-testid="wave-detail-close" aria-label={t("common.close")} onClick={onClose}>
          ✕
        </button>
      </h2>
      <Toast text={toast} kind="ok" />
      <LoadState loaded={wave} testId="wave-detail-problem" />
      {w && (
        <>
          <Progress done={w.linesPicked} total={w.linesTotal} />
          <dl class="facts">
            <dt>{st("waves.lines")}</dt>
            <dd data-testid="wave-detail-lines">{st("waves.linesPicked", { picked: w.linesPicked, total: w.linesTotal })}</dd>
            <dt>{st("waves.units")}</dt>
            <dd data-testid="wave-detail-units">{st("waves.linesPicked", { picked: w.unitsPicked, total: w.units })}</dd>
            <dt>{st("waves.released")}</dt>
            <dd>{st("sup.by", { who: w.releasedBy ?? "—", at: when(w.releasedAt) })}</dd>
            <dt>{st("waves.started")}</dt>
            <dd>{when(w.startedAt)}</dd>
            <dt>{st("waves.finished")}</dt>
            <dd>{when(w.finishedAt)}</dd>
            {w.cancelledAt && (
              <>
                <dt>{st("waves.cancelled")}</dt>
                <dd>
                  {when(w.cancelledAt)} — {w.cancelReason}
                </dd>
              </>
            )}
          </dl>
          {w.status === "released" && <PriorityForm wave={w} onSet={(p) => changed(st("waves.prioritySet", { wave: waveId, n: p }))} />}

          <h3 class="sup-h3">{st("waves.ordersTitle")}</h3>
          <table class="sup-table" data-testid="wave-orders">
            <thead>
              <tr>
                <th>{st("waves.order")}</th>
                <th>{st("waves.lines")}</th>
                <th>{st("waves.short")}</th>
                <th>{st("waves.status")}</th>
              </tr>
            </thead>
            <tbody>
              {w.orderLines.map((o) => (
                <tr key={o.order} data-testid="wave-order" data-order={o.order}>
                  <td>{o.order}</td>
                  <td data-testid="wave-order-lines">{st("waves.linesPicked", { picked: o.linesPicked, total: o.linesTotal })}</td>
                  <td>{o.shortLines || "—"}</td>
                  <td>{o.status}</td>
                </tr>
              ))}
            </tbody>
          </table>

          {w.short.length > 0 && (
            <>
              <h3 class="sup-h3">{st("waves.shortTitle")}</h3>
              <ul class="sup-lines" data-testid="wave-short">
                {w.short.map((l) => (
                  <li key={`${l.order}/${l.lineNo}`}>
                    {st("waves.shortLine", { order: l.order, line: l.lineNo, item: l.item, missing: l.missing, quantity: l.quantity })}
                  </li>
                ))}
              </ul>
            </>
          )}

          <h3 class="sup-h3">{st("waves.pickersTitle")}</h3>
          {w.pickerList.length === 0 ? (
            <p class="muted">{st("waves.noPickers")}</p>
          ) : (
            <table class="sup-table" data-testid="wave-pickers">
              <thead>
                <tr>
                  <th>{st("pickers.user")}</th>
                  <th>{st("waves.scans")}</th>
                  <th>{st("waves.units")}</th>
                  <th>{st("waves.firstLast")}</th>
                </tr>
              </thead>
              <tbody>
                {w.pickerList.map((p) => (
                  <tr key={p.username} data-testid="wave-picker">
                    <td>{p.username}</td>
                    <td>{p.scans}</td>
                    <td>{p.units}</td>
                    <td>
                      {when(p.firstPickAt)} – {when(p.lastPickAt)}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}

          {w.status === "released" && (
            <section class="sup-danger" data-testid="wave-danger">
              <h3 class="sup-h4">{st("waves.dangerTitle")}</h3>
              {cancel ? (
                <CancelForm
                  waveId={waveId}
                  target={cancel}
                  onDone={(text) => {
                    setCancel(null);
                    changed(text);
                  }}
                  onBack={() => setCancel(null)}
                />
              ) : (
                <CancelChooser wave={w} onChoose={setCancel} />
              )}
            </section>
          )}
        </>
      )}
    </article>
  );
}

function PriorityForm({ wave, onSet }: { wave: WaveDetail; onSet: (p: number) => void }) {
  const [problem, setProblem] = useState<Problem | null>(null);
  const set = async (p: number) => {
    setProblem(null);
    const done = await attempt(() => post<Schemas["WavePriority"]>(`/api/v1/waves/${wave.waveId}/priority`, { priority: p }), setProblem);
    if (done) onSet(done.priority);
  };
  return (
    <div class="sup-stack">
      <label class="sup-inline">
        {st("waves.priority")}
        <select data-testid="wave-priority" value={String(wave.priority)} onChange={(e) => void set(Number((e.target as HTMLSelectElement).value))}>
          {[1, 2, 3, 4, 5, 6, 7, 8, 9].map((n) => (
            <option key={n} value={String(n)}>
              {n === 1 ? st("waves.priorityFirst", { n }) : String(n)}
            </option>
          ))}
        </select>
      </label>
      <ProblemBox problem={problem} testId="wave-priority-problem" />
    </div>
  );
}

function CancelChooser({ wave, onChoose }: { wave: WaveDetail; onChoose: (t: Target) => void }) {
  const [order, setOrder] = useState(wave.orderLines[0]?.order ?? "");
  const [line, setLine] = useState("");
  return (
    <div class="sup-stack">
      <button type="button" class="btn danger" data-testid="wave-cancel" onClick={() => onChoose({ kind: "wave" })}>
        {st("waves.cancelWave")}
      </button>
      <div class="sup-toolbar">
        <label class="sup-inline">
          {st("waves.order")}
          <select data-testid="cancel-order-choice" value={order} onChange={(e) => setOrder((e.target as HTMLSelectElement).value)}>
            {wave.orderLines.map((o) => (
              <option key={o.order} value={o.order}>
                {o.order}
              </option>
            ))}
          </select>
        </label>
        <button type="button" class="btn danger" data-testid="order-cancel" disabled={!order} onClick={() => onChoose({ kind: "order", order })}>
          {st("waves.cancelOrder")}
        </button>
      </div>
      <div class="sup-toolbar">
        <label class="sup-inline">
          {st("waves.lineNo")}
          <input type="number" min={1} inputMode="numeric" data-testid="cancel-line-choice" value={line} onInput={(e) => setLine((e.target as HTMLInputElement).value)} />
        </label>
        <button
          type="button"
          class="btn danger"
          data-testid="line-cancel"
          disabled={!order || !(Number(line) >= 1)}
          onClick={() => onChoose({ kind: "line", order, lineNo: Number(line) })}
        >
          {st("waves.cancelLine")}
        </button>
      </div>
    </div>
  );
}

function targetName(waveId: number, target: Target): string {
  if (target.kind === "wave") return st("waves.wave", { wave: waveId });
  if (target.kind === "order") return st("waves.orderN", { order: target.order });
  return st("waves.lineN", { order: target.order, line: target.lineNo });
}

function CancelForm({ waveId, target, onDone, onBack }: { waveId: number; target: Target; onDone: (text: string) => void; onBack: () => void }) {
  const [reason, setReason] = useState("");
  const [confirming, setConfirming] = useState(false);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [busy, setBusy] = useState(false);
  const name = targetName(waveId, target);
  const path =
    target.kind === "wave"
      ? `/api/v1/waves/${waveId}/cancel`
      : target.kind === "order"
        ? `/api/v1/orders/${encodeURIComponent(target.order)}/cancel`
        : `/api/v1/orders/${encodeURIComponent(target.order)}/lines/${target.lineNo}/cancel`;
  const submit = async (e: Event) => {
    e.preventDefault();
    if (!confirming) {
      setConfirming(true);
      return;
    }
    setBusy(true);
    setProblem(null);
    const done = await attempt(() => post<Schemas["Cancelled"]>(path, { reason: reason.trim() } satisfies Schemas["waves_CancelIn"]), (p) => {
      feedback("refused");
      setConfirming(false);
      setProblem(p);
    });
    setBusy(false);
    if (done) {
      feedback("ok");
      onDone(st("waves.cancelledDone", { target: name, tasks: done.tasks, released: done.released, putBack: done.putBack }));
    }
  };
  return (
    <form class="form sup-stack" data-testid="cancel-form" data-target={target.kind} onSubmit={(e) => void submit(e)}>
      <p class="sup-h4">{st("waves.cancelTitle", { target: name })}</p>
      <label>
        {t("field.reason")}
        <input
          data-testid="cancel-reason"
          autocomplete="off"
          required
          maxLength={500}
          value={reason}
          disabled={confirming}
          onInput={(e) => setReason((e.target as HTMLInputElement).value)}
        />
      </label>
      {confirming && (
        <p class="warn" role="alert" data-testid="cancel-confirm-text">
          {st("waves.cancelConfirm", { target: name })}
        </p>
      )}
      <ProblemBox problem={problem} title={st("waves.cancelRefused")} testId="cancel-problem" />
      <div class="row">
        <button type="button" class="btn" data-testid="cancel-back" onClick={confirming ? () => setConfirming(false) : onBack}>
          {confirming ? t("common.back") : t("common.cancel")}
        </button>
        <button type="submit" class="btn danger" data-testid={confirming ? "cancel-confirm" : "cancel-next"} disabled={busy || !reason.trim()}>
          {confirming ? st("waves.cancelYes", { target: name }) : st("waves.cancelNext")}
        </button>
      </div>
    </form>
  );
}
