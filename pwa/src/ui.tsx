// Shared pieces of every screen: the full-screen refusal, the "n scans waiting" bar, headers.
import type { ComponentChildren } from "preact";
import { useEffect, useRef } from "preact/hooks";
import type { Problem } from "./api";
import { feedback } from "./feedback";
import { sayProblem, setLang, t, useLang } from "./i18n";
import { sync } from "./queue";
import { Store, useStore } from "./store";
import { go } from "./router";

/** A way forward a refusal may offer besides "understood" (e.g. a supervisor's override). */
export interface RefusalAction {
  label: string;
  testId: string;
  run: () => void;
}

/** A scan taken offline and refused when the queue replayed it: the picker has moved on, and the unit
 * is already in the tote (or carton, or on the shelf), so the refusal says what to do with it. */
export interface ReplayedRefusal {
  /** what the queue listed it as: "A-01-02 · SYR-10ML · SO-5001" */
  label: string;
  takenAt: string;
  /** a pick scan: the unit went into the tote */
  pick: boolean;
}

interface Refusal {
  problem: Problem;
  action?: RefusalAction;
  replay?: ReplayedRefusal;
}

/** The refusal on screen, the ones waiting behind it (several queued scans refused on one replay), and
 * how many scans are held until it is acknowledged (`held`, counted by the scan field). */
export const refusal = new Store<{ problem: Problem | null; action?: RefusalAction; replay?: ReplayedRefusal; held: number }>({
  problem: null,
  held: 0,
});
const behind: Refusal[] = [];

/** Show a refusal full screen, with its sound and vibration. One already on screen stays until it is
 * acknowledged; this one waits behind it. */
export function refuse(problem: Problem, action?: RefusalAction, replay?: ReplayedRefusal): void {
  feedback("refused");
  if (refusal.get().problem) behind.push({ problem, action, replay });
  else refusal.update({ problem, action, replay });
}

/** "OK, understood": the next refusal waiting behind, or none (then held scans are judged). */
export function acknowledge(): void {
  const next = behind.shift();
  refusal.update({ problem: next?.problem ?? null, action: next?.action, replay: next?.replay });
}

/** Resolves once no refusal is on screen: a scan taken meanwhile waits here, then is judged. */
export function refusalCleared(): Promise<void> {
  if (!refusal.get().problem) return Promise.resolve();
  return new Promise((resolve) => {
    const off = refusal.subscribe(() => {
      if (!refusal.get().problem) {
        off();
        resolve();
      }
    });
  });
}

/** What to do with a unit whose pick was refused after it went into the tote, by refusal code. */
const INTO_QUARANTINE = new Set(["lot-expired", "lot-recalled", "serial-recalled", "stock-on-hold", "lot-quarantined", "serial-already-shipped", "location-under-count"]);
const BACK_ON_SHELF = new Set(["fefo-violation", "wrong-lot", "wrong-item", "over-pick", "lot-not-at-location", "shelf-life-too-short", "task-not-open", "task-cancelled", "order-not-released", "location-frozen", "wrong-location", "tote-required"]);

export function replayTodo(problem: Problem, replay: ReplayedRefusal): string {
  const code = problem.code ?? "";
  if (!replay.pick) return t("replay.check");
  if (INTO_QUARANTINE.has(code)) return t("replay.toQuarantine");
  if (BACK_ON_SHELF.has(code)) return t("replay.putBack");
  return t("replay.aside");
}

export function RefusalScreen() {
  const { problem, action, replay, held } = useStore(refusal);
  useLang();
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    // a refusal long enough to scroll (one after replay) starts at its top, also when it follows another
    if (box.current) box.current.scrollTop = 0;
  }, [problem]);
  if (!problem) return null;
  const said = sayProblem(problem);
  // No button takes the focus: a keyboard-wedge scan's Enter must never press "OK, understood" (the scan
  // field keeps the keys and holds the scan until the refusal is acknowledged by a tap).
  return (
    <div
      ref={box}
      class={replay ? "refusal replayed" : "refusal"}
      role="alertdialog"
      aria-live="assertive"
      data-testid="refusal"
      data-code={problem.code ?? ""}
      data-replayed={replay ? "true" : undefined}
    >
      <div class="refusal-icon" aria-hidden="true">
        ✕
      </div>
      {replay && (
        <p class="refusal-replay" data-testid="refusal-replay">
          {t("replay.taken", { time: new Date(replay.takenAt).toLocaleTimeString(), label: replay.label })}
        </p>
      )}
      {replay && (
        <p class="refusal-todo refusal-unit" data-testid="refusal-unit">
          {replayTodo(problem, replay)}
        </p>
      )}
      <h1 class="refusal-headline" data-testid="refusal-headline">
        {said.headline}
      </h1>
      {said.todo && (
        <p class="refusal-todo" data-testid="refusal-todo">
          {said.todo}
        </p>
      )}
      {held > 0 && (
        <p class="refusal-held" data-testid="refusal-held">
          {t("refusal.held", { n: held })}
        </p>
      )}
      <button type="button" class="btn big light" data-testid="refusal-ok" tabIndex={-1} onClick={acknowledge}>
        {t("common.understood")}
      </button>
      {action && (
        <button
          type="button"
          class="btn big ghost on-bad"
          data-testid={action.testId}
          tabIndex={-1}
          onClick={() => {
            acknowledge();
            action.run();
          }}
        >
          {action.label}
        </button>
      )}
    </div>
  );
}

