// Packing: open a carton for the order (udipick assigns its SSCC), scan each picked unit into it,
// close it (the SSCC label goes to the packing station's printer), then confirm the shipment.
import { useState } from "preact/hooks";
import { OfflineError, post, ProblemError, uuid, type Schemas } from "../api";
import { feedback } from "../feedback";
import { sayLabel, t, useLang } from "../i18n";
import { submitScan } from "../queue";
import { ScanField } from "../scanner";
import { session } from "../session";
import { refuse, Screen, Toast } from "../ui";

export function Packing() {
  useLang();
  const [order, setOrder] = useState<string | null>(null);
  const [carton, setCarton] = useState<{ sscc: string; units: number } | null>(null);
  const [toPack, setToPack] = useState<number | null>(null);
  const [closed, setClosed] = useState<string[]>([]);
  const [toast, setToast] = useState<{ text: string; kind: "ok" | "queued" | "info" } | null>(null);

  const call = async <T,>(path: string, body: unknown): Promise<T | null> => {
    try {
      return await post<T>(path, body);
    } catch (err) {
      if (err instanceof ProblemError) refuse(err.problem);
      else if (err instanceof OfflineError) setToast({ text: t("lookup.offline"), kind: "info" });
      else throw err;
      return null;
    }
  };

  const newCarton = async (forOrder: string) => {
    const r = await call<Schemas["PackageOpened"]>("/api/v1/packing/packages", { order: forOrder } satisfies Schemas["OrderIn"]);
    if (!r) return;
    feedback("ok");
    setOrder(forOrder);
    setCarton({ sscc: r.sscc, units: 0 });
    setToast({ text: t("pack.carton", { sscc: r.sscc }), kind: "ok" });
  };

  const packScan = async (raw: string) => {
    if (!carton) return;
    const clientScanId = uuid();
    const verdict = await submitScan<Schemas["PackedUnits"]>({
      clientScanId,
      method: "POST",
      path: `/api/v1/packing/packages/${carton.sscc}/scans`,
      body: { clientScanId, raw } satisfies Schemas["PackScanIn"],
      label: `${t("home.pack")} · ${order} · ${carton.sscc}`,
      takenAt: new Date().toISOString(),
      username: session.get().user?.username ?? "",
    });
    if (verdict.kind === "refused") return refuse(verdict.problem);
    if (verdict.kind === "queued") {
      feedback("queued");
      setToast({ text: t("pick.queued"), kind: "queued" });
      return;
    }
    const p = verdict.body;
    feedback("ok");
    setCarton((c) => (c ? { ...c, units: c.units + p.units } : c));
    setToPack(p.orderUnitsToPack);
    setToast({ text: `+${p.units} ${p.item}${p.lot ? " · " + p.lot : ""}`, kind: "ok" });
  };

  const closeCarton = async () => {
    if (!carton) return;
    const r = await call<Schemas["PackageClosed"]>(`/api/v1/packing/packages/${carton.sscc}/close`, {});
    if (!r) return;
    feedback("ok");
    setClosed((xs) => [...xs, r.sscc]);
    setCarton(null);
    setToast({ text: sayLabel(r.label), kind: r.label.status === "sent" || r.label.status === "queued" ? "ok" : "info" });
  };

  const ship = async () => {
    if (!order) return;
    const r = await call<Schemas["Shipment"]>("/api/v1/shipments", { order } satisfies Schemas["OrderIn"]);
    if (!r) return;
    feedback("ok");
    setToast({ text: t("pack.shipped"), kind: "ok" });
    setOrder(null);
    setClosed([]);
    setToPack(null);
  };

  return (
    <Screen title={t("pack.title")} testId="packing">
      {!carton ? (
        <ScanField label={order ? t("pack.newCarton") : t("pack.scanOrder")} onScan={(raw) => newCarton(raw.trim())} testId="scan-input" />
      ) : (
        <ScanField label={t("pack.scanItem")} onScan={(raw) => packScan(raw)} testId="scan-input" />
      )}
      <Toast text={toast?.text ?? null} kind={toast?.kind ?? "info"} />
      {order && (
        <section class="card task" data-testid="pack-order">
          <p class="what">
            {t("pick.order")} {order}
          </p>
          {carton && (
            <p class="lot" data-testid="pack-sscc">
              SSCC {carton.sscc} · {carton.units}
            </p>
          )}
          {toPack !== null && (
            <p data-testid="pack-remaining">
              {t("pack.remaining")}: <strong>{toPack}</strong>
            </p>
          )}
          {closed.length > 0 && (
            <ul class="list" data-testid="pack-closed">
              {closed.map((s) => (
                <li key={s}>✓ {s}</li>
              ))}
            </ul>
          )}
        </section>
      )}
      {carton && (
        <button type="button" class="btn big" data-testid="pack-close" disabled={carton.units === 0} onClick={() => void closeCarton()}>
          {t("pack.closeCarton")}
        </button>
      )}
      {order && !carton && (
        <div class="row">
          <button type="button" class="btn" data-testid="pack-new" onClick={() => void newCarton(order)}>
            {t("pack.newCarton")}
          </button>
          <button type="button" class="btn primary" data-testid="pack-ship" disabled={closed.length === 0} onClick={() => void ship()}>
            {t("pack.ship")}
          </button>
        </div>
      )}
    </Screen>
  );
}
