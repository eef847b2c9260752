// Scrap: scan the location, then the unit or pack to destroy, give the reason and sign by re-entering
// the password (21 CFR Part 11: the meaning is shown before the signature is given). Blocked stock
// (expired, damaged, rejected, quarantined) is scrapped with any reason; saleable stock only as damaged
// or once expired: the server decides. Nothing here is queued offline.
import { useState } from "preact/hooks";
import { isOnline, OfflineError, post, ProblemError, type Schemas } from "../api";
import { feedback } from "../feedback";
import { sayProblem, t, useLang } from "../i18n";
import type { Key } from "../messages";
import { ScanField } from "../scanner";
import { session } from "../session";
import { useStore } from "../store";
import { refuse, Screen, SignMeaning, Toast } from "../ui";

const REASONS = ["expired", "damaged", "rejected", "recalled", "quarantine"] as const;
type Reason = (typeof REASONS)[number];
const IN_FORM = new Set(["signature-rejected", "invalid-request", "missing-reason"]);

export function Scrap() {
  useLang();
  const user = useStore(session).user;
  const [location, setLocation] = useState<{ raw: string; code: string } | null>(null);
  const [unit, setUnit] = useState<{ raw: string; name: string; lot: string | null; serial: string | null; units: number } | null>(null);
  const [reason, setReason] = useState<Reason>("expired");
  const [quantity, setQuantity] = useState("1");
  const [note, setNote] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<{ headline: string; detail: string | null } | null>(null);
  const [busy, setBusy] = useState(false);
  const [toast, setToast] = useState<{ text: string; kind: "ok" | "queued" | "info" } | null>(null);

  const restart = () => {
    setLocation(null);
    setUnit(null);
    setPassword("");
    setNote("");
    setError(null);
  };

  const onScan = async (raw: string) => {
    setToast(null);
    let scan: Schemas["ScanOut"];
    try {
      scan = await post<Schemas["ScanOut"]>("/api/v1/scans/interpret", { raw });
    } catch (err) {
      if (err instanceof ProblemError) return refuse(err.problem);
      if (err instanceof OfflineError) return setToast({ text: t("scrap.offline"), kind: "info" });
      throw err;
    }
    if (!location) {
      if (!scan.location) return refuse({ title: t("count.notLocation"), status: 422, detail: t("scrap.scanLocation") });
      feedback("ok");
      return setLocation({ raw, code: scan.location.code });
    }
    if (!scan.item) return refuse({ title: t("count.notItem"), status: 422, detail: t("scrap.scanUnit") });
    feedback("ok");
    const units = scan.serial ? 1 : scan.item.units;
    setUnit({ raw, name: scan.item.name, lot: scan.lot ?? null, serial: scan.serial ?? null, units });
    setQuantity(String(units));
  };

  const submit = async (e: Event) => {
    e.preventDefault();
    if (!location || !unit) return;
    if (!isOnline()) return setError({ headline: t("scrap.offline"), detail: null });
    setBusy(true);
    setError(null);
    const n = parseInt(quantity, 10);
    const body: Schemas["ScrapIn"] = {
      location: location.code,
      raw: unit.raw,
      reason,
      password,
      ...(unit.serial ? {} : { quantity: n > 0 ? n : 1 }),
      ...(note.trim() ? { note: note.trim() } : {}),
    };
    try {
      const done = await post<Schemas["Scrapped"]>("/api/v1/scrap", body);
      feedback("ok");
      setToast({ text: t("scrap.done", { quantity: done.quantity, item: done.item, location: done.location }), kind: "ok" });
      restart();
    } catch (err) {
      if (err instanceof OfflineError) return setError({ headline: t("scrap.offline"), detail: null });
      if (!(err instanceof ProblemError)) throw err;
      setPassword("");
      const p = err.problem;
      if ((p.code && IN_FORM.has(p.code)) || p.status >= 500) {
        feedback("refused");
        setError({ headline: sayProblem(p).headline, detail: sayProblem(p).todo });
      } else refuse(p);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Screen title={t("scrap.title")} testId="scrap">
      {!unit && <ScanField label={location ? t("scrap.scanUnit") : t("scrap.scanLocation")} onScan={(raw) => onScan(raw)} />}
      <Toast text={toast?.text ?? null} kind={toast?.kind ?? "info"} />
      {location && (
        <p class="where" data-testid="scrap-location">
          {location.code}
        </p>
      )}
      {location && unit && (
        <form class="answer form" data-testid="scrap-form" onSubmit={(e) => void submit(e)}>
          <p class="what" data-testid="scrap-unit">
            {unit.name} · {unit.serial ? `${t("field.serial")} ${unit.serial}` : `${t("field.lot")} ${unit.lot ?? "—"}`}
          </p>
          <label>
            {t("scrap.reason")}
            <select data-testid="scrap-reason" value={reason} onChange={(e) => setReason((e.target as HTMLSelectElement).value as Reason)}>
              {REASONS.map((r) => (
                <option key={r} value={r}>
                  {t(`scrap.reason.${r}` as Key)}
                </option>
              ))}
            </select>
          </label>
          {!unit.serial && (
            <label>
              {t("scrap.quantity")}
              <input data-testid="scrap-quantity" type="number" min={1} inputMode="numeric" value={quantity} onInput={(e) => setQuantity((e.target as HTMLInputElement).value)} />
            </label>
          )}
          <label>
            {t("scrap.note")}
            <input data-testid="scrap-note" autocomplete="off" maxLength={500} value={note} onInput={(e) => setNote((e.target as HTMLInputElement).value)} />
          </label>
          <SignMeaning meaning={t("sign.meaningScrap")} signer={user?.username} />
          <label>
            {t("qc.password")}
            <input
              type="password"
              data-testid="scrap-password"
              autocomplete="current-password"
              maxLength={200}
              required
              value={password}
              onInput={(e) => setPassword((e.target as HTMLInputElement).value)}
            />
          </label>
          {error && (
            <div class="error" role="alert" data-testid="scrap-error">
              {error.headline}
              {error.detail && <p class="error-detail">{error.detail}</p>}
            </div>
          )}
          <div class="row">
            <button type="button" class="btn" data-testid="scrap-cancel" onClick={restart}>
              {t("common.cancel")}
            </button>
            <button type="submit" class="btn danger" data-testid="scrap-sign" disabled={busy || !password}>
              {t("scrap.sign")}
            </button>
          </div>
        </form>
      )}
    </Screen>
  );
}
