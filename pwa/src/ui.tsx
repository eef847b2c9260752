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

export const refusal = new Store<{ problem: Problem | null; action?: RefusalAction }>({ problem: null });

/** Show a refusal full screen, with its sound and vibration. */
export function refuse(problem: Problem, action?: RefusalAction): void {
  feedback("refused");
  refusal.set({ problem, action });
}

export function RefusalScreen() {
  const { problem, action } = useStore(refusal);
  useLang();
  const button = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (problem) button.current?.focus();
  }, [problem]);
  if (!problem) return null;
  const said = sayProblem(problem);
  return (
    <div class="refusal" role="alertdialog" aria-live="assertive" data-testid="refusal" data-code={problem.code ?? ""}>
      <div class="refusal-icon" aria-hidden="true">
        ✕
      </div>
      <h1 class="refusal-headline" data-testid="refusal-headline">
        {said.headline}
      </h1>
      {said.todo && (
        <p class="refusal-todo" data-testid="refusal-todo">
          {said.todo}
        </p>
      )}
      <button ref={button} type="button" class="btn big light" data-testid="refusal-ok" onClick={() => refusal.set({ problem: null })}>
        {t("common.understood")}
      </button>
      {action && (
        <button
          type="button"
          class="btn big ghost on-bad"
          data-testid={action.testId}
          onClick={() => {
            refusal.set({ problem: null });
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
      aria-label={t("common.language")}
      onClick={() => setLang(l === "en" ? "zh-CN" : "en")}
    >
      {l === "en" ? "中文" : "EN"}
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
      aria-label={label}
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

export function Toast({ text, kind }: { text: string | null; kind: "ok" | "queued" | "info" }) {
  if (!text) return null;
  return (
    <div class={`toast ${kind}`} role="status" data-testid="toast">
      {text}
    </div>
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
