// Picking: the next task in pick-path order shows where to go, what to take (item, lot, quantity)
// and progress. Scan the location, then each unit. Item scans carry a client scan id and go through
// the offline queue: with no Wi-Fi between the racks they are saved and replayed in order later.
// A scan refused for FEFO may be overridden by a supervisor who signs on this device (user name +
// password, the signature's meaning shown). That needs the server: a signature is never queued.
// Quantity (issue 21): every scan is sent and judged at once (a refusal, its sound and the FEFO override
// come at the scan, never after a typed quantity). Once a scan is accepted and more of the task is left,
// the quantity step offers the rest of the same lot: the remainder proposed in whole packs of the scanned
// pack, confirmed as one more scan of the same code with that quantity (judged by the server again), or
// "Done" to go on scanning. Scans while the step is open are not sent, so a double trigger picks nothing
// twice. The last pick (which may be the quantity's) can be undone for a few seconds (the server books a
// reversal). A short pick asks what was found and is confirmed before it is sent.
import { useEffect, useRef, useState } from "preact/hooks";
import { get, isOnline, OfflineError, post, ProblemError, uuid, type Problem, type Schemas } from "../api";
import { feedback } from "../feedback";
import { sayProblem, t, useLang } from "../i18n";
import type { Key } from "../messages";
import { onReplayed, submitScan, sync, waiting } from "../queue";
import { ScanField } from "../scanner";
import { session } from "../session";
import { useStore } from "../store";
import { Dock, Modal, Progress, refuse, Screen, SignMeaning, Toast } from "../ui";

export type PickTask = Schemas["PickingTask"];
type Accepted = Schemas["PickAccepted"];

const TASKS = "/api/v1/picking/tasks";

type Mode = "location" | "item" | "tote";

/** Stops the picker put off on this handheld: a skipped task comes back after the stop it was skipped for
 * (`skipped[taskId]` = the last task of that stop), a deferred one at the end of the list. Kept across a
 * reload; the server's order is untouched, so another picker still sees the task where it was. */
interface Later {
  skipped: Record<number, number>;
  deferred: number[];
}
const K_LATER = "udipick.pickLater";

function loadLater(): Later {
  try {
    const v = JSON.parse(localStorage.getItem(K_LATER) ?? "") as Later;
    if (v && typeof v.skipped === "object" && Array.isArray(v.deferred)) return v;
  } catch {
    // nothing kept yet
  }
  return { skipped: {}, deferred: [] };
}

/** The open tasks in the order to pick them: the server's, with deferred tasks last and each skipped task
 * right after the task it was skipped for (while that one is open). */
export function pickOrder(open: PickTask[], later: Later): PickTask[] {
  const deferred = later.deferred.map((id) => open.find((x) => x.taskId === id)).filter((x): x is PickTask => !!x);
  const list = [...open.filter((x) => !deferred.includes(x)), ...deferred];
  for (const [id, after] of Object.entries(later.skipped)) {
    const i = list.findIndex((x) => x.taskId === Number(id));
    const j = list.findIndex((x) => x.taskId === after);
    if (i < 0 || j < i) continue;
    const [task] = list.splice(i, 1);
    list.splice(j, 0, task);
  }
  return list;
}

/** Distinct locations (stops) among the tasks of one wave. */
function stops(tasks: PickTask[], waveId: number): number {
  return new Set(tasks.filter((x) => x.waveId === waveId).map((x) => x.location.code)).size;
}

/** A scan refused for FEFO, kept so a supervisor can approve it as it was taken. */
interface FefoRefused {
  taskId: number;
  raw: string;
  locationRaw: string;
  quantity?: number;
  problem: Problem;
}

/** An accepted scan whose code the picker may take more of now, as one more scan with a quantity. */
interface QtyAsk {
  taskId: number;
  raw: string;
  locationRaw: string;
  /** base units per scanned code (a pack's scan: its contents) */
  per: number;
  /** at most this many base units (what is left after the scan, in whole packs) */
  max: number;
  value: number;
  /** the task's units taken so far (this scan included) of its `total` */
  taken: number;
  total: number;
  lot: string | null;
}

/** The last accepted pick, which the picker may take back until `until`. */
interface LastPick {
  taskId: number;
  scanId: string;
  units: number;
  until: number;
}