export function SyncBar() {
  const s = useStore(sync);
  useLang();
  if (!s.waiting && !s.exceptions && s.online) return null;
  return (
    <div class={s.online ? "syncbar" : "syncbar offline"} data-testid="syncbar">
      {!s.online && <span data-testid="offline">{t("sync.offline")}</span>}
      {s.waiting > 0 && <span data-testid="waiting">{t("sync.waiting", { n: s.waiting })}</span>}
      {s.exceptions > 0 && (
        <button type="button" class="link" data-testid="exceptions-link" onClick={() => go("exceptions")}>
          {t("sync.exceptions", { n: s.exceptions })}
        </button>
      )}
    </div>
  );
}

export function LangSwitch() {
  const l = useLang();
  return (
    <button
      type="button"
      class="btn ghost lang"
      data-testid="lang-switch"
      // the accessible name starts with what the button shows (WCAG 2.5.3), in the language it switches to
      aria-label={`${l === "en" ? "中文" : "EN"} · ${t("common.language")}`}
      onClick={() => setLang(l === "en" ? "zh-CN" : "en")}
    >
      <span lang={l === "en" ? "zh-CN" : "en"}>{l === "en" ? "中文" : "EN"}</span>
    </button>
  );
}

export function Screen({ title, back = "home", children, testId }: { title: string; back?: string | null; children: ComponentChildren; testId: string }) {
  return (
    <main class="screen" data-testid={testId}>
      <header class="bar">
        {back !== null ? (
          <button type="button" class="btn ghost back" aria-label={t("common.back")} onClick={() => go(back)} data-testid="back">
            ←
          </button>
        ) : (
          <span class="brand">udipick</span>
        )}
        <h1 class="title">{title}</h1>
        <LangSwitch />
      </header>
      <SyncBar />
      <div class="content">{children}</div>
    </main>
  );
}

/** A bar filled as far as `done` of `total` (a line's received of ordered, a wave's picked of all). */
export function Progress({ done, total, label, testId = "progress" }: { done: number; total: number; label?: string; testId?: string }) {
  const pct = total > 0 ? Math.min(100, Math.round((done / total) * 100)) : 0;
  return (
    <div
      class="progress"
      role="progressbar"
      aria-label={label ?? t("common.progress")}
      aria-valuemin={0}
      aria-valuenow={done}
      aria-valuemax={total}
      data-testid={testId}
      data-pct={pct}
    >
      <div class="progress-fill" style={{ width: `${pct}%` }} />
      <span class="progress-text">
        {done} / {total}
      </span>
    </div>
  );
}

export function Toast({ text, kind }: { text: string | null; kind: "ok" | "warning" | "queued" | "info" }) {
  if (!text) return null;
  return (
    <div class={`toast ${kind}`} role="status" data-testid="toast">
      {text}
    </div>
  );
}

/** The answer to the last scan and the screen's main actions, kept at the bottom of the screen: on a
 * 360×640 handheld a long task card would otherwise push them below the fold after every scan. */
export function Dock({ children }: { children: ComponentChildren }) {
  return (
    <div class="dock" data-testid="dock">
      {children}
    </div>
  );
}

/** A form over the screen, as a modal dialog: it fills the screen, its first field has the focus, and
 * the screen beneath is inert (not tappable, not reachable by Tab) until it closes. Esc or the back
 * gesture cancels. */
export function Modal({ children, onCancel, label }: { children: ComponentChildren; onCancel: () => void; label: string }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (!d.open) d.showModal();
    d.scrollTop = 0;
    d.querySelector<HTMLElement>("input:not([type=hidden]), select, textarea")?.focus();
    return () => {
      if (d.open) d.close();
    };
  }, []);
  return (
    <dialog
      ref={ref}
      class="modal"
      aria-label={label}
      onCancel={(e) => {
        e.preventDefault();
        onCancel();
      }}
    >
      {children}
    </dialog>
  );
}

/** What an electronic signature means, shown where it is given (21 CFR Part 11 §11.50: the signer's
 * name, the time and the meaning are part of the signed record, so the signer sees them first). */
export function SignMeaning({ meaning, signer }: { meaning: string; signer?: string }) {
  return (
    <div class="sign-meaning" data-testid="sign-meaning">
      <span>{t("sign.meaning")}</span>
      <strong>{meaning}</strong>
      {signer && <span data-testid="sign-signer">{t("sign.signer", { name: signer })}</span>}
      <p class="muted">{t("sign.notice")}</p>
    </div>
  );
}
