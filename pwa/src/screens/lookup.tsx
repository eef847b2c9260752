// "What is this?": scan anything (a unit, a case, a location, a carton) and see what udipick reads
// in it, what it matches here, and any hold on it.
import { useState } from "preact/hooks";
import { get, post, ProblemError, OfflineError, type Schemas } from "../api";
import { feedback } from "../feedback";
import { t, useLang } from "../i18n";
import { ScanField, visible } from "../scanner";
import { refuse, Screen, Toast } from "../ui";

export type Interpreted = Schemas["ScanOut"];
type Hold = Schemas["Hold"];

/** Active holds that cover what was scanned: its item, lot, serial or location. */
async function holdsFor(r: Interpreted): Promise<Hold[]> {
  const all = await get<Hold[]>("/api/v1/holds").catch(() => [] as Hold[]);
  const gtin = r.item?.gtin ?? r.gtin;
  return all.filter(
    (h) =>
      h.active &&
      ((h.scope === "item" && (h.item === r.item?.erpId || (gtin && h.gtin === gtin))) ||
        (h.scope === "lot" && h.lot === r.lot && (!h.item || h.item === r.item?.erpId)) ||
        (h.scope === "serial" && h.serial === r.serial) ||
        (h.scope === "location" && h.location === r.location?.code)),
  );
}

/** The unit's own expiry (AI 17, or the MA code's) has passed: it must not be used. */
function isExpired(r: Interpreted): boolean {
  if (r.expired) return true;
  const today = new Date().toISOString().slice(0, 10);
  return !!r.expiry && r.expiry < today;
}

export function Lookup() {
  useLang();
  const [result, setResult] = useState<Interpreted | null>(null);
  const [holds, setHolds] = useState<Hold[] | null>(null);
  const [note, setNote] = useState<string | null>(null);

  const onScan = async (raw: string) => {
    setNote(null);
    try {
      const r = await post<Interpreted>("/api/v1/scans/interpret", { raw });
      setResult(r);
      setHolds(null);
      // the sound waits for the holds: a held or expired unit must not sound like a good one
      const found = await holdsFor(r);
      setHolds(found);
      feedback(found.length > 0 || isExpired(r) ? "warning" : "ok");
    } catch (err) {
      if (err instanceof ProblemError) refuse(err.problem);
      else if (err instanceof OfflineError) {
        feedback("refused");
        setNote(t("lookup.offline"));
      } else throw err;
    }
  };

  return (
    <Screen title={t("lookup.title")} testId="lookup">
      <ScanField label={t("lookup.scan")} onScan={(raw) => onScan(raw)} />
      <Toast text={note} kind="info" />
      {result && (
        <section class="card" data-testid="lookup-result" data-kind={result.kind}>
          <h2 class="card-title">{t(`kind.${result.kind}` as never) || result.kind}</h2>
          <dl class="facts">
            {result.item && (
              <>
                <dt>{t("field.item")}</dt>
                <dd data-testid="lookup-item">
                  {result.item.erpId} — {result.item.name}
                </dd>
                <dt>{t("field.pack")}</dt>
                <dd>
                  {result.item.packLevel} × {result.item.units}
                </dd>
              </>
            )}
            {result.location && (
              <>
                <dt>{t("field.location")}</dt>
                <dd data-testid="lookup-location">
                  {result.location.code} ({result.location.type}
                  {result.location.frozen ? `, ${t("lookup.frozen")}` : ""})
                </dd>
              </>
            )}
            {result.gtin && (
              <>
                <dt>GTIN</dt>
                <dd>{result.gtin}</dd>
              </>
            )}
            {result.di && (
              <>
                <dt>DI</dt>
                <dd data-testid="lookup-di">{result.di}</dd>
              </>
            )}
            {result.lot && (
              <>
                <dt>{t("field.lot")}</dt>
                <dd data-testid="lookup-lot">{result.lot}</dd>
              </>
            )}
            {result.expiry && (
              <>
                <dt>{t("field.expiry")}</dt>
                <dd>{result.expiry}</dd>
              </>
            )}
            {result.serial && (
              <>
                <dt>{t("field.serial")}</dt>
                <dd>{result.serial}</dd>
              </>
            )}
            {result.sscc && (
              <>
                <dt>SSCC</dt>
                <dd>{result.sscc}</dd>
              </>
            )}
            {isExpired(result) && (
              <>
                <dt>{t("field.status")}</dt>
                <dd class="warn" data-testid="lookup-expired">
                  {t("lookup.expired")}
                </dd>
              </>
            )}
            {holds && (
              <>
                <dt>{t("field.status")}</dt>
                <dd data-testid="lookup-status">{holds.length ? t("lookup.onHold") : t("lookup.noHold")}</dd>
              </>
            )}
          </dl>
          {holds && holds.length > 0 && (
            <ul class="holds" data-testid="lookup-holds">
              {holds.map((h) => (
                <li key={h.holdId}>
                  ⚠ {h.scope}: {h.lot ?? h.serial ?? h.location ?? h.item} — {h.reason}
                </li>
              ))}
            </ul>
          )}
          <details>
            <summary>{t("lookup.elements")}</summary>
            <code class="raw">{visible(result.raw)}</code>
            <ul class="elements">
              {result.elements.map((e) => (
                <li key={e.ai}>
                  ({e.ai}) {e.value}
                </li>
              ))}
            </ul>
          </details>
        </section>
      )}
    </Screen>
  );
}
