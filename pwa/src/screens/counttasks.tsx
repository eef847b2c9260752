// Count tasks (盘点): the list of open count tasks, then a blind count of one task line. The counter
// never sees what udipick has on the books: scan the location, then the item; a lot is scanned once and
// its units typed (quantity entry), serials are scanned one by one. A difference beyond the tolerance
// asks another user for a recount; the answer says so. A count needs the server: it is not queued.
import { useEffect, useState } from "preact/hooks";
import { get, OfflineError, post, ProblemError, uuid, type Schemas } from "../api";
import { feedback } from "../feedback";
import { t, useLang } from "../i18n";
import { go } from "../router";
import { ScanField } from "../scanner";
import { refuse, Screen, Toast } from "../ui";

type Task = Schemas["CountTaskView"];
type TaskLine = Schemas["TaskLineView"];

interface Line {
  lot: string | null;
  serial: string | null;
  expiry: string | null;
  quantity: number;
}

const key = (l: { lot?: string | null; serial?: string | null }) => `${l.lot ?? ""}\u0000${l.serial ?? ""}`;

function failed(err: unknown, setToast: (s: { text: string; kind: "info" }) => void) {
  if (err instanceof ProblemError) refuse(err.problem);
  else if (err instanceof OfflineError) setToast({ text: t("count.offline"), kind: "info" });
  else throw err;
}

export function CountTasks({ args }: { args: string[] }) {
  useLang();
  const [tasks, setTasks] = useState<Task[] | null>(null);
  const [toast, setToast] = useState<{ text: string; kind: "ok" | "queued" | "info" } | null>(null);
  const load = () => get<Task[]>("/api/v1/count-tasks?status=open").then(setTasks, (err) => failed(err, setToast));
  useEffect(() => void load(), [args[0]]);
  const lineId = args[0] ? Number(args[0]) : null;
  const line = tasks?.flatMap((task) => task.lines).find((l) => l.lineId === lineId) ?? null;
  if (lineId !== null && line) {
    return (
      <BlindCount
        line={line}
        onDone={(text) => {
          setToast({ text, kind: "ok" });
          go("counttasks");
        }}
      />
    );
  }
  // a recount is someone else's: the first counter does not see it offered
  const waiting = (l: TaskLine) => l.status === "open" || (l.status === "recount" && !l.countedFirst);
  return (
    <Screen title={t("ctask.title")} testId="count-tasks">
      <Toast text={toast?.text ?? null} kind={toast?.kind ?? "info"} />
      {tasks && tasks.every((task) => !task.lines.some(waiting)) && (
        <p class="muted" data-testid="count-tasks-none">
          {t("ctask.none")}
        </p>
      )}
      <ul class="list">
        {tasks?.flatMap((task) =>
          task.lines.filter(waiting).map((l) => (
            <li key={l.lineId}>
              <button type="button" class="btn task-row" data-testid="count-task-line" data-line-id={l.lineId} onClick={() => go("counttasks", l.lineId)}>
                <strong>{l.location}</strong> · {l.itemName}
                <span class="muted">
                  {" "}
                  {t(`ctask.origin.${task.origin}` as "ctask.origin.supervisor")}
                  {l.status === "recount" ? ` · ${t("ctask.recount")}` : ""}
                </span>
              </button>
            </li>
          )),
        )}
      </ul>
    </Screen>
  );
}

