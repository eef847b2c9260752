// Sales orders held by GSP (part of the QC screen): a customer's licence is missing or expired, so the wave
// release leaves the order unallocated. QA may let one order through with an exception, signed by
// re-entering the password with a reason; the meaning is shown before the password is given.
import { useEffect, useState } from "preact/hooks";
import { get, isOnline, OfflineError, post, ProblemError, type Problem, type Schemas } from "../api";
import { feedback } from "../feedback";
import { sayProblem, t, useLang } from "../i18n";
import { session } from "../session";
import { useStore } from "../store";
import { refuse, SignMeaning, Toast } from "../ui";

type Held = Schemas["HeldOrder"];
const IN_FORM = new Set(["signature-rejected", "invalid-request", "missing-reason"]);

/** Why the order is held, in the chosen language (the refusal a release of it meets). */
function why(h: Held): string {
  return sayProblem({
    status: 409,
    code: h.code as Schemas["Problem"]["code"],
    detail: h.detail,
    order: h.order,
    customerName: h.customerName,
    licenceNo: h.licenceNo,
    validUntil: h.validUntil,
  }).headline;
}

export function HeldOrders() {
  useLang();
  const user = useStore(session).user;
  const [held, setHeld] = useState<Held[] | null>(null);
  const [excepting, setExcepting] = useState<Held | null>(null);
  const [reason, setReason] = useState("");
  const [password, setPassword] = useState("");
  // kept as the problem, not its words: a language switch re-says it
  const [error, setError] = useState<Problem | "offline" | null>(null);
  const [busy, setBusy] = useState(false);
  const [toast, setToast] = useState<string | null>(null);

  const load = async () => {
    try {
      setHeld(await get<Held[]>("/api/v1/regulatory/held-orders"));
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
    if (!excepting || !reason.trim()) return;
    if (!isOnline()) return setError("offline");
    setBusy(true);
    setError(null);
    try {
      const body = { code: excepting.code, reason: reason.trim(), password } as Schemas["OrderExceptionIn"];
      await post<Schemas["RegulatoryExceptionOut"]>(`/api/v1/regulatory/orders/${encodeURIComponent(excepting.order)}/exceptions`, body);
      feedback("ok");
      setToast(t("gsp.excepted", { order: excepting.order }));
      setExcepting(null);
      setReason("");
      void load();
    } catch (err) {
      if (err instanceof OfflineError) return setError("offline");
      if (!(err instanceof ProblemError)) throw err;
      const p = err.problem;
      if ((p.code && IN_FORM.has(p.code)) || p.status >= 500) {
        feedback("refused");
        setError(p);
      } else {
        setExcepting(null);
        refuse(p);
        void load();
      }
    } finally {
      setPassword("");
      setBusy(false);
    }
  };

  if (excepting) {
    return (
      <form class="answer form" data-testid="gsp-form" onSubmit={(e) => void submit(e)}>
        <h2>{t("gsp.exceptTitle", { order: excepting.order })}</h2>
        <p class="warn" data-testid="gsp-form-why">
          {why(excepting)}
        </p>
        <label>
          {t("field.reason")}
          <input data-testid="gsp-reason" autocomplete="off" maxLength={500} required value={reason} onInput={(e) => setReason((e.target as HTMLInputElement).value)} />
        </label>
        <SignMeaning meaning={t("sign.meaningGspException")} signer={user?.username} />
        <label>
          {t("qc.password")}
          <input
            type="password"
            data-testid="gsp-password"
            autocomplete="current-password"
            maxLength={200}
            required
            value={password}
            onInput={(e) => setPassword((e.target as HTMLInputElement).value)}
          />
        </label>
        {error && (
          <div class="error" role="alert" data-testid="gsp-error">
            {error === "offline" ? t("qc.offline") : sayProblem(error).headline}
          </div>
        )}
        <div class="row">
          <button type="button" class="btn" data-testid="gsp-cancel" onClick={() => setExcepting(null)}>
            {t("common.cancel")}
          </button>
          <button type="submit" class="btn danger" data-testid="gsp-sign" disabled={busy || !reason.trim()}>
            {t("gsp.sign")}
          </button>
        </div>
      </form>
    );
  }

  return (
    <section data-testid="gsp-held">
      <h2>{t("gsp.held")}</h2>
      <Toast text={toast} kind="ok" />
      {held !== null && held.length === 0 && <p class="muted">{t("common.none")}</p>}
      <ul class="list">
        {(held ?? []).map((h) => (
          <li key={h.order} class="card" data-testid="gsp-order" data-order={h.order}>
            <h2 class="card-title">
              {h.order} · {h.customerName}
            </h2>
            <p class="warn" data-testid="gsp-why">
              {why(h)}
            </p>
            <button
              type="button"
              class="btn danger"
              data-testid="gsp-except"
              onClick={() => {
                setError(null);
                setExcepting(h);
              }}
            >
              {t("gsp.except")}
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}