type Pack = Schemas["TaskPack"];

/** "= 2 boxes of 10" (+ "+ 5 single"): `units` in the biggest pack that fits; "" when none does. */
export function packsText(units: number, packs: Pack[]): string {
  const pack = packs.find((p) => p.quantity <= units);
  if (!pack) return "";
  const n = Math.floor(units / pack.quantity);
  const rest = units % pack.quantity;
  const level = t(`pack.${pack.level}.${n === 1 ? "one" : "many"}` as Key);
  return t("pick.packs", { n, level, per: pack.quantity }) + (rest ? t("pick.packsRest", { rest }) : "");
}

/** The task's pack whose GTIN the scanned code carries (AI 01, or a Digital Link's /01/), if any. */
function scannedPack(raw: string, packs: Pack[]): Pack | undefined {
  const code = raw.replace(/^\][A-Za-z]\d/, "");
  return packs.find((p) => code.startsWith("01" + p.gtin) || code.includes("/01/" + p.gtin));
}

export function Picking() {
  useLang();
  const s = useStore(sync);
  const [tasks, setTasks] = useState<PickTask[] | null>(null);
  const [mode, setMode] = useState<Mode>("location");
  const [at, setAt] = useState<{ taskId: number; raw: string } | null>(null);
  const [toast, setToast] = useState<{ text: string; kind: "ok" | "queued" | "info" } | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const offlinePicked = useRef<Record<number, number>>({});
  const [fefo, setFefo] = useState<FefoRefused | null>(null);
  const [overriding, setOverriding] = useState(false);
  const [qty, setQty] = useState<QtyAsk | null>(null);
  const [last, setLast] = useState<LastPick | null>(null);
  const [shorting, setShorting] = useState(false);
  const [undoing, setUndoing] = useState(false);

  // the undo offer ends with the server's window
  useEffect(() => {
    if (!last) return;
    const timer = setTimeout(() => setLast(null), Math.max(0, last.until - Date.now()));
    return () => clearTimeout(timer);
  }, [last]);
  const [later, setLater] = useState<Later>(loadLater);
  const [wave, setWave] = useState<Schemas["WaveProgress"] | null>(null);

  const load = async () => {
    try {
      const list = await get<PickTask[]>(TASKS);
      // scans still in the offline queue count as taken (after a reload with no Wi-Fi, too)
      const pending: Record<number, number> = {};
      for (const q of await waiting()) {
        const m = q.path.match(/\/picking\/tasks\/(\d+)\/(scans|short)$/);
        if (!m) continue;
        const id = Number(m[1]);
        const task = list.find((x) => x.taskId === id);
        const body = q.body as Schemas["PickScanIn"];
        const units = m[2] === "scans" ? (body.quantity ?? scannedPack(body.raw, task?.packs ?? [])?.quantity ?? 1) : 0;
        pending[id] = m[2] === "short" ? (task?.remaining ?? 0) : (pending[id] ?? 0) + units;
      }
      offlinePicked.current = pending;
      setTasks(list);
      setLoadError(null);
    } catch (err) {
      if (err instanceof OfflineError) setLoadError(t("lookup.offline"));
      else if (err instanceof ProblemError) refuse(err.problem);
      else throw err;
    }
  };

  useEffect(() => {
    void load();
    // a replayed scan changes the server's picture: refresh once the queue is empty
    return onReplayed((_q, accepted) => {
      // a queued scan refused on replay: the unit goes back, so no offer to take more of it stays open
      if (!accepted) setQty(null);
      if (sync.get().waiting === 0) void load();
    });
  }, []);

  const open = pickOrder(
    (tasks ?? []).filter((x) => x.remaining - (offlinePicked.current[x.taskId] ?? 0) > 0),
    later,
  );
  const task = open[0];

  // the wave's progress is read when the task in hand changes, never on a pick scan
  useEffect(() => {
    if (!task) return;
    get<Schemas["WaveProgress"]>(`/api/v1/picking/waves/${task.waveId}/progress`).then(setWave, () => setWave(null));
  }, [task?.taskId]);

  const keepLater = (next: Later) => {
    localStorage.setItem(K_LATER, JSON.stringify(next));
    setLater(next);
  };

  /** Put off the stop in hand (every task at its location): until after the next stop, or to the end. */
  const putOff = (how: "skip" | "defer") => {
    if (!task) return;
    const here = open.filter((x) => x.location.code === task.location.code);
    const rest = open.filter((x) => x.location.code !== task.location.code);
    if (!rest.length) {
      setToast({ text: t("pick.lastStop"), kind: "info" });
      return;
    }
    const ids = here.map((x) => x.taskId);
    // a stop put off again forgets its earlier place; a stop waiting for this one waits no more
    const skipped = Object.fromEntries(
      Object.entries(later.skipped).filter(([id, after]) => !ids.includes(Number(id)) && !ids.includes(after)),
    );
    const deferred = later.deferred.filter((id) => !ids.includes(id));
    if (how === "skip") {
      const next = rest[0].location.code;
      let last = rest[0];
      for (const x of rest) {
        if (x.location.code !== next) break;
        last = x;
      }
      for (const id of ids.slice().reverse()) skipped[id] = last.taskId;
      keepLater({ skipped, deferred });
    } else keepLater({ skipped, deferred: [...deferred, ...ids] });
    setAt(null);
    setMode("location");
    feedback("ok");
    setToast({ text: t(how === "skip" ? "pick.skipped" : "pick.deferred", { location: task.location.code }), kind: "info" });
  };
  const localPicked = task ? offlinePicked.current[task.taskId] ?? 0 : 0;
  const atLocation = task && at?.taskId === task.taskId;
  const step: Mode = !task ? "location" : mode === "tote" ? "tote" : atLocation ? "item" : "location";
  // the site wants a tote for the order before its first unit (the server refuses the pick otherwise)
  const needsTote = !!task && task.toteRequired === true && !task.tote && task.picked + localPicked === 0;
  /** A tote label is known by its prefix wherever it is scanned, whatever step the screen is at. */
  const isTote = (raw: string) => !!task?.totePrefix && raw.trim().startsWith(task.totePrefix);

  const onLocation = async (raw: string) => {
    if (!task) return;
    const trimmed = raw.trim();
    if (isOnline()) {
      try {
        await post<Schemas["LocationChecked"]>(`${TASKS}/${task.taskId}/location`, { raw } satisfies Schemas["LocationScanIn"]);
      } catch (err) {
        if (err instanceof ProblemError) return refuse(err.problem);
        if (!(err instanceof OfflineError)) throw err;
        if (!checkLocally(trimmed)) return;
      }
    } else if (!checkLocally(trimmed)) return;
    feedback("ok");
    setAt({ taskId: task.taskId, raw });
    setToast({ text: t("pick.locationOk", { location: task.location.code }), kind: "ok" });
  };

  // offline: the task list carries the location's barcode, so the check needs no server
  const checkLocally = (raw: string): boolean => {
    if (!task) return false;
    if (raw === task.location.barcode) return true;
    const problem: Problem = {
      status: 422,
      code: "wrong-location",
      expectedLocation: task.location.code,
      scannedLocation: raw,
      detail: `You are at ${raw}; this task is at ${task.location.code}. Go to ${task.location.code}`,
    };
    refuse(problem);
    return false;
  };

  const onItem = async (raw: string) => {
    if (!task || !at) return;
    if (needsTote) {
      // judged here too, so that offline the unit never goes into a cart without its order's tote
      return refuse({ status: 409, code: "tote-required", order: task.order, taskId: task.taskId, detail: t("pick.toteFirst", { order: task.order }) });
    }
    // judged at once: the scanned unit, or the scanned pack's contents
    return send(raw, at.raw);
  };

  /** After an accepted (or queued) scan: offer the rest of the task in whole packs of what was scanned.
   * A serialised unit is scanned unit by unit; with less than one more pack left there is nothing to ask. */
  const askMore = (x: PickTask, raw: string, locationRaw: string, per: number, left: number, taken: number, lot: string | null) => {
    const max = Math.floor(left / per) * per;
    if (x.serial || per < 1 || max < per) return;
    setQty({ taskId: x.taskId, raw, locationRaw, per, max, value: max, taken, total: x.quantity, lot });
  };

  /** One scan sent to be judged; `quantity` only for the quantity step's scan (which asks nothing more). */
  const send = async (raw: string, locationRaw: string, quantity?: number) => {
    if (!task) return;
    const more = quantity === undefined;
    const clientScanId = uuid();
    const verdict = await submitScan<Accepted>({
      clientScanId,
      method: "POST",
      path: `${TASKS}/${task.taskId}/scans`,
      body: { clientScanId, raw, locationRaw, quantity } satisfies Schemas["PickScanIn"],
      label: `${task.location.code} · ${task.item.erpId} · ${task.order}${quantity ? ` · ${quantity}` : ""}`,
      takenAt: new Date().toISOString(),
      username: session.get().user?.username ?? "",
    });
    if (verdict.kind === "refused") {
      if (verdict.problem.code !== "fefo-violation") return refuse(verdict.problem);
      setFefo({ taskId: task.taskId, raw, locationRaw, quantity, problem: verdict.problem });
      return refuse(verdict.problem, { label: t("pick.override"), testId: "refusal-override", run: () => setOverriding(true) });
    }
    if (verdict.kind === "queued") {
      // offline the pack is known from the task's pack GTINs; the server judges the scan when it is replayed
      const per = scannedPack(raw, task.packs ?? [])?.quantity ?? 1;
      const now = localPicked + (quantity ?? per);
      feedback("queued");
      offlinePicked.current = { ...offlinePicked.current, [task.taskId]: now };
      setToast({ text: t("pick.queued"), kind: "queued" });
      setTasks((xs) => (xs ? [...xs] : xs));
      if (more) askMore(task, raw, locationRaw, per, task.remaining - now, task.picked + now, task.lot ?? null);
      return;
    }
    const a = verdict.body;
    feedback("ok");
    setToast({ text: t("pick.ok", { quantity: a.units, item: task.item.erpId }), kind: "ok" });
    picked(a, clientScanId);
    // the server said what one scan of this code is (a.units): the rest is offered in those steps
    if (more) askMore(task, raw, locationRaw, a.units, a.remaining - localPicked, a.picked + localPicked, a.lot);
  };

  /** An accepted pick: the task's numbers, and the offer to take it back while the server allows. */
  const picked = (a: Accepted, scanId: string) => {
    setTasks((xs) => (xs ?? []).map((x) => (x.taskId === a.taskId ? { ...x, picked: a.picked, remaining: a.remaining } : x)));
    const seconds = a.undoSeconds ?? 0;
    setLast(seconds > 0 ? { taskId: a.taskId, scanId, units: a.units, until: Date.now() + seconds * 1000 } : null);
  };

  const confirmQty = () => {
    if (!qty) return;
    const value = qty.value;
    setQty(null);
    setLast(null); // until the server answers, no undo offer that would take back the scan before it
    // one more scan of the same code, judged by the server again (FEFO, holds, expiry, stock, over-pick)
    void send(qty.raw, qty.locationRaw, value);
  };

  const undo = async () => {
    if (!last || undoing) return;
    if (!isOnline()) return setToast({ text: t("pick.undoOffline"), kind: "info" });
    setUndoing(true);
    try {
      const r = await post<Schemas["PickUndone"]>(`${TASKS}/${last.taskId}/undo`, {
        clientScanId: uuid(),
        scanId: last.scanId,
      } satisfies Schemas["UndoIn"]);
      feedback("ok");
      setLast(null);
      setToast({ text: t("pick.undone", { quantity: r.units, location: r.location }), kind: "ok" });
      setTasks((xs) => (xs ?? []).map((x) => (x.taskId === r.taskId ? { ...x, picked: r.picked, remaining: r.remaining } : x)));
    } catch (err) {
      setLast(null);
      if (err instanceof ProblemError) refuse(err.problem);
      else if (err instanceof OfflineError) setToast({ text: t("pick.undoOffline"), kind: "info" });
      else throw err;
    } finally {
      setUndoing(false);
    }
  };

  const onTote = async (raw: string) => {
    if (!task) return;
    try {
      const r = await post<Schemas["ToteAssigned"]>(`/api/v1/waves/${task.waveId}/totes`, { order: task.order, raw } satisfies Schemas["ToteIn"]);
      feedback("ok");
      setTasks((xs) => (xs ?? []).map((x) => (x.order === task.order && x.waveId === task.waveId ? { ...x, tote: r.tote } : x)));
      setMode("location");
      setToast({ text: t("pick.toteOk", { tote: r.tote, order: task.order }), kind: "ok" });
    } catch (err) {
      if (err instanceof ProblemError) refuse(err.problem);
      else if (err instanceof OfflineError) {
        // a tote is given to an order by the server: offline the scan cannot count, and says so loudly
        feedback("refused");
        setToast({ text: t("pick.toteOffline"), kind: "info" });
      } else throw err;
    }
  };

  const short = async (found: number) => {
    if (!task) return;
    setShorting(false);
    setLast(null);
    const clientScanId = uuid();
    const verdict = await submitScan<Schemas["ShortReported"]>({
      clientScanId,
      method: "POST",
      path: `${TASKS}/${task.taskId}/short`,
      body: { clientScanId, found } satisfies Schemas["ShortIn"],
      label: `${t("pick.short")} · ${task.location.code} · ${task.item.erpId}`,
      takenAt: new Date().toISOString(),
      username: session.get().user?.username ?? "",
    });
    if (verdict.kind === "refused") return refuse(verdict.problem);
    feedback(verdict.kind === "queued" ? "queued" : "ok");
    setToast({ text: verdict.kind === "queued" ? t("pick.queued") : t("pick.shortDone"), kind: verdict.kind === "queued" ? "queued" : "ok" });
    if (verdict.kind === "accepted") void load();
    else offlinePicked.current = { ...offlinePicked.current, [task.taskId]: task.remaining };
  };

  // returns the scan's promise: the scan field hands over the next scan only once this one is judged
  const onScan = (raw: string): Promise<void> | void => {
    // a scan while a quantity or a short pick waits for the picker (a double trigger): nothing is sent
    if (qty || shorting) return setToast({ text: t(qty ? "pick.qtyFirst" : "pick.shortFirst"), kind: "info" });
    setToast(null);
    setFefo(null); // a new scan: the refused one is put back, nothing is left to override
    if (step === "tote" || isTote(raw)) return onTote(raw);
    if (step === "location") return onLocation(raw);
    return onItem(raw);
  };

  const overridden = (a: Accepted, supervisor: string, scanId: string) => {
    const done = (tasks ?? []).find((x) => x.taskId === a.taskId);
    feedback("ok");
    setFefo(null);
    setOverriding(false);
    setToast({ text: t("pick.overrideDone", { supervisor, quantity: a.units, item: done?.item.erpId ?? "" }), kind: "ok" });
    picked(a, scanId);
  };
  const packs = task ? packsText(task.remaining - localPicked, task.packs ?? []) : "";

  const pending = fefo && task && fefo.taskId === task.taskId ? fefo : null;
  const total = tasks?.length ?? 0;
  const index = task ? total - open.length + 1 : total;
  return (
    <Screen title={t("pick.title")} testId="picking">
      {loadError && <p class="warn">{loadError}</p>}
      {tasks === null && !loadError && <p class="muted">{t("common.loading")}</p>}
      {tasks !== null && !task && s.waiting === 0 && (
        <p class="toast ok" data-testid="pick-done">
          {t("pick.allDone")}
        </p>
      )}
      {task && (
        <section class="card task" data-testid="pick-task" data-task-id={task.taskId}>
          <span class="step">{t("pick.task", { n: index, total })}</span>
          <p class="where" data-testid="pick-location">
            {task.location.code}
          </p>
          <p class="what" data-testid="pick-item">
            {task.item.erpId} — {task.item.name}
          </p>
          <dl class="facts">
            <dt>{t("field.lot")}</dt>
            <dd class="lot" data-testid="pick-lot">
              {task.lot ?? "—"}
            </dd>
            {task.expiry && (
              <>
                <dt>{t("field.expiry")}</dt>
                <dd>{task.expiry}</dd>
              </>
            )}
            <dt>{t("pick.take")}</dt>
            <dd class="qty" data-testid="pick-remaining">
              {task.remaining - localPicked}
            </dd>
            {packs && (
              <dd class="packs" data-testid="pick-packs">
                {packs}
              </dd>
            )}
            <dt>{t("pick.order")}</dt>
            <dd>{task.order}</dd>
            <dt>{t("pick.tote")}</dt>
            <dd data-testid="pick-tote">{task.tote ?? "—"}</dd>
          </dl>
          <Progress done={task.picked + localPicked} total={task.quantity} />
          {needsTote && step !== "tote" && (
            <p class="warn" data-testid="pick-tote-needed">
              {t("pick.toteFirst", { order: task.order })}
            </p>
          )}
        </section>
      )}
      {pending && overriding && (
        <OverrideForm
          refused={pending}
          onAccepted={overridden}
          onRefused={(problem) => {
            setOverriding(false);
            refuse(problem);
          }}
          onCancel={() => setOverriding(false)}
        />
      )}
      {pending && !overriding && (
        <section class="card pending" data-testid="override-pending">
          <p class="exception-headline">{sayProblem(pending.problem).headline}</p>
          <button type="button" class="btn" data-testid="override-open" onClick={() => setOverriding(true)}>
            {t("pick.override")}
          </button>
        </section>
      )}
      {task && shorting && (
        <ShortStep task={task} left={task.remaining - localPicked} onConfirm={(found) => void short(found)} onCancel={() => setShorting(false)} />
      )}
      {task && !(pending && overriding) && (
        <ScanField
          label={step === "tote" ? t("pick.scanTote") : step === "location" ? t("pick.scanLocation") : t("pick.scanItem")}
          onScan={onScan}
          testId="scan-input"
        />
      )}
      <Dock>
      <Toast text={toast?.text ?? null} kind={toast?.kind ?? "info"} />
      {/* right after the accepted scan, in the dock: on screen whatever the scan field scrolled */}
      {task && qty && qty.taskId === task.taskId && (
        <QuantityStep ask={qty} packs={task.packs ?? []} onChange={(value) => setQty({ ...qty, value })} onConfirm={confirmQty} onCancel={() => setQty(null)} />
      )}
      {last && !qty && (
        <button type="button" class="btn undo" data-testid="pick-undo" disabled={undoing} onClick={() => void undo()}>
          {t("pick.undo", { quantity: last.units })}
        </button>
      )}
      {task && !qty && !shorting && (
        <div class="row">
          <button
            type="button"
            class="btn"
            data-testid="pick-tote-button"
            aria-pressed={mode === "tote"}
            onClick={() => setMode(mode === "tote" ? "location" : "tote")}
          >
            {t("pick.tote")}
          </button>
          {/* a short pick changes the order, blocks the shelf and starts a count: apart from Tote (the row's gap
              rule), red, and it only opens a form that asks what was found */}
          <button type="button" class="btn danger" data-testid="pick-short" disabled={!atLocation} onClick={() => setShorting(true)}>
            {t("pick.short")}
          </button>
        </div>
      )}
      </Dock>
      {/* below the dock: reached by scrolling, so the task, the scan field and the dock fit a 640 px screen */}
      {task && !qty && !shorting && (
        <div class="row">
          <button type="button" class="btn" data-testid="pick-skip" onClick={() => putOff("skip")}>
            {t("pick.skip")}
          </button>
          <button type="button" class="btn" data-testid="pick-defer" onClick={() => putOff("defer")}>
            {t("pick.defer")}
          </button>
        </div>
      )}
      {task && (
        <section class="card" data-testid="pick-wave">
          <p>
            <span data-testid="pick-stops-left">{t("pick.stopsLeft", { n: stops(open, task.waveId) })}</span> ·{" "}
            {t("pick.wave", { wave: task.waveId })}
          </p>
          {wave && wave.waveId === task.waveId && (
            <Progress
              done={wave.unitsPicked}
              total={wave.units}
              label={t("pick.waveUnits", { picked: wave.unitsPicked, total: wave.units })}
              testId="pick-wave-progress"
            />
          )}
        </section>
      )}
    </Screen>
  );
}

