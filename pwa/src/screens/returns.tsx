// Customer return: choose the RMA the ERP sent, or a blind return for a named customer, then scan each
// unit that came back. udipick checks every unit against what was shipped to that customer and books it
// into quarantine for QA's decision; the RMA's progress shows what is still expected. A return needs the
// server (the shipment history), so nothing is queued offline.
import { useEffect, useState } from "preact/hooks";
import { get, OfflineError, post, ProblemError, uuid, type Schemas } from "../api";
import { feedback } from "../feedback";
import { t, useLang } from "../i18n";
import { ScanField } from "../scanner";
import { refuse, Screen, Toast } from "../ui";

type Rma = Schemas["RmaView"];
type Return = Schemas["ReturnView"];

export function Returns() {
  useLang();
  const [rmas, setRmas] = useState<Rma[] | null>(null);
  const [ret, setRet] = useState<Return | null>(null);
  const [customer, setCustomer] = useState("");
  const [quantity, setQuantity] = useState("");
  const [toast, setToast] = useState<{ text: string; kind: "ok" | "queued" | "info" } | null>(null);

  const failed = (err: unknown) => {
    if (err instanceof ProblemError) refuse(err.problem);
    else if (err instanceof OfflineError) setToast({ text: t("ret.offline"), kind: "info" });
    else throw err;
  };

  const load = async () => {
    try {
      setRmas(await get<Rma[]>("/api/v1/returns/rmas"));
    } catch (err) {
      failed(err);
    }
  };

  useEffect(() => {
    void load();
  }, []);

  const start = async (body: Schemas["StartReturnIn"]) => {
    try {
      setRet(await post<Return>("/api/v1/returns", body));
      setToast(null);
    } catch (err) {
      failed(err);
    }
  };

  const onScan = async (raw: string) => {
    if (!ret) return;
    setToast(null);
    const n = parseInt(quantity, 10);
    const body: Schemas["ReturnScanIn"] = { clientScanId: uuid(), raw, ...(n > 0 ? { quantity: n } : {}) };
    try {
      const answer = await post<Schemas["ReturnScanAnswer"]>(`/api/v1/returns/${ret.id}/scans`, body);
      feedback("ok");
      const a = answer.accepted;
      const unit = a.serial ? `${t("field.serial")} ${a.serial}` : `${t("field.lot")} ${a.lot ?? "—"} × ${a.quantity}`;
      setToast({ text: t("ret.accepted", { item: a.item, unit }), kind: "ok" });
      setRet(answer.return);
      setQuantity("");
    } catch (err) {
      failed(err);
    }
  };

  if (!ret) {
    return (
      <Screen title={t("ret.title")} testId="return">
        <Toast text={toast?.text ?? null} kind={toast?.kind ?? "info"} />
        <h2>{t("ret.chooseRma")}</h2>
        {rmas !== null && rmas.length === 0 && <p class="muted">{t("ret.noRma")}</p>}
        <ul class="list" data-testid="ret-rmas">
          {(rmas ?? []).map((r) => (
            <li key={r.rma}>
              <button type="button" class="btn" data-testid="ret-rma" data-rma={r.rma} onClick={() => void start({ rma: r.rma })}>
                {r.number} · {r.customerName}
              </button>
            </li>
          ))}
        </ul>
        <form
          class="card form"
          data-testid="ret-blind"
          onSubmit={(e) => {
            e.preventDefault();
            if (customer.trim()) void start({ blind: true, customer: customer.trim() });
          }}
        >
          <h2>{t("ret.blind")}</h2>
          <label>
            {t("ret.customer")}
            <input data-testid="ret-customer" autocomplete="off" maxLength={64} value={customer} onInput={(e) => setCustomer((e.target as HTMLInputElement).value)} />
          </label>
          <button type="submit" class="btn primary" data-testid="ret-start" disabled={!customer.trim()}>
            {t("ret.start")}
          </button>
        </form>
      </Screen>
    );
  }

  return (
    <Screen title={t("ret.title")} testId="return">
      <p class="where" data-testid="ret-number">
        {ret.number} · {ret.customerName} · {ret.location}
      </p>
      <ScanField label={t("ret.scanUnits")} onScan={(raw) => onScan(raw)} />
      <div class="form">
        <label>
          {t("ret.quantity")}
          <input data-testid="ret-quantity" type="number" min={1} inputMode="numeric" value={quantity} onInput={(e) => setQuantity((e.target as HTMLInputElement).value)} />
        </label>
      </div>
      <Toast text={toast?.text ?? null} kind={toast?.kind ?? "info"} />
      {ret.authorized.length > 0 && (
        <ul class="list" data-testid="ret-progress">
          {ret.authorized.map((l) => (
            <li key={l.lineNo} data-testid="ret-rma-line" data-received={l.received}>
              {l.item} {l.lot ? `· ${t("field.lot")} ${l.lot}` : ""} — {t("ret.progress", { received: l.received, authorized: l.authorized })}
            </li>
          ))}
        </ul>
      )}
      <h2>{t("ret.received")}</h2>
      <ul class="list" data-testid="ret-lines">
        {ret.lines.map((l) => (
          <li key={l.id} data-testid="ret-line" data-serial={l.serial ?? ""}>
            {l.item} · {l.serial ? `${t("field.serial")} ${l.serial}` : `${t("field.lot")} ${l.lot ?? "—"}`} × <strong>{l.quantity}</strong>
            {l.recall && (
              <span class="warn" data-testid="ret-recall">
                {" "}
                {t("ret.recall", { recall: l.recall })}
              </span>
            )}
          </li>
        ))}
      </ul>
      <button
        type="button"
        class="btn ghost"
        data-testid="ret-finish"
        onClick={() => {
          setRet(null);
          void load();
        }}
      >
        {t("ret.finish")}
      </button>
    </Screen>
  );
}
