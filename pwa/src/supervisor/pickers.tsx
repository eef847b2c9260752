// The picker board, from the live feed only (GET /api/v1/live): each picker's current task (the task of
// their last scan), the last scan and its verdict, the rate (distinct order lines in the last 15 minutes,
// times 4), and the handhelds that are offline with scans waiting in their queue.
import { useLang } from "../i18n";
import { Chip, when } from "./common";
import { LiveChip } from "./livechip";
import { useLive, type Picker } from "./live";
import { st } from "./messages";

const VERDICT = { accepted: "ok", refused: "bad", short: "warn" } as const;

export function PickersSection() {
  useLang();
  const s = useLive();
  const pickers = Object.values(s.pickers).sort((a, b) => b.lastScanAt.localeCompare(a.lastScanAt));
  return (
    <div class="sup-stack" data-testid="pickers">
      <div class="sup-toolbar">
        <p class="muted sup-grow">{st("pickers.intro")}</p>
        <LiveChip />
      </div>
      {s.status === "live" && pickers.length === 0 && (
        <p class="muted" data-testid="pickers-none">
          {st("pickers.none")}
        </p>
      )}
      <ul class="sup-cards">
        {pickers.map((p) => (
          <PickerCard key={p.user} picker={p} />
        ))}
      </ul>
      <h2 class="sup-h3">{st("pickers.devicesTitle")}</h2>
      {s.devices.length === 0 ? (
        <p class="muted" data-testid="devices-none">
          {st("pickers.noDevices")}
        </p>
      ) : (
        <table class="sup-table" data-testid="devices">
          <thead>
            <tr>
              <th>{st("pickers.device")}</th>
              <th>{st("pickers.user")}</th>
              <th>{st("pickers.queued")}</th>
              <th>{st("pickers.reported")}</th>
            </tr>
          </thead>
          <tbody>
            {s.devices.map((d) => (
              <tr key={d.device} data-testid="device" data-device={d.device}>
                <td>
                  {d.device} <Chip kind={d.online ? "warn" : "bad"}>{d.online ? st("pickers.silent") : st("pickers.offline")}</Chip>
                </td>
                <td>{d.user ?? "—"}</td>
                <td data-testid="device-queued">{d.queued}</td>
                <td>{when(d.reportedAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

function PickerCard({ picker: p }: { picker: Picker }) {
  const code = p.lastVerdict === "refused" ? p.lastCode : null;
  return (
    <li class="card" data-testid="picker" data-user={p.user}>
      <h3 class="card-title sup-title-row">
        <span>{p.user}</span>
        <Chip kind={VERDICT[p.lastVerdict]} testId="picker-verdict">
          {st(`pickers.${p.lastVerdict}`)}
        </Chip>
      </h3>
      <dl class="facts">
        <dt>{st("pickers.task")}</dt>
        <dd data-testid="picker-task">
          {p.currentTask ? st("pickers.taskAt", { task: p.currentTask.taskId, order: p.currentTask.order ?? "—", location: p.currentTask.location ?? "—" }) : "—"}
        </dd>
        <dt>{st("pickers.lastScan")}</dt>
        <dd data-testid="picker-last-scan">{when(p.lastScanAt)}</dd>
        {code && (
          <>
            <dt>{st("pickers.refusal")}</dt>
            <dd data-testid="picker-code" data-code={p.lastCode}>
              <code>{code}</code>
            </dd>
          </>
        )}
        <dt>{st("pickers.rate")}</dt>
        <dd data-testid="picker-rate">{st("pickers.perHour", { n: p.linesPerHour })}</dd>
        <dt>{st("pickers.device")}</dt>
        <dd>{p.device ?? "—"}</dd>
      </dl>
    </li>
  );
}
