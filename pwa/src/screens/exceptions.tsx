// Scans that were taken offline and refused when they reached the server. Each must be looked at
// and resolved by a person: the goods may be in the wrong tote, or the lot may be on hold.
import { useEffect, useState } from "preact/hooks";
import { sayProblem, t, useLang } from "../i18n";
import { exceptions, resolveException, sync, waiting, type Exception, type Queued } from "../queue";
import { visible } from "../scanner";
import { useStore } from "../store";
import { Screen } from "../ui";

export function Exceptions() {
  useLang();
  const s = useStore(sync);
  const [list, setList] = useState<Exception[]>([]);
  const [queued, setQueued] = useState<Queued[]>([]);
  useEffect(() => {
    void exceptions().then(setList);
    void waiting().then(setQueued);
  }, [s.exceptions, s.waiting]);
  return (
    <Screen title={t("exceptions.title")} testId="exceptions">
      {list.length === 0 && <p class="muted">{t("exceptions.none")}</p>}
      {list.map((x) => {
        const said = sayProblem(x.problem);
        return (
          <section class="card exception" key={x.clientScanId} data-testid="exception">
            <h2 class="card-title">{x.label}</h2>
            <p class="exception-headline">{said.headline}</p>
            {said.todo && <p>{said.todo}</p>}
            <p class="muted">
              {t("exceptions.taken", { at: new Date(x.takenAt).toLocaleString() })} · <code>{visible("raw" in x.body ? x.body.raw : "")}</code>
            </p>
            <button type="button" class="btn" data-testid="exception-resolve" onClick={() => void resolveException(x.clientScanId)}>
              {t("exceptions.resolve")}
            </button>
          </section>
        );
      })}
      {queued.length > 0 && (
        <section class="card">
          <h2 class="card-title">{t("sync.waiting", { n: queued.length })}</h2>
          <ol class="queued" data-testid="queued-list">
            {queued.map((q) => (
              <li key={q.clientScanId}>{q.label}</li>
            ))}
          </ol>
        </section>
      )}
    </Screen>
  );
}
