// Quality control: the lots waiting for a QA decision (quarantined on receipt: short shelf life, cold
// chain broken, QC-required items...), with what, how many and where. QA releases a lot (its stock
// becomes pickable) or rejects it (never pickable), each signed by re-entering the password: the
// electronic signature of 21 CFR Part 11, its meaning shown before it is given. A decision needs the
// server, so nothing here is queued offline.
import { useEffect, useState } from "preact/hooks";
import { get, isOnline, OfflineError, post, ProblemError, type Problem, type Schemas } from "../api";
import { feedback } from "../feedback";
import { sayProblem, sayQuarantine, t, useLang } from "../i18n";
import { session } from "../session";
import { useStore } from "../store";
import { refuse, Screen, SignMeaning, Toast } from "../ui";
import { HeldOrders } from "./qc_gsp";
import { ReturnsToDecide } from "./qc_returns";

export type QuarantinedLot = Schemas["QuarantinedLot"];
type Decided = Schemas["QcDecided"];

type Decision = "release" | "reject";

/** Refusals answered in the form (sign again, give a reason); any other is shown full screen. */
const IN_FORM = new Set(["signature-rejected", "invalid-request", "missing-reason"]);

export function Qc() {
  useLang();
  const [lots, setLots] = useState<QuarantinedLot[] | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [deciding, setDeciding] = useState<{ lot: QuarantinedLot; decision: Decision } | null>(null);
  const [toast, setToast] = useState<{ text: string; kind: "ok" | "queued" | "info" } | null>(null);

  const load = async () => {
    try {
      setLots(await get<QuarantinedLot[]>("/api/v1/qc/quarantine"));
      setLoadError(null);
    } catch (err) {
      if (err instanceof OfflineError) setLoadError(t("qc.offline"));
      else if (err instanceof ProblemError) refuse(err.problem);
      else throw err;
    }
  };

  useEffect(() => {
    void load();
  }, []);

  const decided = (d: Decided) => {
    feedback("ok");
    setDeciding(null);
    setToast({ text: t(d.decision === "release" ? "qc.released" : "qc.rejected", { lot: d.lot, quantity: d.quantity }), kind: "ok" });
    setLots((xs) => (xs ?? []).filter((x) => x.lotId !== d.lotId));
    void load();
  };

  if (deciding) {
    return (
      <Screen title={t("qc.title")} testId="qc">
        <DecisionForm
          lot={deciding.lot}
          decision={deciding.decision}
          onDecided={decided}
          onRefused={(problem) => {
            setDeciding(null);
            refuse(problem);
            void load();
          }}
          onCancel={() => setDeciding(null)}
        />
      </Screen>
    );
  }

  return (
    <Screen title={t("qc.title")} testId="qc">
      {loadError && <p class="warn">{loadError}</p>}
      <Toast text={toast?.text ?? null} kind={toast?.kind ?? "info"} />
      {lots === null && !loadError && <p class="muted">{t("common.loading")}</p>}
      {lots !== null && lots.length === 0 && (
        <p class="muted" data-testid="qc-none">
          {t("qc.none")}
        </p>
      )}
      {lots !== null && lots.length > 0 && (
        <ul class="list" data-testid="qc-lots">
          {lots.map((l) => (
            <li key={l.lotId} class="card lot-card" data-testid="qc-lot" data-lot={l.lot} data-lot-id={l.lotId}>
              <LotFacts lot={l} />
              <div class="row">
                <button type="button" class="btn primary" data-testid="qc-release" onClick={() => setDeciding({ lot: l, decision: "release" })}>
                  {t("qc.release")}
                </button>
                <button type="button" class="btn danger" data-testid="qc-reject" onClick={() => setDeciding({ lot: l, decision: "reject" })}>
                  {t("qc.reject")}
                </button>
              </div>
            </li>
          ))}
        </ul>
      )}
      <button type="button" class="btn ghost" data-testid="qc-refresh" onClick={() => void load()}>
        {t("common.retry")}
      </button>
      <ReturnsToDecide />
      <HeldOrders />
    </Screen>
  );
}

