// Returned goods waiting for QA (part of the QC screen): each unit a customer sent back, from whom and
// under which recall, with three signed decisions: restock (saleable again, a putaway task takes it to
// stock), scrap, or return to the supplier. The meaning is shown before the password is re-entered.
import { useEffect, useState } from "preact/hooks";
import { get, isOnline, OfflineError, post, ProblemError, type Schemas } from "../api";
import { feedback } from "../feedback";
import { sayProblem, t, useLang } from "../i18n";
import type { Key } from "../messages";
import { session } from "../session";
import { useStore } from "../store";
import { refuse, SignMeaning, Toast } from "../ui";

type Line = Schemas["ReturnLineView"];
type Decision = "restock" | "scrap" | "to_supplier";

const LABEL: Record<Decision, Key> = { restock: "qc.restock", scrap: "qc.scrapReturn", to_supplier: "qc.toSupplier" };
const MEANING: Record<Decision, Key> = { restock: "sign.meaningRestock", scrap: "sign.meaningScrap", to_supplier: "sign.meaningToSupplier" };
const IN_FORM = new Set(["signature-rejected", "invalid-request", "missing-reason"]);

export function ReturnsToDecide() {
  useLang();
  const user = useStore(session).user;
  const [lines, setLines] = useState<Line[] | null>(null);
  const [deciding, setDeciding] = useState<{ line: Line; decision: Decision } | null>(null);
  const [reason, setReason] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<{ headline: string; detail: string | null } | null>(null);
  const [busy, setBusy] = useState(false);
  const [toast, setToast] = useState<string | null>(null);

  const load = async () => {
    try {
      setLines(await get<Line[]>("/api/v1/returns/lines"));
    } catch (err) {
      if (err instanceof ProblemError) refuse(err.problem);
      else if (!(err instanceof OfflineError)) throw err;
    }
  };

  useEffect(() => {
    void load();
  }, []);

  const submit = async (e: Event) => {
    e.preventDefault();
    if (!deciding || !reason.trim()) return;
    if (!isOnline()) return setError({ headline: t("qc.offline"), detail: null });
    setBusy(true);
    setError(null);
    try {
      const body: Schemas["DispositionIn"] = { decision: deciding.decision, reason: reason.trim(), password };
      const done = await post<Line>(`/api/v1/returns/lines/${deciding.line.id}/disposition`, body);
      feedback("ok");
      setToast(t("qc.returnDecided", { item: done.item, decision: t(LABEL[deciding.decision]) }));
      setDeciding(null);
      setReason("");
      void load();
    } catch (err) {
      if (err instanceof OfflineError) return setError({ headline: t("qc.offline"), detail: null });
      if (!(err instanceof ProblemError)) throw err;
      const p = err.problem;
      if ((p.code && IN_FORM.has(p.code)) || p.status >= 500) {
        feedback("refused");
        setError({ headline: sayProblem(p).headline, detail: sayProblem(p).todo }); // in the user's language, not the server's English detail
      } else {
        setDeciding(null);
        refuse(p);
        void load();
      }
    } finally {
      setPassword("");
      setBusy(false);
    }
  };

  const facts = (l: Line) => (
    <>
      <h2 class="card-title">
        <span data-testid="qc-return-item">{l.item}</span>{" "}
        <span class="lot">{l.serial ? `${t("field.serial")} ${l.serial}` : `${t("field.lot")} ${l.lot ?? "—"}`}</span>
      </h2>
      <p class="muted">
        {t("qc.returnFrom", { customer: l.customer, number: l.returnNumber })} · {l.location} × {l.quantity}
      </p>
      {l.recall && <p class="warn">{t("ret.recall", { recall: l.recall })}</p>}
    </>
  );

  if (deciding) {
    const d = deciding.decision;
    return (
      <form class="answer form" data-testid="qc-return-form" data-decision={d} onSubmit={(e) => void submit(e)}>
        <h2>{t(LABEL[d])}</h2>
        {facts(deciding.line)}
        <label>
          {t("field.reason")}
          <input data-testid="qc-return-reason" autocomplete="off" maxLength={500} required value={reason} onInput={(e) => setReason((e.target as HTMLInputElement).value)} />
        </label>
        <SignMeaning meaning={t(MEANING[d])} signer={user?.username} />
        <label>
          {t("qc.password")}
          <input
            type="password"
            data-testid="qc-return-password"
            autocomplete="current-password"
            maxLength={200}
            required
            value={password}
            onInput={(e) => setPassword((e.target as HTMLInputElement).value)}
          />
        </label>
        {error && (
          <div class="error" role="alert" data-testid="qc-return-error">
            {error.headline}
            {error.detail && <p class="error-detail">{error.detail}</p>}
          </div>
        )}
        <div class="row">
          <button type="button" class="btn" data-testid="qc-return-cancel" onClick={() => setDeciding(null)}>
            {t("common.cancel")}
          </button>
          <button type="submit" class={d === "restock" ? "btn primary" : "btn danger"} data-testid="qc-return-sign" disabled={busy || !reason.trim()}>
            {t(LABEL[d])}
          </button>
        </div>
      </form>
    );
  }

  return (
    <section data-testid="qc-returns">
      <h2>{t("qc.returns")}</h2>
      <Toast text={toast} kind="ok" />
      {lines !== null && lines.length === 0 && <p class="muted">{t("common.none")}</p>}
      <ul class="list">
        {(lines ?? []).map((l) => (
          <li key={l.id} class="card lot-card" data-testid="qc-return" data-serial={l.serial ?? ""} data-line-id={l.id}>
            {facts(l)}
            <div class="row">
              {(["restock", "scrap", "to_supplier"] as const).map((d) => (
                <button
                  key={d}
                  type="button"
                  class={d === "restock" ? "btn primary" : "btn danger"}
                  data-testid={`qc-return-${d}`}
                  onClick={() => {
                    setError(null);
                    setDeciding({ line: l, decision: d });
                  }}
                >
                  {t(LABEL[d])}
                </button>
              ))}
            </div>
          </li>
        ))}
      </ul>
    </section>
  );
}
