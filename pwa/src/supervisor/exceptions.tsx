// The exception queue for supervisors at a tablet: every device's exceptions (GET /api/v1/exceptions),
// filtered by status and kind, each resolved once with a required note (POST .../{id}/resolve). The live
// feed adds an exception the moment the scan that raised it is answered, and marks one resolved elsewhere,
// without a reload; the list itself is the server's answer to the filters, re-read on demand.
import { useState } from "preact/hooks";
import { post, type Problem, type Schemas } from "../api";
import { feedback } from "../feedback";
import { sayProblem, useLang } from "../i18n";
import { attempt, Chip, LoadState, ProblemBox, Segments, useLoad, when } from "./common";
import { LiveChip } from "./livechip";
import { useLive, type ExceptionOut } from "./live";
import { st, type SupKey } from "./messages";

type Kind = ExceptionOut["kind"];
type Status = "open" | "resolved" | "all";
export const KINDS: readonly Kind[] = ["fefo-violation", "held", "recalled", "expired", "short-pick", "count-variance", "offline-refused", "override"];
const kindName = (k: Kind) => st(`exc.kind.${k.replace("-", "_")}` as SupKey);

export function ExceptionsSection() {
  useLang();
  const [status, setStatus] = useState<Status>("open");
  const [kind, setKind] = useState<Kind | "">("");
  const q = new URLSearchParams({ status });
  if (kind) q.set("kind", kind);
  const page = useLoad<Schemas["ExceptionPage"]>(`/api/v1/exceptions?${q}`);
  const s = useLive();
  const [mine, setMine] = useState<Record<number, ExceptionOut>>({});

  // what the live feed knows is newer than the page: raised since (added on top), resolved since (marked)
  const seen = new Map(s.exceptions.map((x) => [x.id, x]));
  const listed = new Set(page.data?.items.map((x) => x.id));
  const fresh = page.data
    ? s.exceptions.filter((x) => !listed.has(x.id) && (!kind || x.kind === kind) && status !== "resolved" && x.raisedAt >= (page.data?.items[0]?.raisedAt ?? ""))
    : [];
  const items = [...fresh, ...(page.data?.items ?? [])].map((x) => mine[x.id] ?? (seen.get(x.id)?.status === "resolved" ? seen.get(x.id)! : x));

  return (
    <div class="sup-stack" data-testid="sup-exceptions">
      <div class="sup-toolbar">
        <Segments
          value={status}
          testId="exc-filter"
          onChange={setStatus}
          options={(["open", "resolved", "all"] as const).map((v) => ({ value: v, label: st(`exc.${v}`) }))}
        />
        <label class="sup-inline">
          {st("exc.kind")}
          <select data-testid="exc-kind" value={kind} onChange={(e) => setKind((e.target as HTMLSelectElement).value as Kind | "")}>
            <option value="">{st("exc.allKinds")}</option>
            {KINDS.map((k) => (
              <option key={k} value={k}>
                {kindName(k)}
              </option>
            ))}
          </select>
        </label>
        <button type="button" class="btn ghost" data-testid="exc-refresh" onClick={() => void page.reload()}>
          {st("sup.refresh")}
        </button>
        <LiveChip />
      </div>
      <LoadState loaded={page} testId="exc-problem" />
      {page.data && items.length === 0 && (
        <p class="muted" data-testid="exc-none">
          {st("exc.none")}
        </p>
      )}
      <ul class="sup-cards">
        {items.map((x) => (
          <ExceptionCard key={x.id} x={x} onResolved={(r) => setMine({ ...mine, [r.id]: r })} />
        ))}
      </ul>
    </div>
  );
}

function ExceptionCard({ x, onResolved }: { x: ExceptionOut; onResolved: (x: ExceptionOut) => void }) {
  useLang();
  const [note, setNote] = useState("");
  const [problem, setProblem] = useState<Problem | null>(null);
  const [busy, setBusy] = useState(false);
  const said = sayProblem({ ...x, status: 409, code: x.code as Problem["code"], detail: x.detail });
  const resolve = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setProblem(null);
    const done = await attempt(() => post<ExceptionOut>(`/api/v1/exceptions/${x.id}/resolve`, { note: note.trim() }), (p) => {
      feedback("refused");
      setProblem(p);
    });
    setBusy(false);
    if (done) {
      feedback("ok");
      onResolved(done);
    }
  };
  return (
    <li class="card" data-testid="exc" data-exc-id={x.id} data-kind={x.kind} data-status={x.status}>
      <h3 class="card-title sup-title-row">
        <span>{kindName(x.kind)}</span>
        {x.status === "open" ? <Chip kind="bad">{st("exc.open")}</Chip> : <Chip kind="ok">{st("exc.resolved")}</Chip>}
      </h3>
      <p class="sup-strong" data-testid="exc-headline">
        {said.headline}
      </p>
      <dl class="facts">
        <dt>{st("exc.raised")}</dt>
        <dd>{st("sup.by", { who: `${x.user ?? "—"}${x.device ? ` (${x.device})` : ""}`, at: when(x.raisedAt) })}</dd>
        {x.order && (
          <>
            <dt>{st("waves.order")}</dt>
            <dd data-testid="exc-order">{x.order}</dd>
          </>
        )}
        {x.location && (
          <>
            <dt>{st("exc.location")}</dt>
            <dd>{x.location}</dd>
          </>
        )}
        {x.lot && (
          <>
            <dt>{st("exc.lot")}</dt>
            <dd data-testid="exc-lot">{x.lot}</dd>
          </>
        )}
        {x.queued && (
          <>
            <dt>{st("exc.queuedTitle")}</dt>
            <dd>{st("exc.queued")}</dd>
          </>
        )}
        {x.status === "resolved" && (
          <>
            <dt>{st("exc.resolvedBy")}</dt>
            <dd data-testid="exc-resolved-by">
              {st("sup.by", { who: x.resolvedBy ?? "—", at: when(x.resolvedAt) })}
              {x.note ? ` — ${x.note}` : ""}
            </dd>
          </>
        )}
      </dl>
      {x.status === "open" && (
        <form class="form sup-stack" onSubmit={(e) => void resolve(e)}>
          <label>
            {st("exc.note")}
            <input data-testid="exc-note" autocomplete="off" required minLength={3} maxLength={1000} value={note} onInput={(e) => setNote((e.target as HTMLInputElement).value)} />
          </label>
          <ProblemBox problem={problem} title={st("exc.resolveRefused")} testId="exc-resolve-problem" />
          <button type="submit" class="btn primary" data-testid="exc-resolve" disabled={busy || note.trim().length < 3}>
            {st("exc.resolve")}
          </button>
        </form>
      )}
    </li>
  );
}