/** Refusals of the override the supervisor answers in the form (sign again); any other is shown full screen. */
const IN_FORM = new Set(["signature-rejected", "invalid-request", "permission-denied"]);

/** The supervisor signs here, on the picker's device. Online only: a signature is never queued. */
function OverrideForm({ refused, onAccepted, onRefused, onCancel }: {
  refused: FefoRefused;
  onAccepted: (a: Accepted, supervisor: string, scanId: string) => void;
  onRefused: (p: Problem) => void;
  onCancel: () => void;
}) {
  const s = useStore(sync);
  const [reason, setReason] = useState("");
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<{ headline: string; detail: string | null } | null>(null);
  const [busy, setBusy] = useState(false);
  // The refused scan's id already has its answer (the refusal, kept forever), so the override is a
  // scan of its own with a fresh id. The id is kept while the outcome is unknown (connection lost):
  // sent again, the server answers what it answered the first time and never picks twice. After an
  // answer the next attempt gets a new id (a rejected signature stores nothing, a refusal is final).
  const scanId = useRef(uuid());
  const p = refused.problem;

  const submit = async (e: Event) => {
    e.preventDefault();
    if (reason.trim().length < 3) return;
    if (!isOnline()) return setError({ headline: t("pick.overrideOffline"), detail: null });
    setBusy(true);
    setError(null);
    try {
      const a = await post<Accepted>(`${TASKS}/${refused.taskId}/override`, {
        clientScanId: scanId.current,
        raw: refused.raw,
        locationRaw: refused.locationRaw,
        quantity: refused.quantity,
        reason: reason.trim(),
        supervisor: { username: username.trim(), password },
      } satisfies Schemas["OverrideIn"]);
      onAccepted(a, username.trim(), scanId.current);
    } catch (err) {
      if (err instanceof OfflineError) return setError({ headline: t("pick.overrideOffline"), detail: null });
      if (!(err instanceof ProblemError)) throw err;
      const problem = err.problem;
      if (problem.status >= 500) return setError({ headline: sayProblem(problem).headline, detail: sayProblem(problem).todo });
      scanId.current = uuid();
      setPassword("");
      if (problem.code && IN_FORM.has(problem.code)) {
        feedback("refused");
        // the refusal in the user's language; the server's English `detail` is for API clients
        setError({ headline: sayProblem(problem).headline, detail: sayProblem(problem).todo });
      } else onRefused(problem);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Modal label={t("pick.overrideTitle")} onCancel={onCancel}>
    <form class="answer" data-testid="override-form" onSubmit={(e) => void submit(e)}>
      <h2>{t("pick.overrideTitle")}</h2>
      {!s.online && (
        <p class="warn" data-testid="override-offline">
          {t("pick.overrideOffline")}
        </p>
      )}
      <dl class="facts">
        <dt>{t("pick.overrideScanned")}</dt>
        <dd data-testid="override-scanned">
          {String(p.scannedLot ?? "—")}
          {p.scannedExpiry ? ` · ${String(p.scannedExpiry)}` : ""}
        </dd>
        <dt>{t("pick.overrideFirst")}</dt>
        <dd data-testid="override-first">
          {String(p.takeLot ?? "—")}
          {p.takeExpiry ? ` · ${String(p.takeExpiry)}` : ""}
          {p.takeLocation ? ` · ${String(p.takeLocation)}` : ""}
        </dd>
      </dl>
      <label>
        {t("pick.overrideReason")}
        <input
          name="reason"
          data-testid="override-reason"
          autocomplete="off"
          minLength={3}
          maxLength={500}
          required
          value={reason}
          onInput={(e) => setReason((e.target as HTMLInputElement).value)}
        />
      </label>
      <SignMeaning meaning={t("sign.meaningFefo")} />
      <label>
        {t("pick.overrideUser")}
        <input
          name="supervisor"
          data-testid="override-user"
          autocomplete="off"
          autocapitalize="off"
          spellcheck={false}
          maxLength={64}
          required
          value={username}
          onInput={(e) => setUsername((e.target as HTMLInputElement).value)}
        />
      </label>
      <label>
        {t("pick.overridePassword")}
        <input
          name="supervisor-password"
          type="password"
          data-testid="override-password"
          autocomplete="off"
          maxLength={256}
          required
          value={password}
          onInput={(e) => setPassword((e.target as HTMLInputElement).value)}
        />
      </label>
      {error && (
        <div class="error" role="alert" data-testid="override-error">
          {error.headline}
          {error.detail && <p class="error-detail">{error.detail}</p>}
        </div>
      )}
      <div class="row">
        <button type="button" class="btn" data-testid="override-cancel" onClick={onCancel}>
          {t("common.cancel")}
        </button>
        <button type="submit" class="btn primary" data-testid="override-submit" disabled={busy || reason.trim().length < 3}>
          {t("pick.overrideSubmit")}
        </button>
      </div>
    </form>
    </Modal>
  );
}

/** "Taken 1 of 30 — take more of lot X now?": the rest of the task proposed, in steps of the scanned pack. */
function QuantityStep({ ask, packs, onChange, onConfirm, onCancel }: {
  ask: QtyAsk;
  packs: Pack[];
  onChange: (value: number) => void;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  // what is typed is kept as typed ("1" on the way to "15"); only a whole number of packs up to the
  // remainder can be confirmed
  const [typed, setTyped] = useState(String(ask.value));
  const n = typed.trim() === "" ? NaN : Number(typed);
  const ok = Number.isInteger(n) && n >= ask.per && n <= ask.max && n % ask.per === 0;
  const step = (value: number) => {
    setTyped(String(value));
    onChange(value);
  };
  const text = ok ? packsText(n, packs) : "";
  const title = ask.lot
    ? t("pick.moreTitle", { taken: ask.taken, total: ask.total, lot: ask.lot })
    : t("pick.moreTitleNoLot", { taken: ask.taken, total: ask.total });
  return (
    <section class="card answer qty-step" data-testid="pick-qty">
      <h2 data-testid="pick-qty-title">{title}</h2>
      {ask.per > 1 && <p data-testid="pick-qty-pack">{t("pick.qtyPack", { per: ask.per })}</p>}
      <div class="row stepper">
        <button type="button" class="btn" data-testid="pick-qty-minus" aria-label={t("pick.qtyLess")} disabled={!ok || n <= ask.per} onClick={() => step(n - ask.per)}>
          −
        </button>
        <input
          type="number"
          inputMode="numeric"
          class="qty-input"
          data-testid="pick-qty-input"
          aria-label={t("pick.moreLabel")}
          min={ask.per}
          max={ask.max}
          step={ask.per}
          value={typed}
          onInput={(e) => {
            const v = (e.target as HTMLInputElement).value;
            setTyped(v);
            const m = Number(v);
            if (Number.isInteger(m) && m >= ask.per && m <= ask.max && m % ask.per === 0) onChange(m);
          }}
        />
        <button type="button" class="btn" data-testid="pick-qty-plus" aria-label={t("pick.qtyMore")} disabled={!ok || n >= ask.max} onClick={() => step(n + ask.per)}>
          +
        </button>
      </div>
      <p class="muted" data-testid="pick-qty-max">
        {t("pick.qtyMax", { max: ask.max })}
        {text ? ` · ${n} ${text}` : ""}
      </p>
      <div class="row">
        <button type="button" class="btn" data-testid="pick-qty-done" onClick={onCancel}>
          {t("pick.moreDone")}
        </button>
        <button type="button" class="btn primary" data-testid="pick-qty-confirm" disabled={!ok} onClick={onConfirm}>
          {t("pick.qtyConfirm", { quantity: ok ? n : "—" })}
        </button>
      </div>
    </section>
  );
}

/** A short pick: what was found at the location is asked, the consequence said, and only then sent. */
function ShortStep({ task, left, onConfirm, onCancel }: {
  task: PickTask;
  left: number;
  onConfirm: (found: number) => void;
  onCancel: () => void;
}) {
  const [found, setFound] = useState("");
  const n = found.trim() === "" ? NaN : Number(found);
  const ok = Number.isInteger(n) && n >= 0 && n <= left;
  return (
    <section class="card answer" data-testid="short-form">
      <h2>{t("pick.shortTitle", { location: task.location.code })}</h2>
      <label>
        {t("pick.shortAsk", { item: task.item.erpId, location: task.location.code })}
        <input
          type="number"
          inputMode="numeric"
          data-testid="short-found"
          min={0}
          max={left}
          value={found}
          onInput={(e) => setFound((e.target as HTMLInputElement).value)}
        />
      </label>
      <p class="muted">{t("pick.shortHint", { max: left })}</p>
      {ok && (
        <p class="warn" data-testid="short-summary">
          {t("pick.shortSummary", { found: n, missing: left, location: task.location.code })}
        </p>
      )}
      <div class="row">
        <button type="button" class="btn" data-testid="short-cancel" onClick={onCancel}>
          {t("common.cancel")}
        </button>
        <button type="button" class="btn danger" data-testid="short-confirm" disabled={!ok} onClick={() => onConfirm(n)}>
          {t("pick.shortConfirm")}
        </button>
      </div>
    </section>
  );
}