function LotFacts({ lot }: { lot: QuarantinedLot }) {
  return (
    <>
      <h2 class="card-title">
        <span data-testid="qc-item">{lot.item}</span>
        <span class="lot" data-testid="qc-lot-number">
          {t("field.lot")} {lot.lot}
        </span>
      </h2>
      <p class="muted">{lot.name}</p>
      <dl class="facts">
        <dt>{t("field.expiry")}</dt>
        <dd data-testid="qc-expiry">{lot.expiry ?? "—"}</dd>
        <dt>{t("field.quantity")}</dt>
        <dd data-testid="qc-quantity">{lot.quantity}</dd>
        <dt>{t("field.location")}</dt>
        <dd data-testid="qc-locations">{lot.locations.join(", ")}</dd>
        {lot.reasons.length > 0 && (
          <>
            <dt>{t("qc.why")}</dt>
            <dd data-testid="qc-reasons">{sayQuarantine(lot.why, lot.reasons)}</dd>
          </>
        )}
      </dl>
    </>
  );
}

function DecisionForm({ lot, decision, onDecided, onRefused, onCancel }: {
  lot: QuarantinedLot;
  decision: Decision;
  onDecided: (d: Decided) => void;
  onRefused: (p: Problem) => void;
  onCancel: () => void;
}) {
  const user = useStore(session).user;
  // the signer is the person signed in on this device; the password re-entered is the second component
  const signer = user && user.displayName && user.displayName.toLowerCase() !== user.username ? `${user.displayName} (${user.username})` : user?.username;
  const [reason, setReason] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<{ headline: string; detail: string | null } | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    if (!reason.trim()) return;
    if (!isOnline()) return setError({ headline: t("qc.offline"), detail: null });
    setBusy(true);
    setError(null);
    try {
      onDecided(await post<Decided>(`/api/v1/qc/lots/${lot.lotId}/${decision}`, { reason: reason.trim(), password } satisfies Schemas["QcDecisionIn"]));
    } catch (err) {
      if (err instanceof OfflineError) return setError({ headline: t("qc.offline"), detail: null });
      if (!(err instanceof ProblemError)) throw err;
      setPassword("");
      const p = err.problem;
      if ((p.code && IN_FORM.has(p.code)) || p.status >= 500) {
        feedback("refused");
        setError({ headline: sayProblem(p).headline, detail: sayProblem(p).todo }); // in the user's language, not the server's English detail
      } else onRefused(p);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="answer" data-testid="qc-form" data-decision={decision} onSubmit={(e) => void submit(e)}>
      <h2>{t(decision === "release" ? "qc.releaseTitle" : "qc.rejectTitle", { lot: lot.lot })}</h2>
      <LotFacts lot={lot} />
      <label>
        {t("field.reason")}
        <input
          name="reason"
          data-testid="qc-reason"
          autocomplete="off"
          maxLength={500}
          required
          value={reason}
          onInput={(e) => setReason((e.target as HTMLInputElement).value)}
        />
      </label>
      <SignMeaning meaning={t(decision === "release" ? "sign.meaningRelease" : "sign.meaningReject")} signer={signer} />
      <label>
        {t("qc.password")}
        <input
          name="password"
          type="password"
          data-testid="qc-password"
          autocomplete="current-password"
          maxLength={200}
          required
          value={password}
          onInput={(e) => setPassword((e.target as HTMLInputElement).value)}
        />
      </label>
      {error && (
        <div class="error" role="alert" data-testid="qc-error">
          {error.headline}
          {error.detail && <p class="error-detail">{error.detail}</p>}
        </div>
      )}
      <div class="row">
        <button type="button" class="btn" data-testid="qc-cancel" onClick={onCancel}>
          {t("common.cancel")}
        </button>
        <button type="submit" class={decision === "release" ? "btn primary" : "btn danger"} data-testid="qc-sign" disabled={busy || !reason.trim()}>
          {t(decision === "release" ? "qc.signRelease" : "qc.signReject")}
        </button>
      </div>
    </form>
  );
}
