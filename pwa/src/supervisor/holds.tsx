// Holds: stock that must not be picked (an item, a lot, a serial or a location), placed with a reason
// and released only with the releaser's electronic signature (password re-entered, meaning shown
// first: 21 CFR Part 11 §11.50). The server re-allocates open picks a new hold covers.
import { useState } from "preact/hooks";
import { post, type Problem, type Schemas } from "../api";
import { feedback } from "../feedback";
import { fieldName, t, useLang } from "../i18n";
import { session } from "../session";
import { useStore } from "../store";
import { SignMeaning, Toast } from "../ui";
import { st } from "./messages";
import { attempt, Chip, LoadState, ProblemBox, Segments, useLoad, when } from "./common";

type Hold = Schemas["Hold"];
type HoldIn = Schemas["HoldIn"];
type Scope = HoldIn["scope"];

/** The fields each scope names (services/holds.py resolves them: a lot or serial belongs to an item). */
export const SCOPE_FIELDS: Record<Scope, ("item" | "lot" | "serial" | "location")[]> = {
  item: ["item"],
  lot: ["item", "lot"],
  serial: ["item", "serial"],
  location: ["location"],
};

export function HoldsSection() {
  useLang();
  const [which, setWhich] = useState<"active" | "all">("active");
  const holds = useLoad<Hold[]>(`/api/v1/holds?active=${which === "active"}`);
  const [releasing, setReleasing] = useState<Hold | null>(null);
  const [toast, setToast] = useState<string | null>(null);

  return (
    <div class="sup-cols">
      <div class="sup-stack">
        {releasing ? (
          <ReleaseForm
            hold={releasing}
            onCancel={() => setReleasing(null)}
            onReleased={(h) => {
              setReleasing(null);
              setToast(st("holds.released", { hold: h.holdId }));
              void holds.reload();
            }}
          />
        ) : (
          <PlaceForm
            onPlaced={(h) => {
              setToast(st("holds.placed", { hold: h.holdId, n: h.reallocatedTasks }));
              void holds.reload();
            }}
          />
        )}
      </div>
      <section class="sup-stack" data-testid="holds-list">
        <div class="sup-toolbar">
          <Segments
            value={which}
            testId="holds-filter"
            onChange={setWhich}
            options={[
              { value: "active", label: st("holds.active") },
              { value: "all", label: st("holds.all") },
            ]}
          />
          <button type="button" class="btn ghost" data-testid="holds-refresh" onClick={() => void holds.reload()}>
            {st("sup.refresh")}
          </button>
        </div>
        <Toast text={toast} kind="ok" />
        <LoadState loaded={holds} testId="holds-problem" />
        {holds.data?.length === 0 && (
          <p class="muted" data-testid="holds-none">
            {st("holds.none")}
          </p>
        )}
        <ul class="sup-cards">
          {holds.data?.map((h) => (
            <li key={h.holdId} class="card" data-testid="hold" data-hold-id={h.holdId} data-active={String(h.active)}>
              <h3 class="card-title sup-title-row">
                <span>
                  #{h.holdId} · {fieldName(h.scope)}
                </span>
                {h.active ? <Chip kind="bad">{st("holds.statusActive")}</Chip> : <Chip kind="ok">{st("holds.statusReleased")}</Chip>}
              </h3>
              <HoldFacts hold={h} />
              {h.active && (
                <button type="button" class="btn" data-testid="hold-release" onClick={() => setReleasing(h)}>
                  {st("holds.release")}
                </button>
              )}
            </li>
          ))}
        </ul>
      </section>
    </div>
  );
}

function HoldFacts({ hold }: { hold: Hold }) {
  return (
    <dl class="facts">
      {hold.item && (
        <>
          <dt>{t("field.item")}</dt>
          <dd data-testid="hold-item">{hold.item}</dd>
        </>
      )}
      {hold.lot && (
        <>
          <dt>{t("field.lot")}</dt>
          <dd data-testid="hold-lot">{hold.lot}</dd>
        </>
      )}
      {hold.serial && (
        <>
          <dt>{t("field.serial")}</dt>
          <dd>{hold.serial}</dd>
        </>
      )}
      {hold.location && (
        <>
          <dt>{t("field.location")}</dt>
          <dd>{hold.location}</dd>
        </>
      )}
      <dt>{t("field.reason")}</dt>
      <dd data-testid="hold-reason">{hold.reason}</dd>
      <dt>{st("holds.placedBy")}</dt>
      <dd>{st("sup.by", { who: hold.placedBy ?? "—", at: when(hold.placedAt) })}</dd>
      {hold.releasedAt && (
        <>
          <dt>{st("holds.releasedBy")}</dt>
          <dd>
            {st("sup.by", { who: hold.releasedBy ?? "—", at: when(hold.releasedAt) })}
            {hold.releaseReason ? ` — ${hold.releaseReason}` : ""}
          </dd>
        </>
      )}
    </dl>
  );
}

