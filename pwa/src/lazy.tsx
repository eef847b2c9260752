// A screen loaded on first use as its own chunk (dynamic import), like the camera: what a role never
// opens is never downloaded by that role's handheld. A failed download (a Wi-Fi dead spot) offers a retry.
import { useEffect, useState } from "preact/hooks";
import { t, useLang } from "./i18n";
import { Screen } from "./ui";

type Props = { args: string[] };
type View = (p: Props) => preact.JSX.Element;

export function lazyScreen(title: () => string, testId: string, load: () => Promise<View>): View {
  let loaded: View | null = null;
  let pending: Promise<View> | null = null;
  return function Lazy(props: Props): preact.JSX.Element {
    useLang();
    const [C, setC] = useState<View | null>(() => loaded);
    const [error, setError] = useState<string | null>(null);
    const [attempt, setAttempt] = useState(0);
    useEffect(() => {
      if (C) return;
      let gone = false;
      pending ??= load();
      pending.then(
        (c) => {
          loaded = c;
          if (!gone) setC(() => c);
        },
        (err: unknown) => {
          pending = null;
          if (!gone) setError(err instanceof Error ? err.message : String(err));
        },
      );
      return () => {
        gone = true;
      };
    }, [attempt]);
    if (C) return <C {...props} />;
    return (
      <Screen title={title()} testId={`${testId}-loading`}>
        {error ? (
          <>
            <p class="warn" role="alert">
              {t("sup.loadFailed", { reason: error })}
            </p>
            <button
              type="button"
              class="btn"
              onClick={() => {
                setError(null);
                setAttempt((n) => n + 1);
              }}
            >
              {t("common.retry")}
            </button>
          </>
        ) : (
          <p class="muted">{t("common.loading")}</p>
        )}
      </Screen>
    );
  };
}
