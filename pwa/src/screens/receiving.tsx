// Receiving: start (or resume) a receipt for a purchase order or ASN, scan what arrives, answer the
// questions udipick asks (lot, expiry, serial, temperature: it never guesses a datum a recall may
// depend on), watch line progress, close. Scans carry client scan ids like picks, so a lost response
// never receives twice.
import { useEffect, useRef, useState } from "preact/hooks";
import { get, OfflineError, post, ProblemError, uuid, type Problem, type Schemas } from "../api";
import { feedback } from "../feedback";
import { readExpiry, readGs1 } from "../expiry";
import { fieldName, sayLabel, sayProblem, sayQuarantine, t, useLang, word } from "../i18n";
import { submitScan } from "../queue";
import { go } from "../router";
import { ScanField } from "../scanner";
import { session } from "../session";
import { Progress, refuse, Screen, Toast } from "../ui";

type Receipt = Schemas["ReceiptView"];
type ReceiptRow = Schemas["ReceiptRow"];
/** A receiving scan's answer: this screen never sends `damaged`, so never gets `DamagedRecorded`. */
type ScanAccepted = Schemas["ScanAccepted"];

export function Receiving({ args }: { args: string[] }) {
  return args[0] ? <ReceiptScreen id={Number(args[0])} /> : <ChooseReceipt />;
}

function ChooseReceipt() {
  useLang();
  const [open, setOpen] = useState<ReceiptRow[]>([]);
  useEffect(() => {
    get<ReceiptRow[]>("/api/v1/receipts").then(setOpen, () => undefined);
  }, []);
  const start = async (document: string) => {
    try {
      const r = await post<Receipt>("/api/v1/receipts", { document: document.trim() } satisfies Schemas["StartReceiptIn"]);
      feedback("ok");
      go("receive", r.id);
    } catch (err) {
      if (err instanceof ProblemError) refuse(err.problem);
      else if (!(err instanceof OfflineError)) throw err;
    }
  };
  return (
    <Screen title={t("receive.title")} testId="receive-choose">
      <ScanField label={t("receive.scanDoc")} onScan={(raw) => void start(raw)} />
      {open.length > 0 && (
        <ul class="list" data-testid="receipts">
          {open.map((r) => (
            <li key={r.id}>
              <button type="button" class="btn" onClick={() => go("receive", r.id)}>
                <span>{r.document ?? r.number}</span>
                <span>{r.number}</span>
              </button>
            </li>
          ))}
        </ul>
      )}
    </Screen>
  );
}

type Answers = Record<string, string>;