function PlaceForm({ onPlaced }: { onPlaced: (h: Schemas["PlacedHold"]) => void }) {
  const [scope, setScope] = useState<Scope>("lot");
  const [fields, setFields] = useState({ item: "", lot: "", serial: "", location: "", reason: "" });
  const [problem, setProblem] = useState<Problem | null>(null);
  const [busy, setBusy] = useState(false);
  const set = (k: keyof typeof fields) => (e: Event) => setFields({ ...fields, [k]: (e.target as HTMLInputElement).value });

  const submit = async (e: Event) => {
    e.preventDefault();
    const body: HoldIn = { scope, reason: fields.reason.trim() };
    for (const f of SCOPE_FIELDS[scope]) body[f] = fields[f].trim();
    setBusy(true);
    setProblem(null);
    const placed = await attempt(() => post<Schemas["PlacedHold"]>("/api/v1/holds", body), (p) => {
      feedback("refused");
      setProblem(p);
    });
    setBusy(false);
    if (placed) {
      feedback("ok");
      setFields({ item: "", lot: "", serial: "", location: "", reason: "" });
      onPlaced(placed);
    }
  };

  return (
    <form class="card form" data-testid="hold-form" onSubmit={(e) => void submit(e)}>
      <h2 class="card-title">{st("holds.place")}</h2>
      <label>
        {st("holds.scope")}
        <select data-testid="hold-scope" value={scope} onChange={(e) => setScope((e.target as HTMLSelectElement).value as Scope)}>
          {(Object.keys(SCOPE_FIELDS) as Scope[]).map((s) => (
            <option key={s} value={s}>
              {fieldName(s)}
            </option>
          ))}
        </select>
      </label>
      {SCOPE_FIELDS[scope].map((f) => (
        <label key={f}>
          {fieldName(f)}
          <input data-testid={`hold-input-${f}`} autocomplete="off" required maxLength={f === "item" ? 64 : f === "location" ? 80 : 20} value={fields[f]} onInput={set(f)} />
        </label>
      ))}
      <label>
        {t("field.reason")}
        <input data-testid="hold-reason-input" autocomplete="off" required maxLength={500} value={fields.reason} onInput={set("reason")} />
      </label>
      <ProblemBox problem={problem} title={st("holds.refused")} testId="hold-problem" />
      <button type="submit" class="btn primary" data-testid="hold-submit" disabled={busy}>
        {st("holds.submit")}
      </button>
    </form>
  );
}

function ReleaseForm({ hold, onCancel, onReleased }: { hold: Hold; onCancel: () => void; onReleased: (h: Hold) => void }) {
  const user = useStore(session).user;
  const signer = user && user.displayName && user.displayName.toLowerCase() !== user.username ? `${user.displayName} (${user.username})` : user?.username;
  const [reason, setReason] = useState("");
  const [password, setPassword] = useState("");
  const [problem, setProblem] = useState<Problem | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setProblem(null);
    const body: Schemas["ReleaseIn"] = { reason: reason.trim(), password };
    const released = await attempt(() => post<Hold>(`/api/v1/holds/${hold.holdId}/release`, body), (p) => {
      feedback("refused");
      setPassword("");
      setProblem(p);
    });
    setBusy(false);
    if (released) {
      feedback("ok");
      onReleased(released);
    }
  };

  return (
    <form class="answer form" data-testid="hold-release-form" onSubmit={(e) => void submit(e)}>
      <h2>{st("holds.releaseTitle", { hold: hold.holdId })}</h2>
      <HoldFacts hold={hold} />
      <label>
        {t("field.reason")}
        <input data-testid="hold-release-reason" autocomplete="off" required maxLength={500} value={reason} onInput={(e) => setReason((e.target as HTMLInputElement).value)} />
      </label>
      <SignMeaning meaning={st("sign.meaningHoldRelease")} signer={signer} />
      <label>
        {st("holds.password")}
        <input
          type="password"
          data-testid="hold-release-password"
          autocomplete="current-password"
          required
          maxLength={256}
          value={password}
          onInput={(e) => setPassword((e.target as HTMLInputElement).value)}
        />
      </label>
      <ProblemBox problem={problem} testId="hold-release-problem" />
      <div class="row">
        <button type="button" class="btn" data-testid="hold-release-cancel" onClick={onCancel}>
          {t("common.cancel")}
        </button>
        <button type="submit" class="btn primary" data-testid="hold-release-sign" disabled={busy || !reason.trim()}>
          {st("holds.signRelease")}
        </button>
      </div>
    </form>
  );
}
