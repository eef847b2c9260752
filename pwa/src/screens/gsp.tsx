// GSP records (docs/gsp.md) for QA and supervisors: each record of a period printed (the server's
// A4-landscape page in Chinese) or downloaded as CSV. The API wants the bearer token, which a plain link
// cannot send, so the screen fetches the answer and hands it to the browser: the page in a new window,
// the CSV as a file.
import { useState } from "preact/hooks";
import { headers, type Problem } from "../api";
import { t, useLang } from "../i18n";
import type { Key } from "../messages";
import { refuse, Screen } from "../ui";

const RECORDS: { id: string; path: string; label: Key }[] = [
  { id: "receiving", path: "/api/v1/gsp/receiving-records", label: "gsp.receiving" },
  { id: "outbound", path: "/api/v1/gsp/outbound-reviews", label: "gsp.outbound" },
  { id: "temperatures", path: "/api/v1/gsp/temperatures", label: "gsp.temperatures" },
];

/** Today in China Standard Time, as YYYY-MM-DD (the records' days are Asia/Shanghai days). */
function shanghaiDay(offsetDays = 0): string {
  const d = new Date(Date.now() + 8 * 3600_000 + offsetDays * 86_400_000);
  return d.toISOString().slice(0, 10);
}

async function fetchRecord(url: string, accept: string): Promise<Blob | null> {
  let res: Response;
  try {
    res = await fetch(url, { headers: { ...headers(), Accept: accept } });
  } catch {
    refuse({ status: 0, detail: t("gsp.offline") });
    return null;
  }
  if (!res.ok) {
    refuse(await res.json().catch(() => ({ status: res.status }) as Problem));
    return null;
  }
  return res.blob();
}

export function Gsp() {
  useLang();
  const [from, setFrom] = useState(shanghaiDay(-29));
  const [to, setTo] = useState(shanghaiDay());
  const [location, setLocation] = useState("");
  const query = (id: string, format: string) =>
    `from=${from}&to=${to}&tz=Asia%2FShanghai&format=${format}` +
    (id === "temperatures" && location.trim() ? `&location=${encodeURIComponent(location.trim())}` : "");

  const print = async (id: string, path: string) => {
    // opened before the fetch, inside the tap: a window opened later is a pop-up a browser may block
    const win = window.open("", "_blank");
    const blob = await fetchRecord(`${path}?${query(id, "html")}`, "text/html");
    if (!blob) {
      win?.close();
      return;
    }
    const url = URL.createObjectURL(blob);
    if (win) win.location.href = url;
    else window.location.href = url;
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  };

  const csv = async (id: string, path: string) => {
    const blob = await fetchRecord(`${path}?${query(id, "csv")}`, "text/csv");
    if (!blob) return;
    const url = URL.createObjectURL(blob);
    const a = document.createElement("a");
    a.href = url;
    a.download = `udipick-gsp-${id}-${from}-${to}.csv`;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  };

  return (
    <Screen title={t("gsp.title")} testId="gsp">
      <p class="muted">{t("gsp.intro")}</p>
      <div class="form">
        <label>
          {t("gsp.from")}
          <input type="date" value={from} data-testid="gsp-from" onChange={(e) => setFrom((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          {t("gsp.to")}
          <input type="date" value={to} data-testid="gsp-to" onChange={(e) => setTo((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          {t("gsp.location")}
          <input value={location} data-testid="gsp-location" onInput={(e) => setLocation((e.target as HTMLInputElement).value)} />
        </label>
      </div>
      {RECORDS.map((r) => (
        <section key={r.id} class="card" data-testid={`gsp-${r.id}`}>
          <h2>{t(r.label)}</h2>
          <div class="row">
            <button type="button" class="btn" data-testid={`gsp-print-${r.id}`} onClick={() => void print(r.id, r.path)}>
              {t("gsp.print")}
            </button>
            <button type="button" class="btn ghost" data-testid={`gsp-csv-${r.id}`} onClick={() => void csv(r.id, r.path)}>
              {t("gsp.csv")}
            </button>
          </div>
        </section>
      ))}
    </Screen>
  );
}
