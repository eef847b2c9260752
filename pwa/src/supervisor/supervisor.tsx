// The supervisor area: one lazily loaded chunk (app.tsx imports it on first visit, lazy.tsx), so a picker's
// handheld never downloads it. On a tablet (1024×768) or a desktop the sections sit in a side
// navigation next to the open one; on a handheld they become a row of tabs under the header.
//
// A section is listed only when the server offers every operation it calls (capabilities.ts) and the
// section has a screen in this build. The wave board, picker board and exception queue follow the live
// floor view (live.ts, one WebSocket while any of them is open); the KPI page loads its chart library
// as a chunk of its own (kpichart.ts).
import type { FunctionComponent } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { t, useLang } from "../i18n";
import { go } from "../router";
import { LangSwitch, SyncBar } from "../ui";
import { offers, serverOperations, type Operation } from "./capabilities";
import { CountsSection } from "./counts";
import { ExceptionsSection } from "./exceptions";
import { HoldsSection } from "./holds";
import { KpisSection } from "./kpis";
import { PickersSection } from "./pickers";
import { PrintJobsSection } from "./printjobs";
import { ReleaseSection } from "./release";
import { ReplenishmentSection } from "./replenishment";
import { st, type SupKey } from "./messages";
import { StockSection } from "./stock";
import { WavesSection } from "./waves";
import "./supervisor.css";

export interface Section {
  id: string;
  label: SupKey;
  icon: string;
  /** every operation the screen calls; the entry is hidden unless the server lists them all */
  needs: readonly Operation[];
  /** the screen; absent while the server side is not built yet */
  screen?: FunctionComponent;
}

export const SECTIONS: readonly Section[] = [
  {
    id: "waves",
    label: "sup.waveBoard",
    icon: "▦",
    needs: [
      "GET /api/v1/waves",
      "GET /api/v1/waves/{wave_id}",
      "POST /api/v1/waves/{wave_id}/cancel",
      "POST /api/v1/waves/{wave_id}/priority",
      "POST /api/v1/orders/{order}/cancel",
      "POST /api/v1/orders/{order}/lines/{line_no}/cancel",
    ],
    screen: WavesSection,
  },
  // the live WebSocket (GET /api/v1/live) is not in the OpenAPI document; it came with the wave list and
  // the exception queue, so a server that lists both has it
  { id: "pickers", label: "sup.pickerBoard", icon: "☺", needs: ["GET /api/v1/waves", "GET /api/v1/exceptions"], screen: PickersSection },
  {
    id: "exceptions",
    label: "sup.exceptions",
    icon: "⚠",
    needs: ["GET /api/v1/exceptions", "POST /api/v1/exceptions/{exception_id}/resolve"],
    screen: ExceptionsSection,
  },
  { id: "kpis", label: "sup.kpis", icon: "∿", needs: ["GET /api/v1/kpis"], screen: KpisSection },
  { id: "release", label: "sup.release", icon: "⇉", needs: ["POST /api/v1/waves"], screen: ReleaseSection },
  {
    id: "holds",
    label: "sup.holds",
    icon: "⊘",
    needs: ["GET /api/v1/holds", "POST /api/v1/holds", "POST /api/v1/holds/{hold_id}/release"],
    screen: HoldsSection,
  },
  {
    id: "print-jobs",
    label: "sup.printJobs",
    icon: "▤",
    needs: ["GET /api/v1/print-jobs", "POST /api/v1/print-jobs/{job_id}/retry", "POST /api/v1/print-jobs/{job_id}/reprint"],
    screen: PrintJobsSection,
  },
  {
    id: "replenishment",
    label: "sup.replenishment",
    icon: "⇅",
    needs: ["GET /api/v1/replenishment/tasks", "POST /api/v1/replenishment/plan", "POST /api/v1/replenishment/tasks/{task_id}/cancel"],
    screen: ReplenishmentSection,
  },
  {
    id: "counts",
    label: "sup.counts",
    icon: "#",
    needs: [
      "GET /api/v1/count-tasks",
      "POST /api/v1/count-tasks",
      "POST /api/v1/count-tasks/schedule",
      "POST /api/v1/count-tasks/lines/{line_id}/approve",
    ],
    screen: CountsSection,
  },
  { id: "stock", label: "sup.stock", icon: "▥", needs: ["GET /api/v1/stock"], screen: StockSection },
];

export function SupervisorArea({ args }: { args: string[] }) {
  useLang();
  const [ops, setOps] = useState<Set<string> | null>(null);
  const [failed, setFailed] = useState(false);
  const load = () => {
    setFailed(false);
    serverOperations().then(setOps, () => setFailed(true));
  };
  useEffect(load, []);
  const offered = ops ? SECTIONS.filter((s) => s.screen && offers(ops, s.needs)) : [];
  const current = offered.find((s) => s.id === args[0]) ?? offered[0];
  const Current = current?.screen;
  const nav = useRef<HTMLElement>(null);
  // on a handheld the tabs scroll sideways: keep the open one in sight
  useEffect(() => nav.current?.querySelector("[aria-current=page]")?.scrollIntoView?.({ block: "nearest", inline: "nearest" }), [current?.id]);
  return (
    <main class="screen sup" data-testid="supervisor">
      <header class="bar">
        <button type="button" class="btn ghost back" aria-label={t("common.back")} onClick={() => go("home")} data-testid="back">
          ←
        </button>
        <h1 class="title">
          {t("sup.title")}
          {current && <span class="sup-crumb"> · {st(current.label)}</span>}
        </h1>
        <LangSwitch />
      </header>
      <SyncBar />
      <div class="sup-body">
        <nav ref={nav} class="sup-nav" aria-label={st("sup.nav")} data-testid="sup-nav">
          {offered.map((s) => (
            <button
              type="button"
              key={s.id}
              class="btn sup-entry"
              aria-current={s === current ? "page" : undefined}
              data-testid={`sup-nav-${s.id}`}
              onClick={() => go("sup", s.id)}
            >
              <span class="sup-icon" aria-hidden="true">
                {s.icon}
              </span>
              {st(s.label)}
            </button>
          ))}
        </nav>
        <div class="sup-main" data-testid={current ? `sup-section-${current.id}` : "sup-section"}>
          {failed && (
            <div class="warn" role="alert" data-testid="sup-capabilities-failed">
              {st("sup.capabilitiesFailed")}{" "}
              <button type="button" class="link" onClick={load}>
                {t("common.retry")}
              </button>
            </div>
          )}
          {!ops && !failed && <p class="muted">{t("common.loading")}</p>}
          {Current && <Current key={current.id} />}
        </div>
      </div>
    </main>
  );
}