function ReceiptScreen({ id }: { id: number }) {
  useLang();
  const [receipt, setReceipt] = useState<Receipt | null>(null);
  const [ask, setAsk] = useState<{ raw: string; needs: string[]; problem: Problem; answers: Answers } | null>(null);
  const [closing, setClosing] = useState<{ needs: string[]; answers: Answers } | null>(null);
  const [toast, setToast] = useState<{ text: string; kind: "ok" | "warning" | "queued" | "info" } | null>(null);
  const [lastLpn, setLastLpn] = useState<string | null>(null);
  const [lastLabel, setLastLabel] = useState<string | null>(null);

  const load = () => get<Receipt>(`/api/v1/receipts/${id}`).then(setReceipt, (err) => err instanceof ProblemError && refuse(err.problem));
  useEffect(() => {
    void load();
  }, [id]);

  const send = async (raw: string, answers: Answers = {}) => {
    const clientScanId = uuid(); // a new id for the re-sent scan: the first id keeps its first answer
    const body: Schemas["ReceiptScanIn"] = { clientScanId, raw };
    if (answers.lot) body.lot = answers.lot;
    if (answers.expiry) body.expiry = answers.expiry;
    if (answers.serial) body.serial = answers.serial;
    if (answers.temperature) body.temperatureC = Number(answers.temperature);
    if (answers.quantity) body.quantity = Number(answers.quantity);
    if (answers.reason) body.reason = answers.reason;
    const verdict = await submitScan<ScanAccepted>({
      clientScanId,
      method: "POST",
      path: `/api/v1/receipts/${id}/scans`,
      body,
      label: `${receipt?.document?.number ?? receipt?.number ?? id}`,
      takenAt: new Date().toISOString(),
      username: session.get().user?.username ?? "",
    });
    if (verdict.kind === "queued") {
      feedback("queued");
      setAsk(null);
      setToast({ text: t("pick.queued"), kind: "queued" });
      return;
    }
    if (verdict.kind === "refused") {
      const p = verdict.problem;
      const needs = Array.isArray(p.needs) ? (p.needs as string[]) : null;
      if (needs && needs.length) {
        // not a refusal: a question. Ask for every missing field at once (a warning: look at the screen).
        feedback("warning");
        setAsk({ raw, needs, problem: p, answers });
        return;
      }
      setAsk(null);
      return refuse(p);
    }
    const a = verdict.body;
    setAsk(null);
    // stock that did not go to available (quarantine, hold) is taken but needs a look: not the OK sound
    const available = a.status === "available";
    feedback(available ? "ok" : "warning");
    setLastLpn(a.lpn);
    if (a.label) setLastLabel(sayLabel(a.label));
    setToast({
      text:
        available
          ? t("receive.accepted", { quantity: a.units, item: a.item.name || a.item.erpId })
          : t("receive.quarantined", { reason: sayQuarantine(a.why, a.reasons) || word("status", a.status) }),
      kind: available ? "ok" : "warning",
    });
    if (a.line) setReceipt((r) => (r ? { ...r, lines: r.lines.map((l) => (l.lineNo === a.line!.lineNo ? a.line! : l)) } : r));
  };

  const close = async (answers: Answers = {}) => {
    try {
      const body: Schemas["CloseReceiptIn"] = answers.reason ? { reason: answers.reason } : {};
      const r = await post<Receipt>(`/api/v1/receipts/${id}/close`, body);
      feedback("ok");
      setClosing(null);
      setReceipt(r);
      setToast({ text: t("receive.closed"), kind: "ok" });
    } catch (err) {
      if (err instanceof ProblemError) {
        const needs = Array.isArray(err.problem.needs) ? (err.problem.needs as string[]) : err.problem.code === "missing-reason" ? ["reason"] : null;
        if (needs) {
          feedback("warning");
          setClosing({ needs, answers });
        } else refuse(err.problem);
      } else if (!(err instanceof OfflineError)) throw err;
    }
  };

  if (!receipt) return <Screen title={t("receive.title")} back="receive" testId="receipt"><p class="muted">{t("common.loading")}</p></Screen>;
  const isOpen = receipt.status === "open";
  return (
    <Screen title={`${receipt.document?.number ?? receipt.number}`} back="receive" testId="receipt">
      {ask ? (
        <Questions
          key={`ask-${ask.raw}-${ask.needs.join()}`}
          needs={ask.needs}
          headline={sayProblem(ask.problem).headline}
          initial={ask.answers}
          onCancel={() => setAsk(null)}
          onAnswer={(answers) => void send(ask.raw, answers)}
        />
      ) : closing ? (
        <Questions
          key={`close-${closing.needs.join()}`}
          needs={closing.needs}
          headline={t("receive.close")}
          initial={closing.answers}
          onCancel={() => setClosing(null)}
          onAnswer={(answers) => void close(answers)}
        />
      ) : (
        isOpen && <ScanField label={t("receive.scanItem")} onScan={(raw) => send(raw)} />
      )}
      <Toast text={toast?.text ?? null} kind={toast?.kind ?? "info"} />
      {lastLpn && (
        <p class="muted" data-testid="receipt-lpn">
          LPN <strong>{lastLpn}</strong>
        </p>
      )}
      {lastLabel && (
        <p class="muted" data-testid="receipt-label">
          {lastLabel}
        </p>
      )}
      <section class="card" data-testid="receipt-lines">
        <h2 class="card-title">
          {t("receive.lines")} · {receipt.number} ·{" "}
          <span data-testid="receipt-status" data-status={receipt.status}>
            {word("status", receipt.status)}
          </span>
        </h2>
        {receipt.lines.map((l) => (
          <div class={l.open === 0 ? "line done" : "line"} key={l.lineNo} data-testid={`line-${l.lineNo}`}>
            <div>
              <strong data-testid="line-name">{l.item.name || l.item.erpId}</strong> <span class="muted">{l.item.erpId}</span>
              <Progress done={l.received} total={l.ordered} label={l.item.name || l.item.erpId} />
            </div>
          </div>
        ))}
      </section>
      {!isOpen && receipt.putawayTasks.length > 0 && (
        <ul class="list" data-testid="receipt-putaway">
          {receipt.putawayTasks.map((x) => (
            <li key={x.id} data-testid="receipt-putaway-task">
              {x.suggestion
                ? t("receive.putawayTo", { lpn: x.lpn ?? x.from, location: x.suggestion.location })
                : x.needs
                  ? t("putaway.needs", { needs: word("needs", x.needs) })
                  : (x.lpn ?? x.from)}
            </li>
          ))}
        </ul>
      )}
      {isOpen && !ask && !closing && (
        <button type="button" class="btn big" data-testid="receipt-close" onClick={() => void close()}>
          {t("receive.close")}
        </button>
      )}
      {!isOpen && receipt.putawayTasks.length > 0 && (
        <button type="button" class="btn big primary" data-testid="to-putaway" onClick={() => go("putaway")}>
          {t("home.putaway")} ({receipt.putawayTasks.length})
        </button>
      )}
    </Screen>
  );
}

