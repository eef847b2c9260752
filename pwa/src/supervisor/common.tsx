// Pieces shared by the supervisor sections: loading a list from udipick, a refusal shown in place
// (a supervisor at a desk reads the server's detail next to the translated headline, instead of the
// handheld's full-screen alarm), and a small status chip.
import type { ComponentChildren } from "preact";
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { get, OfflineError, ProblemError, type Problem } from "../api";
import { sayProblem, t, useLang } from "../i18n";
import { st } from "./messages";

export type Loaded<T> = { data: T | null; problem: Problem | null; offline: boolean; reload: () => Promise<void> };

/** GET `path` now and whenever `reload` is called; a refusal or a lost connection is kept, not thrown. */
export function useLoad<T>(path: string): Loaded<T> {
  const [data, setData] = useState<T | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [offline, setOffline] = useState(false);
  // the answer of the latest request only: a slow answer for an earlier path (the 30 days the page opened
  // with) must not replace the one for the path chosen since (the last 7 days)
  const latest = useRef(0);
  const reload = useCallback(async () => {
    const mine = ++latest.current;
    try {
      const answer = await get<T>(path);
      if (mine !== latest.current) return;
      setData(answer);
      setProblem(null);
      setOffline(false);
    } catch (err) {
      if (mine !== latest.current) return;
      if (err instanceof OfflineError) setOffline(true);
      else if (err instanceof ProblemError) setProblem(err.problem);
      else throw err;
    }
  }, [path]);
  useEffect(() => {
    void reload();
  }, [reload]);
  return { data, problem, offline, reload };
}

/** Run a request; its refusal (or a lost connection) becomes the problem shown in the form. */
export async function attempt<T>(run: () => Promise<T>, onProblem: (p: Problem) => void): Promise<T | null> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof OfflineError) onProblem({ status: 0, detail: st("sup.offline") });
    else if (err instanceof ProblemError) onProblem(err.problem);
    else throw err;
    return null;
  }
}

/** A refusal in place: what the action was, the translated headline and what to do, and the server's own detail. */
export function ProblemBox({ problem, title, testId }: { problem: Problem | null; title?: string; testId: string }) {
  useLang();
  if (!problem) return null;
  const said = sayProblem(problem);
  const detail = problem.detail && problem.detail !== said.headline ? problem.detail : null;
  return (
    <div class="error" role="alert" data-testid={testId} data-code={problem.code ?? ""}>
      {title && <div class="sup-problem-title">{title}</div>}
      <div data-testid={`${testId}-headline`}>{said.headline}</div>
      {said.todo && <p class="error-detail">{said.todo}</p>}
      {detail && (
        <p class="error-detail" data-testid={`${testId}-detail`}>
          {detail}
        </p>
      )}
    </div>
  );
}

export function LoadState<T>({ loaded, testId }: { loaded: Loaded<T>; testId: string }) {
  useLang();
  if (loaded.offline) return <p class="warn">{st("sup.offline")}</p>;
  if (loaded.problem) return <ProblemBox problem={loaded.problem} testId={testId} />;
  if (loaded.data === null) return <p class="muted">{t("common.loading")}</p>;
  return null;
}

export function Chip({ kind, children, testId }: { kind: "ok" | "bad" | "warn" | "info"; children: ComponentChildren; testId?: string }) {
  return (
    <span class={`chip ${kind}`} data-testid={testId}>
      {children}
    </span>
  );
}

/** A server timestamp in the reader's locale; "—" for none. */
export function when(at: string | null | undefined): string {
  return at ? new Date(at).toLocaleString(document.documentElement.lang || undefined) : "—";
}

/** A segmented choice (status filters): buttons, the chosen one marked for screen readers too. */
export function Segments<V extends string>({ value, options, onChange, testId }: {
  value: V;
  options: { value: V; label: string }[];
  onChange: (v: V) => void;
  testId: string;
}) {
  return (
    <div class="segments" role="group" data-testid={testId}>
      {options.map((o) => (
        <button
          type="button"
          key={o.value}
          class={o.value === value ? "btn selected" : "btn"}
          aria-pressed={o.value === value}
          data-testid={`${testId}-${o.value}`}
          onClick={() => onChange(o.value)}
        >
          {o.label}
        </button>
      ))}
    </div>
  );
}
