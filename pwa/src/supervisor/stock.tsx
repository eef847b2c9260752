// The one true view of stock (GET /api/v1/stock): units per group and status, grouped by any of warehouse,
// item, lot, expiry bucket, location type and status, filtered by the same. Statuses and buckets are the
// server's (domain/stock_view.py); this screen only chooses and shows.
import { useState } from "preact/hooks";
import type { Schemas } from "../api";
import { useLang } from "../i18n";
import { LoadState, useLoad } from "./common";
import { st, type SupKey } from "./messages";

type View = Schemas["StockView"];
type Group = View["groups"][number];

const KEYS = ["warehouse", "item", "lot", "expiry_bucket", "location_type", "status"] as const;
type Key = (typeof KEYS)[number];
const STATUSES = [
  "available", "allocated", "picked", "packed", "quarantine", "hold", "recalled", "expired", "bonded", "damaged", "rejected",
  "in_transit",
] as const;
const LOCATION_TYPES = ["pick", "reserve", "cold", "bonded", "quarantine", "receiving", "shipping"] as const;

export function StockSection() {
  useLang();
  const [groupBy, setGroupBy] = useState<Key[]>(["lot", "expiry_bucket"]);
  const [filters, setFilters] = useState({ warehouse: "", item: "", lot: "", locationType: "", status: "", expiryBefore: "", expiryAfter: "" });
  const [applied, setApplied] = useState(filters);
  const q = new URLSearchParams();
  for (const k of groupBy) q.append("groupBy", k);
  for (const [k, v] of Object.entries(applied)) if (v) q.set(k, v);
  const view = useLoad<View>(`/api/v1/stock?${q.toString()}`);
  const toggle = (k: Key) => setGroupBy((g) => (g.includes(k) ? g.filter((x) => x !== k) : KEYS.filter((x) => x === k || g.includes(x))));
  const field = (name: keyof typeof filters, label: SupKey, type: "text" | "date" = "text") => (
    <label>
      {st(label)}
      {type === "date" ? (
        <input type="date" data-testid={`stock-filter-${name}`} value={filters[name]} onInput={(e) => setFilters({ ...filters, [name]: (e.target as HTMLInputElement).value })} />
      ) : (
        <input type="text" data-testid={`stock-filter-${name}`} value={filters[name]} onInput={(e) => setFilters({ ...filters, [name]: (e.target as HTMLInputElement).value })} />
      )}
    </label>
  );
  const select = (name: "status" | "locationType", label: SupKey, options: readonly string[], word: (o: string) => string) => (
    <label>
      {st(label)}
      <select data-testid={`stock-filter-${name}`} value={filters[name]} onChange={(e) => setFilters({ ...filters, [name]: (e.target as HTMLSelectElement).value })}>
        <option value="">{st("stock.any")}</option>
        {options.map((o) => (
          <option key={o} value={o}>
            {word(o)}
          </option>
        ))}
      </select>
    </label>
  );
  const shown = KEYS.filter((k) => view.data?.groupBy.includes(k));
  return (
    <div class="sup-cols">
      <form
        class="card form sup-stack"
        data-testid="stock-filters"
        onSubmit={(e) => {
          e.preventDefault();
          setApplied(filters);
        }}
      >
        <h2 class="card-title">{st("stock.groupBy")}</h2>
        <div class="segments" role="group" data-testid="stock-group">
          {KEYS.map((k) => (
            <button type="button" key={k} class={groupBy.includes(k) ? "btn selected" : "btn"} aria-pressed={groupBy.includes(k)} data-testid={`stock-group-${k}`} onClick={() => toggle(k)}>
              {st(`stock.key.${k}`)}
            </button>
          ))}
        </div>
        <h2 class="card-title">{st("stock.filters")}</h2>
        {field("warehouse", "stock.key.warehouse")}
        {field("item", "stock.key.item")}
        {field("lot", "stock.key.lot")}
        {select("locationType", "stock.key.location_type", LOCATION_TYPES, (o) => st(`stock.loc.${o}` as SupKey))}
        {select("status", "stock.key.status", STATUSES, (o) => st(`stock.status.${o}` as SupKey))}
        {field("expiryAfter", "stock.expiryAfter", "date")}
        {field("expiryBefore", "stock.expiryBefore", "date")}
        <button type="submit" class="btn primary" data-testid="stock-apply">
          {st("stock.apply")}
        </button>
      </form>
      <section class="sup-stack" data-testid="stock-view">
        <LoadState loaded={view} testId="stock-problem" />
        {view.data && (
          <>
            <ul class="sup-chips" data-testid="stock-totals">
              {STATUSES.filter((s) => view.data!.totals[s]).map((s) => (
                <li key={s} class="chip info" data-testid={`stock-total-${s}`} data-quantity={view.data!.totals[s]}>
                  {st(`stock.status.${s}`)}: {view.data!.totals[s]}
                </li>
              ))}
            </ul>
            {view.data.truncated && <p class="warn">{st("stock.truncated", { n: view.data.groups.length })}</p>}
            {view.data.groups.length === 0 ? (
              <p class="muted" data-testid="stock-none">
                {st("stock.none")}
              </p>
            ) : (
              <table class="sup-table" data-testid="stock-groups">
                <thead>
                  <tr>
                    {shown.map((k) => (
                      <th key={k}>{st(`stock.key.${k}`)}</th>
                    ))}
                    <th>{st("stock.quantity")}</th>
                  </tr>
                </thead>
                <tbody>
                  {view.data.groups.map((g, i) => (
                    <tr key={i} data-testid="stock-group-row">
                      {shown.map((k) => (
                        <td key={k} data-key={k}>
                          {cell(g, k)}
                        </td>
                      ))}
                      <td data-testid="stock-quantity">{g.quantity}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </>
        )}
      </section>
    </div>
  );
}

function cell(g: Group, k: Key): string {
  switch (k) {
    case "lot":
      return g.lot ? `${g.lot}${g.expiry ? ` (${g.expiry})` : ""}` : "—";
    case "item":
      return g.item ?? "—";
    case "warehouse":
      return g.warehouse ?? "—";
    case "expiry_bucket":
      return g.expiryBucket ? st(`stock.bucket.${g.expiryBucket}` as SupKey) : "—";
    case "location_type":
      return g.locationType ? st(`stock.loc.${g.locationType}` as SupKey) : "—";
    case "status":
      return g.status ? st(`stock.status.${g.status}` as SupKey) : "—";
  }
}