const INPUT: Record<string, { type: "text" | "number"; mode?: string }> = {
  lot: { type: "text" },
  serial: { type: "text" },
  // typed as the label prints it (YYMMDD) or scanned: a date picker is no use with gloves
  expiry: { type: "text", mode: "numeric" },
  temperature: { type: "number", mode: "decimal" },
  quantity: { type: "number", mode: "numeric" },
  reason: { type: "text" },
};

/** The answers with a scanned label spread over the fields it answers (the scanned field keeps its own
 * datum), the expiry as an ISO date when it can be read. */
function readAnswers(needs: string[], answers: Answers): Answers {
  const out: Answers = { ...answers };
  for (const f of needs) {
    const label: Answers = { ...readGs1(out[f] ?? "") };
    if (!Object.keys(label).length) continue;
    out[f] = label[f] ?? "";
    for (const [k, v] of Object.entries(label)) if (needs.includes(k) && !out[k]) out[k] = v;
  }
  if (out.expiry) out.expiry = readExpiry(out.expiry) ?? out.expiry;
  return out;
}

/** The questions a refusal-with-`needs` asks; each field takes a scan or typing. The first field has the
 * focus (a scanner types into it), so does each new question the server asks. */
function Questions({ needs, headline, initial, onAnswer, onCancel }: {
  needs: string[]; headline: string; initial: Answers; onAnswer: (a: Answers) => void; onCancel: () => void;
}) {
  const [answers, setAnswers] = useState<Answers>({ ...initial });
  const [bad, setBad] = useState(false);
  const form = useRef<HTMLFormElement>(null);
  const focus = (field: string) => form.current?.querySelector<HTMLInputElement>(`input[name="${field}"]`)?.focus();
  useEffect(() => {
    focus(needs[0]);
  }, []);
  return (
    <form
      ref={form}
      class="answer"
      data-testid="ask"
      // checked here, not by the browser: a scanned label fills the other fields before they count as empty
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        const read = readAnswers(needs, answers);
        setAnswers(read);
        const empty = needs.find((f) => !read[f]);
        if (empty) return focus(empty);
        if (needs.includes("expiry") && !readExpiry(read.expiry)) {
          setBad(true);
          return focus("expiry");
        }
        onAnswer(read);
      }}
    >
      <h2 data-testid="ask-headline">{headline}</h2>
      <p class="muted">{t("receive.askHint")}</p>
      {needs.map((f) => (
        <label key={f}>
          {fieldName(f)}
          <input
            name={f}
            data-testid={`ask-${f}`}
            type={(INPUT[f] ?? INPUT.lot).type as "text"}
            inputMode={(INPUT[f]?.mode ?? "text") as "text"}
            step={f === "temperature" ? "0.1" : undefined}
            placeholder={f === "expiry" ? "YYMMDD" : undefined}
            autocomplete="off"
            required
            value={answers[f] ?? ""}
            onInput={(e) => {
              setBad(false);
              setAnswers({ ...answers, [f]: (e.target as HTMLInputElement).value });
            }}
          />
          {f === "expiry" && (
            <span class={bad ? "warn" : "muted"} data-testid="ask-expiry-hint">
              {bad ? t("receive.expiryInvalid") : t("receive.expiryHint")}
            </span>
          )}
        </label>
      ))}
      <div class="row">
        <button type="button" class="btn" onClick={onCancel}>
          {t("common.cancel")}
        </button>
        <button type="submit" class="btn primary" data-testid="ask-submit">
          {t("common.confirm")}
        </button>
      </div>
    </form>
  );
}