function BlindCount({ line, onDone }: { line: TaskLine; onDone: (text: string) => void }) {
  useLang();
  const [atLocation, setAtLocation] = useState(false);
  const [lines, setLines] = useState<Line[]>([]);
  const [pending, setPending] = useState<{ lot: string | null; expiry: string | null } | null>(null);
  const [qty, setQty] = useState("");
  const [toast, setToast] = useState<{ text: string; kind: "ok" | "queued" | "info" } | null>(null);
  const [sending, setSending] = useState(false);

  const add = (l: Line) =>
    setLines((prev) => {
      const found = prev.find((p) => key(p) === key(l));
      if (found && l.serial) return prev; // a serial counts once, however often it is scanned
      return found ? prev.map((p) => (key(p) === key(l) ? { ...p, quantity: p.quantity + l.quantity } : p)) : [...prev, l];
    });

  const onScan = async (raw: string) => {
    setToast(null);
    let scan: Schemas["ScanOut"];
    try {
      scan = await post<Schemas["ScanOut"]>("/api/v1/scans/interpret", { raw });
    } catch (err) {
      return failed(err, setToast);
    }
    if (!atLocation) {
      if (scan.location?.code !== line.location) {
        return refuse({ title: t("ctask.wrongLocation", { location: line.location }), status: 409, detail: t("ctask.scanLocation", { location: line.location }) });
      }
      feedback("ok");
      setAtLocation(true);
      return;
    }
    if (!scan.item || scan.item.erpId !== line.item) {
      return refuse({ title: t("count.oneItem", { item: line.itemName }), status: 409, detail: t("ctask.otherItem") });
    }
    feedback("ok");
    if (scan.serial) {
      add({ lot: scan.lot ?? null, serial: scan.serial, expiry: scan.expiry ?? null, quantity: 1 });
      return;
    }
    setPending({ lot: scan.lot ?? null, expiry: scan.expiry ?? null });
    setQty("");
  };

  const addQty = (e: Event) => {
    e.preventDefault();
    const n = Number(qty);
    if (!pending || !Number.isInteger(n) || n < 0) return;
    add({ lot: pending.lot, serial: null, expiry: pending.expiry, quantity: n });
    setPending(null);
    setQty("");
  };

  const send = async () => {
    setSending(true);
    try {
      const body = { clientScanId: uuid(), lines } satisfies Schemas["CountLineCountIn"];
      const result = await post<Schemas["CountSubmitted"]>(`/api/v1/count-tasks/lines/${line.lineId}/count`, body);
      feedback(result.status === "done" ? "ok" : "warning"); // a difference to recount or review is no refusal
      onDone(t(`ctask.result.${result.status}` as "ctask.result.done", { location: line.location }));
    } catch (err) {
      failed(err, setToast);
    } finally {
      setSending(false);
    }
  };

  return (
    <Screen title={t("ctask.countTitle")} back="counttasks" testId="blind-count">
      <ScanField
        label={atLocation ? t("ctask.scanItem", { item: line.itemName }) : t("ctask.scanLocation", { location: line.location })}
        onScan={(raw) => onScan(raw)}
      />
      <Toast text={toast?.text ?? null} kind={toast?.kind ?? "info"} />
      <section class="card task" data-testid="blind-count-sheet">
        <p class="where" data-testid="blind-count-location">
          {line.location}
        </p>
        <p class="what">
          {line.itemName} <span class="muted">{line.item}</span>
        </p>
        {line.status === "recount" && <p class="warn">{t("ctask.recountHint")}</p>}
        {pending && (
          <form class="row" onSubmit={addQty} data-testid="count-qty-form">
            <label>
              {pending.lot ? `${t("count.lot")} ${pending.lot}: ` : ""}
              {t("ctask.howMany")}
              <input data-testid="count-qty" type="number" inputMode="numeric" min={0} value={qty} autoFocus onInput={(e) => setQty((e.target as HTMLInputElement).value)} />
            </label>
            <button type="submit" class="btn" data-testid="count-qty-add" disabled={qty === ""}>
              {t("ctask.add")}
            </button>
          </form>
        )}
        <ul class="list" data-testid="blind-count-lines">
          {lines.map((l) => (
            <li key={key(l)}>
              {l.serial ? `${t("count.serial")} ${l.serial}` : `${t("count.lot")} ${l.lot ?? "—"}`} × <strong>{l.quantity}</strong>
            </li>
          ))}
        </ul>
        <div class="row">
          <button type="button" class="btn" data-testid="blind-count-send" disabled={!atLocation || sending || pending !== null} onClick={() => void send()}>
            {lines.length ? t("count.send") : t("ctask.nothingHere")}
          </button>
          <button type="button" class="btn ghost" data-testid="blind-count-restart" onClick={() => { setLines([]); setPending(null); }}>
            {t("common.cancel")}
          </button>
        </div>
      </section>
    </Screen>
  );
}
