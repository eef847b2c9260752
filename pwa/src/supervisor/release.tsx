// Release a wave: POST /api/v1/waves allocates open sales orders FEFO into pick tasks (all orders with
// something left to allocate, most urgent first, up to maxOrders; or the named ones). The answer names
// the orders, the task count, every short line with its reason, and the replenishment planned for the
// wave (or why none could be), and the orders GSP held (a customer's licence). A refusal (nothing left to release, an unknown order) is shown in place.
import { useEffect, useRef, useState } from "preact/hooks";
import { post, type Problem, type Schemas } from "../api";
import { feedback } from "../feedback";
import { sayProblem, useLang } from "../i18n";
import { st } from "./messages";
import { attempt, ProblemBox } from "./common";

type Wave = Schemas["WaveWithReplenishment"];
type WaveIn = Schemas["WaveIn"];
type Plan = Schemas["ReplenishmentPlan"];

/** ERP ids as typed or pasted from a spreadsheet: spaces, commas, semicolons or new lines between them. */
export function orderIds(text: string): string[] {
  return [...new Set(text.split(/[\s,;，；]+/).filter(Boolean))];
}

export function ReleaseSection() {
  useLang();
  const [orders, setOrders] = useState("");
  const [maxOrders, setMaxOrders] = useState("1000");
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [wave, setWave] = useState<Wave | null>(null);

  const submit = async (e: Event) => {
    e.preventDefault();
    const ids = orderIds(orders);
    const body: WaveIn = { maxOrders: Number(maxOrders), orders: ids.length ? ids : null };
    setBusy(true);
    setProblem(null);
    const released = await attempt(() => post<Wave>("/api/v1/waves", body), (p) => {
      feedback("refused");
      setProblem(p);
    });
    setBusy(false);
    if (released) {
      feedback("ok");
      setWave(released);
      setOrders("");
    }
  };

  return (
    <div class="sup-cols">
      <form class="card form" data-testid="wave-form" onSubmit={(e) => void submit(e)}>
        <h2 class="card-title">{st("sup.release")}</h2>
        <p class="muted">{st("wave.intro")}</p>
        <label>
          {st("wave.orders")}
          <input data-testid="wave-orders" autocomplete="off" value={orders} onInput={(e) => setOrders((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          {st("wave.maxOrders")}
          <input
            data-testid="wave-max-orders"
            type="number"
            inputMode="numeric"
            min={1}
            max={10000}
            required
            value={maxOrders}
            onInput={(e) => setMaxOrders((e.target as HTMLInputElement).value)}
          />
        </label>
        <ProblemBox problem={problem} title={st("wave.refused")} testId="wave-problem" />
        <button type="submit" class="btn primary big" data-testid="wave-submit" disabled={busy}>
          {st("wave.submit")}
        </button>
      </form>
      {wave && <WaveResult wave={wave} />}
    </div>
  );
}

function WaveResult({ wave }: { wave: Wave }) {
  const plan = "tasks" in wave.replenishment ? (wave.replenishment as Plan) : null;
  const refused = plan ? null : (wave.replenishment as Problem);
  const box = useRef<HTMLElement>(null);
  // on a handheld the result is below the form: bring it into view (on a tablet it already is)
  useEffect(() => box.current?.scrollIntoView?.({ block: "nearest" }), [wave.waveId]);
  return (
    <section ref={box} class="card sup-result" data-testid="wave-result" data-wave-id={wave.waveId}>
      <h2 class="card-title" data-testid="wave-released">
        {st("wave.released", { wave: wave.waveId, tasks: wave.tasks, n: wave.orders.length })}
      </h2>
      <p data-testid="wave-result-orders">
        <code>{wave.orders.join(", ")}</code>
      </p>
      {wave.held.length > 0 && (
        <>
          <h3 class="sup-h3">{st("wave.held")}</h3>
          <ul class="sup-lines" data-testid="wave-held">
            {wave.held.map((h) => (
              <li key={h.order} class="warn" data-testid="wave-held-order" data-order={h.order}>
                {
                  sayProblem({
                    status: 409,
                    code: h.code as Problem["code"],
                    detail: h.detail,
                    order: h.order,
                    customerName: h.customerName,
                    licenceNo: h.licenceNo,
                    validUntil: h.validUntil,
                  }).headline
                }
              </li>
            ))}
          </ul>
        </>
      )}
      <h3 class="sup-h3">{st("wave.short")}</h3>
      {wave.shortLines.length === 0 ? (
        <p class="muted" data-testid="wave-no-short">
          {st("wave.noShort")}
        </p>
      ) : (
        <ul class="sup-lines" data-testid="wave-short">
          {wave.shortLines.map((s) => (
            <li key={`${s.order}-${s.lineNo}`} data-testid="wave-short-line">
              <strong>{s.order}</strong> {st("wave.line", { line: s.lineNo, missing: s.missing })} — <span class="muted">{s.reason}</span>
            </li>
          ))}
        </ul>
      )}
      <h3 class="sup-h3">{st("wave.replenishment")}</h3>
      {plan && (
        <div data-testid="wave-replenishment">
          <p>{st("wave.replenTasks", { n: plan.tasks.length })}</p>
          {plan.notCovered.length > 0 && (
            <>
              <p class="sup-h4">{st("wave.notCovered")}</p>
              <ul class="sup-lines">
                {plan.notCovered.map((n) => (
                  <li key={n.gtin}>
                    <strong>{n.item}</strong> {st("wave.missing", { missing: n.missing })} — <span class="muted">{n.reason}</span>
                  </li>
                ))}
              </ul>
            </>
          )}
          {plan.noPickFace.length > 0 && (
            <>
              <p class="sup-h4">{st("wave.noPickFace")}</p>
              <ul class="sup-lines">
                {plan.noPickFace.map((n) => (
                  <li key={n.gtin}>
                    <strong>{n.item}</strong> {st("wave.needed", { needed: n.needed })} — <span class="muted">{n.reason}</span>
                  </li>
                ))}
              </ul>
            </>
          )}
        </div>
      )}
      {refused && (
        <p class="warn" data-testid="wave-replenishment-refused">
          {st("wave.replenRefused")}: {sayProblem(refused).headline}
          {refused.detail ? ` (${refused.detail})` : ""}
        </p>
      )}
    </section>
  );
}
