// Move: scan the source (a location or a licence plate), the goods (each with its quantity; a lot-tracked
// item counted by hand takes a typed count), then the destination (a location, or a plate to put them
// on). A plate scanned as source with no goods moves whole; onto another plate that is a merge.
// udipick keeps the status (quarantine stays quarantine) and refuses a destination that does not fit,
// blocked or expired stock and units promised to a pick; the refusal says why. Queued offline like
// every handheld write (one clientScanId per move).
import { useState } from "preact/hooks";
import { OfflineError, post, ProblemError, uuid, type Schemas } from "../api";
import { feedback } from "../feedback";
import { t, useLang } from "../i18n";
import { submitScan } from "../queue";
import { ScanField } from "../scanner";
import { session } from "../session";
import { refuse, Screen, Toast } from "../ui";

interface Unit {
  raw: string;
  item: string;
  lot: string | null;
  serial: string | null;
  quantity: number;
  /** a lot-tracked, not serialised item: the count may be typed */
  counted: boolean;
}

const PLATE_KINDS = ["lpn", "tote", "sscc"];

export function Move() {
  useLang();
  const [source, setSource] = useState<{ raw: string; label: string; plate: boolean } | null>(null);
  const [units, setUnits] = useState<Unit[]>([]);
  const [toast, setToast] = useState<{ text: string; kind: "ok" | "queued" | "info" } | null>(null);

  const restart = () => {
    setSource(null);
    setUnits([]);
  };

  const send = async (destination: string) => {
    if (!source) return;
    const clientScanId = uuid();
    const body = {
      clientScanId,
      from: source.raw,
      to: destination,
      units: units.map((u) => ({ raw: u.raw, quantity: u.quantity })),
    } satisfies Schemas["MoveIn"];
    const verdict = await submitScan<Schemas["MoveDone"]>({
      clientScanId,
      method: "POST",
      path: "/api/v1/moves",
      body,
      label: `${t("home.move")} · ${source.label} → ${destination}`,
      takenAt: new Date().toISOString(),
      username: session.get().user?.username ?? "",
    });
    if (verdict.kind === "refused") return refuse(verdict.problem);
    if (verdict.kind === "queued") {
      feedback("queued");
      setToast({ text: t("move.queued"), kind: "queued" });
    } else {
      feedback("ok");
      setToast({ text: t("move.done", { location: verdict.body.toLpn ?? verdict.body.toLocation }), kind: "ok" });
    }
    restart();
  };

  const onScan = async (raw: string) => {
    setToast(null);
    let scan: Schemas["ScanOut"];
    try {
      scan = await post<Schemas["ScanOut"]>("/api/v1/scans/interpret", { raw });
    } catch (err) {
      if (err instanceof ProblemError) return refuse(err.problem);
      if (err instanceof OfflineError) return setToast({ text: t("lookup.offline"), kind: "info" });
      throw err;
    }
    const place = scan.location ? scan.location.code : PLATE_KINDS.includes(scan.kind) ? raw.trim() : null;
    if (!source) {
      if (!place) return refuse({ title: t("move.notSource"), status: 422, detail: t("move.scanSource") });
      feedback("ok");
      setSource({ raw, label: place, plate: !scan.location });
      return;
    }
    if (place) return void send(raw);
    if (!scan.item) return refuse({ title: t("count.notItem"), status: 422, detail: t("move.scanUnits") });
    feedback("ok");
    const item = scan.item;
    setUnits((prev) => [
      ...prev,
      {
        raw,
        item: item.name,
        lot: scan.lot ?? null,
        serial: scan.serial ?? null,
        quantity: scan.serial ? 1 : item.units,
        counted: item.lotTracked && !item.serialTracked,
      },
    ]);
  };

  const setQuantity = (i: number, value: string) => {
    const n = Number.parseInt(value, 10);
    setUnits((prev) => prev.map((u, j) => (j === i ? { ...u, quantity: Number.isFinite(n) && n > 0 ? n : u.quantity } : u)));
  };

  const label = !source ? t("move.scanSource") : source.plate && units.length === 0 ? t("move.scanUnitsPlate") : t("move.scanUnits");
  return (
    <Screen title={t("move.title")} testId="move">
      <ScanField label={label} onScan={(raw) => onScan(raw)} />
      <Toast text={toast?.text ?? null} kind={toast?.kind ?? "info"} />
      {source && (
        <section class="card task" data-testid="move-sheet">
          <p class="what" data-testid="move-source">
            {t("move.from")} {source.label}
          </p>
          {source.plate && units.length === 0 && (
            <p class="what" data-testid="move-whole">
              {t("move.wholePlate")}
            </p>
          )}
          <ul class="list" data-testid="move-units">
            {units.map((u, i) => (
              <li key={i}>
                <strong>{u.item}</strong> {u.serial ? `${t("count.serial")} ${u.serial}` : `${t("count.lot")} ${u.lot ?? "—"}`} ×{" "}
                {u.counted ? (
                  <input
                    type="number"
                    class="move-qty"
                    inputMode="numeric"
                    min={1}
                    aria-label={t("move.quantity")}
                    data-testid={`move-qty-${i}`}
                    value={u.quantity}
                    onChange={(e) => setQuantity(i, (e.target as HTMLInputElement).value)}
                  />
                ) : (
                  <strong>{u.quantity}</strong>
                )}
              </li>
            ))}
          </ul>
          <button type="button" class="btn ghost" data-testid="move-restart" onClick={restart}>
            {t("common.cancel")}
          </button>
        </section>
      )}
    </Screen>
  );
}
