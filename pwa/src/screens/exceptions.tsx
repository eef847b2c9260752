// Scans that were taken offline and refused when they reached the server. Each must be looked at
// and resolved by a person: the goods may be in the wrong tote, or the lot may be on hold.
// The device's own list is the picker's notice; the server has raised each of them in the shared queue,
// which supervisors, QA and admins see below and resolve there, with a note (GET /api/v1/exceptions).
import { useEffect, useState } from "preact/hooks";
import { ProblemError, get, post, type Problem, type Schemas } from "../api";
import { sayKnownProblem, sayProblem, t, useLang, word } from "../i18n";
import { exceptions, resolveException, sync, waiting, type Exception, type Queued } from "../queue";
import { visible } from "../scanner";
import { hasRole } from "../session";
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
      {hasRole("supervisor", "qa", "admin") && <ServerQueue />}
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

type ServerException = Schemas["ExceptionOut"];

/** The shared queue: every device's exceptions of the kinds this role sees, resolved once with a note. */
function ServerQueue() {
  const [items, setItems] = useState<ServerException[]>([]);
  const [notes, setNotes] = useState<Record<number, string>>({});
  const [problem, setProblem] = useState<Problem | null>(null);
  const load = () =>
    void get<Schemas["ExceptionPage"]>("/api/v1/exceptions?status=open")
      .then((page) => setItems(page.items))
      .catch((err) => setProblem(err instanceof ProblemError ? err.problem : { status: 0, detail: String(err) }));
  useEffect(load, []);
  const resolve = async (x: ServerException) => {
    setProblem(null);
    try {
      await post<ServerException>(`/api/v1/exceptions/${x.id}/resolve`, { note: notes[x.id] ?? "" });
    } catch (err) {
      if (err instanceof ProblemError) setProblem(err.problem);
      else throw err;
    }
    load();
  };
  const said = problem && sayProblem(problem);
  return (
    <section class="card" data-testid="server-exceptions">
      <h2 class="card-title">{t("exceptions.queue")}</h2>
      {said && <p class="exception-headline">{said.headline}</p>}
      {items.length === 0 && <p class="muted">{t("exceptions.queueEmpty")}</p>}
      {items.map((x) => (
        <div class="exception" key={x.id} data-testid="server-exception">
          <p class="exception-headline">{exceptionHeadline(x)}</p>
          <p class="muted">
            {word("exkind", x.kind)} · {x.user ?? "?"} · {x.device ?? "?"} · {new Date(x.raisedAt).toLocaleString()}
          </p>
          <input
            class="input"
            data-testid="server-exception-note"
            placeholder={t("exceptions.note")}
            value={notes[x.id] ?? ""}
            onInput={(e) => setNotes({ ...notes, [x.id]: (e.target as HTMLInputElement).value })}
          />
          <button
            type="button"
            class="btn"
            data-testid="server-exception-resolve"
            disabled={(notes[x.id] ?? "").trim().length < 3}
            onClick={() => void resolve(x)}
          >
            {t("exceptions.resolve")}
          </button>
        </div>
      ))}
    </section>
  );
}

/** An exception in the user's language: its refusal's words when the stored facts fill them, else its kind and
 * what it names (lot, serial, location, order); the server's English `detail` is the supervisor desk's. */
function exceptionHeadline(x: Schemas["ExceptionOut"]): string {
  const said = sayKnownProblem({ ...x, status: 409, code: x.code as Problem["code"] });
  if (said) return said.headline;
  const facts = [x.lot, x.serial, x.location, x.order].filter(Boolean).join(" · ");
  return facts ? `${word("exkind", x.kind)}: ${facts}` : word("exkind", x.kind);
}
