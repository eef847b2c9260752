// Count: scan the location, then every unit (or box) of one item there, then send the count. udipick
// books the difference against the ledger and lifts the block a short pick put on the location. A count
// needs the server (it compares with the books at that moment), so it is not queued offline.
import { useState } from "preact/hooks";
import { OfflineError, post, ProblemError, uuid, type Schemas } from "../api";
import { feedback } from "../feedback";
import { t, useLang } from "../i18n";
import { ScanField } from "../scanner";
import { refuse, Screen, Toast } from "../ui";

interface Line {
  lot: string | null;
  serial: string | null;
  quantity: number;
}

const key = (l: { lot?: string | null; serial?: string | null }) => `${l.lot ?? ""}\u0000${l.serial ?? ""}`;

export function Count() {
  useLang();
  const [location, setLocation] = useState<{ raw: string; code: string } | null>(null);
  const [item, setItem] = useState<{ erpId: string; name: string } | null>(null);
  const [lines, setLines] = useState<Line[]>([]);
  const [toast, setToast] = useState<{ text: string; kind: "ok" | "queued" | "info" } | null>(null);
  const [sending, setSending] = useState(false);

  const restart = () => {
    setLocation(null);
    setItem(null);
    setLines([]);
  };

  const failed = (err: unknown) => {
    if (err instanceof ProblemError) refuse(err.problem);
    else if (err instanceof OfflineError) setToast({ text: t("count.offline"), kind: "info" });
    else throw err;
  };

  const onScan = async (raw: string) => {
    setToast(null);
    let scan: Schemas["ScanOut"];
    try {
      scan = await post<Schemas["ScanOut"]>("/api/v1/scans/interpret", { raw });
    } catch (err) {
      return failed(err);
    }
    if (!location) {
      if (!scan.location) return refuse({ title: t("count.notLocation"), status: 422, detail: t("count.scanLocation") });
      feedback("ok");
      setLocation({ raw, code: scan.location.code });
      return;
    }
    if (!scan.item) return refuse({ title: t("count.notItem"), status: 422, detail: t("count.scanUnits") });
    if (item && item.erpId !== scan.item.erpId) {
      return refuse({ title: t("count.oneItem", { item: item.name }), status: 409, detail: t("count.oneItemHint") });
    }
    feedback("ok");
    if (!item) setItem({ erpId: scan.item.erpId, name: scan.item.name });
    const units = scan.serial ? 1 : scan.item.units;
    setLines((prev) => {
      const k = key(scan);
      const found = prev.find((l) => key(l) === k);
      if (found && scan.serial) return prev; // a serial counts once, however often it is scanned
      return found
        ? prev.map((l) => (key(l) === k ? { ...l, quantity: l.quantity + units } : l))
        : [...prev, { lot: scan.lot ?? null, serial: scan.serial ?? null, quantity: units }];
    });
  };

  const send = async () => {
    if (!location || !item) return;
    setSending(true);
    try {
      const body = { clientScanId: uuid(), location: location.raw, item: item.erpId, lines } satisfies Schemas["CountIn"];
      const result = await post<Schemas["CountResult"]>("/api/v1/counts", body);
      feedback("ok");
      setToast({
        text: t("count.done", { location: result.location, adjusted: result.adjusted, cleared: result.blocksCleared }),
        kind: "ok",
      });
      restart();
    } catch (err) {
      failed(err);
    } finally {
      setSending(false);
    }
  };

  return (
    <Screen title={t("count.title")} testId="count">
      <ScanField label={location ? t("count.scanUnits") : t("count.scanLocation")} onScan={(raw) => onScan(raw)} />
      <Toast text={toast?.text ?? null} kind={toast?.kind ?? "info"} />
      {location && (
        <section class="card task" data-testid="count-sheet">
          <p class="where" data-testid="count-location">
            {location.code}
          </p>
          {item && <p class="what">{item.name}</p>}
          <ul class="list" data-testid="count-lines">
            {lines.map((l) => (
              <li key={key(l)}>
                {l.serial ? `${t("count.serial")} ${l.serial}` : `${t("count.lot")} ${l.lot ?? "—"}`} × <strong>{l.quantity}</strong>
              </li>
            ))}
          </ul>
          <div class="row">
            <button type="button" class="btn" data-testid="count-send" disabled={!item || sending} onClick={() => void send()}>
              {t("count.send")}
            </button>
            <button type="button" class="btn ghost" data-testid="count-restart" onClick={restart}>
              {t("common.cancel")}
            </button>
          </div>
        </section>
      )}
    </Screen>
  );
}
