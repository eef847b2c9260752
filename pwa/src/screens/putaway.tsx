// Putaway: scan the licence plate (or an item on it), see what is on it and what kind of location it
// needs (cold, quarantine, bonded), then scan the destination. udipick refuses a destination that
// does not fit; the refusal says where to go instead.
import { useEffect, useState } from "preact/hooks";
import { get, OfflineError, post, ProblemError, uuid, type Schemas } from "../api";
import { feedback } from "../feedback";
import { t, useLang, word } from "../i18n";
import type { Key } from "../messages";
import { submitScan } from "../queue";
import { ScanField } from "../scanner";
import { session } from "../session";
import { refuse, Screen, Toast } from "../ui";

type PutawayTask = Schemas["PutawayTaskView"];

export function Putaway() {
  useLang();
  const [tasks, setTasks] = useState<PutawayTask[] | null>(null);
  const [current, setCurrent] = useState<PutawayTask | null>(null);
  const [toast, setToast] = useState<{ text: string; kind: "ok" | "queued" | "info" } | null>(null);

  const load = () => get<PutawayTask[]>("/api/v1/putaway/tasks").then(setTasks, () => setTasks([]));
  useEffect(() => {
    void load();
  }, []);

  const identify = async (raw: string) => {
    try {
      const found = await post<PutawayTask[]>("/api/v1/putaway/identify", { raw } satisfies Schemas["PutawayIdentifyIn"]);
      feedback("ok");
      setCurrent(found[0] ?? null);
    } catch (err) {
      if (err instanceof ProblemError) refuse(err.problem);
      else if (err instanceof OfflineError) setToast({ text: t("lookup.offline"), kind: "info" });
      else throw err;
    }
  };

  const confirm = async (raw: string) => {
    if (!current) return;
    const clientScanId = uuid();
    const verdict = await submitScan<Schemas["PutawayDone"]>({
      clientScanId,
      method: "POST",
      path: `/api/v1/putaway/tasks/${current.id}/confirm`,
      body: { clientScanId, raw } satisfies Schemas["PutawayConfirmIn"],
      label: `${t("home.putaway")} · ${current.lpn ?? current.contents[0]?.item ?? ""} → ${raw}`,
      takenAt: new Date().toISOString(),
      username: session.get().user?.username ?? "",
    });
    if (verdict.kind === "refused") return refuse(verdict.problem);
    if (verdict.kind === "queued") {
      feedback("queued");
      setToast({ text: t("pick.queued"), kind: "queued" });
    } else {
      feedback("ok");
      setToast({ text: t("putaway.done", { location: verdict.body.to }), kind: "ok" });
    }
    setCurrent(null);
    void load();
  };

  return (
    <Screen title={t("putaway.title")} testId="putaway">
      <ScanField
        label={current ? t("putaway.scanDest") : t("putaway.scanSource")}
        onScan={(raw) => {
          setToast(null);
          void (current ? confirm(raw) : identify(raw));
        }}
      />
      <Toast text={toast?.text ?? null} kind={toast?.kind ?? "info"} />
      {current && (
        <section class="card task" data-testid="putaway-task">
          <p class="where">{current.lpn ?? `${current.from}`}</p>
          {current.needs && (
            <p class="what" data-testid="putaway-needs">
              → {t("putaway.needs", { needs: word("needs", current.needs) })}
            </p>
          )}
          {current.suggestion ? (
            <p class="what" data-testid="putaway-suggestion">
              {t("putaway.suggested")}: <strong>{current.suggestion.location}</strong>
              <br />
              <span class="muted" data-testid="putaway-reason">
                {t(`putaway.why.${current.suggestion.reason}` as Key)}
              </span>
            </p>
          ) : (
            current.status === "open" && <p class="muted">{t("putaway.nothingFits")}</p>
          )}
          <ul class="list">
            {current.contents.map((c, i) => (
              <li key={i}>
                <strong>{c.item}</strong> {c.lot ?? c.serial ?? ""} × {c.quantity} ({word("status", c.status)})
              </li>
            ))}
          </ul>
          <button type="button" class="btn" onClick={() => setCurrent(null)}>
            {t("common.cancel")}
          </button>
        </section>
      )}
      {!current && tasks && tasks.length === 0 && <p class="muted">{t("putaway.none")}</p>}
      {!current && tasks && tasks.length > 0 && (
        <ul class="list" data-testid="putaway-list">
          {tasks.map((x) => (
            <li key={x.id}>
              <button type="button" class="btn" onClick={() => setCurrent(x)}>
                <span>{x.lpn ?? x.from}</span>
                <span data-testid="putaway-list-to">
                  {x.contents.map((c) => c.item).join(", ")}{" "}
                  {x.to
                    ? `→ ${x.to}`
                    : x.suggestion
                      ? `→ ${t("putaway.suggested")}: ${x.suggestion.location}`
                      : x.needs
                        ? `→ ${t("putaway.needs", { needs: word("needs", x.needs) })}`
                        : ""}
                </span>
              </button>
            </li>
          ))}
        </ul>
      )}
    </Screen>
  );
}
