// Scanner input. Keyboard-wedge scanners "type" a whole barcode in a few milliseconds, usually ending
// with CR or Tab; some send no suffix, so a burst also ends when the keys stop for `gapMs`. Human
// typing (slower than the gap) is never cut off: it waits for Enter. GS (0x1D, the GS1 FNC1 separator)
// and any configured stand-in ("|", "#", "<GS>") stay in the string exactly as read: the server decides
// what the scan means. Camera (BarcodeDetector, polyfilled lazily) and manual entry feed the same path.
import { useEffect, useRef, useState } from "preact/hooks";
import { feedback } from "./feedback";
import { t } from "./i18n";
import { refusal, refusalCleared } from "./ui";

export type ScanSource = "wedge" | "camera" | "manual";
export const GS = "\x1d";

export function scanGapMs(): number {
  const v = Number(localStorage.getItem("udipick.scanGapMs"));
  return Number.isFinite(v) && v >= 20 ? v : 50;
}

const MIN_BURST = 4;

/** Show a raw scan with visible separators (GS as ␝). */
export function visible(raw: string): string {
  return raw.replace(/\x1d/g, "␝").replace(/[\x00-\x1c\x1e\x1f]/g, "·");
}

interface Props {
  /** Called once per scan, in order: a screen that returns its promise gets the next scan only when it has
   * settled and the screen has re-rendered, so a location scanned just before an item is never judged as the
   * item's location (a fast scanner's second code used to overtake the first's server round trip). */
  onScan: (raw: string, source: ScanSource) => void | Promise<unknown>;
  label: string;
  disabled?: boolean;
  testId?: string;
}

export function ScanField({ onScan, label, disabled, testId = "scan-input" }: Props) {
  const input = useRef<HTMLInputElement>(null);
  const timer = useRef<number | undefined>(undefined);
  const burst = useRef<{ last: number; fast: boolean }>({ last: 0, fast: true });
  const [manual, setManual] = useState(false);
  const [camera, setCamera] = useState(false);
  const [last, setLast] = useState<string | null>(null);
  // the screen's handler as of its last render (a queued scan must see what the scans before it changed)
  const handler = useRef(onScan);
  handler.current = onScan;
  const queue = useRef<Promise<void>>(Promise.resolve());

  const submit = (source: ScanSource) => {
    window.clearTimeout(timer.current);
    const el = input.current;
    if (!el) return;
    const raw = el.value.replace(/[\r\n]+$/, "");
    el.value = "";
    burst.current = { last: 0, fast: true };
    if (!raw.trim()) return;
    take(raw, source);
  };

  /** Judge a scan after those before it. While a refusal is on screen no scan is lost and none is judged:
   * it is held (the refusal buzz again, "n scans held" on the refusal) until the refusal is acknowledged
   * by a tap, then judged in the order taken. */
  const take = (raw: string, source: ScanSource) => {
    setLast(raw);
    if (refusal.get().problem) feedback("refused");
    queue.current = queue.current.then(async () => {
      if (refusal.get().problem) {
        refusal.update({ held: refusal.get().held + 1 });
        await refusalCleared();
        refusal.update({ held: Math.max(0, refusal.get().held - 1) });
      }
      try {
        await handler.current(raw, source);
      } catch {
        // the screen reports its own failures; the next scan still runs
      }
      await new Promise((settled) => window.setTimeout(settled, 0)); // let the screen re-render first
    });
  };

  // While a refusal is on screen, the wedge's keys come here wherever the focus is: its Enter must not
  // press a button (the refusal's "OK, understood", or a button of the screen behind it).
  useEffect(() => {
    if (disabled) return;
    const capture = (e: KeyboardEvent) => {
      const el = input.current;
      if (!el || !refusal.get().problem || e.target === el || camera) return;
      if (e.key === "Enter" || e.key === "Tab") {
        e.preventDefault();
        e.stopPropagation();
        submit(manual ? "manual" : "wedge");
      } else if (e.key.length === 1 && !e.ctrlKey && !e.altKey && !e.metaKey) {
        e.preventDefault();
        e.stopPropagation();
        el.value += e.key;
        onInput();
      }
    };
    window.addEventListener("keydown", capture, true);
    return () => window.removeEventListener("keydown", capture, true);
  });

  useEffect(() => {
    if (!disabled && !camera) input.current?.focus();
  }, [disabled, camera, manual]);

  // keep the capture field focused: a tap on empty screen must not swallow the next scan
  useEffect(() => {
    const keep = () => {
      window.setTimeout(() => {
        const a = document.activeElement;
        // a tapped button keeps no focus either: the scan that follows the tap (a tote after "Tote") must
        // reach the field, and the wedge's Enter must not press the button again
        if (!disabled && !camera && (!a || a === document.body || a.tagName === "BUTTON")) input.current?.focus();
      }, 0);
    };
    document.addEventListener("pointerup", keep);
    document.addEventListener("focusout", keep);
    return () => {
      document.removeEventListener("pointerup", keep);
      document.removeEventListener("focusout", keep);
    };
  }, [disabled, camera]);

  const onKeyDown = (e: KeyboardEvent) => {
    if (e.key === "Enter" || e.key === "Tab") {
      e.preventDefault();
      submit(manual ? "manual" : "wedge");
    } else if (e.key === "GroupSeparator" || (e.ctrlKey && e.key === "]")) {
      // scanners programmed to send GS as a key event rather than a character
      e.preventDefault();
      const el = e.currentTarget as HTMLInputElement;
      el.setRangeText(GS, el.selectionStart ?? el.value.length, el.selectionEnd ?? el.value.length, "end");
      onInput();
    }
  };

  const onInput = () => {
    const now = performance.now();
    const gap = scanGapMs();
    const b = burst.current;
    if (b.last && now - b.last > gap) b.fast = false;
    b.last = now;
    window.clearTimeout(timer.current);
    if (manual) return;
    timer.current = window.setTimeout(() => {
      const el = input.current;
      if (el && burst.current.fast && el.value.length >= MIN_BURST) submit("wedge");
      else burst.current = { last: 0, fast: el?.value ? false : true };
    }, gap);
  };

  const insertGs = () => {
    const el = input.current;
    if (!el) return;
    el.setRangeText(GS, el.selectionStart ?? el.value.length, el.selectionEnd ?? el.value.length, "end");
    el.focus();
  };

  return (
    <div class="scan">
      <label class="scan-label" for={testId}>
        {label}
      </label>
      <div class="scan-row">
        <input
          id={testId}
          data-testid={testId}
          ref={input}
          class={manual ? "scan-input manual" : "scan-input"}
          type="text"
          inputMode={manual ? "text" : "none"}
          autocomplete="off"
          autocapitalize="off"
          spellcheck={false}
          enterKeyHint="go"
          disabled={disabled}
          placeholder={manual ? t("scan.manualPlaceholder") : t("scan.placeholder")}
          onKeyDown={onKeyDown}
          onInput={onInput}
        />
        {manual && (
          <button type="button" class="btn small" onClick={() => submit("manual")} data-testid="scan-submit">
            {t("scan.enter")}
          </button>
        )}
      </div>
      <div class="scan-tools">
        <button type="button" class="btn ghost" aria-pressed={manual} onClick={() => setManual(!manual)} data-testid="scan-manual">
          ⌨ {manual ? t("scan.wedge") : t("scan.manual")}
        </button>
        {manual && (
          <button type="button" class="btn ghost" onClick={insertGs} data-testid="scan-gs">
            GS ␝
          </button>
        )}
        <button type="button" class="btn ghost" onClick={() => setCamera(true)} data-testid="scan-camera">
          ◉ {t("scan.camera")}
        </button>
      </div>
      {last !== null && (
        <div class="scan-last" data-testid="scan-last">
          {t("scan.last")}: <code>{visible(last)}</code>
        </div>
      )}
      {camera && (
        <CameraSheet
          onClose={() => setCamera(false)}
          onRead={(raw) => {
            setCamera(false);
            take(raw, "camera");
          }}
        />
      )}
    </div>
  );
}

function CameraSheet({ onClose, onRead }: { onClose: () => void; onRead: (raw: string) => void }) {
  const video = useRef<HTMLVideoElement>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let stop: (() => void) | undefined;
    let cancelled = false;
    import("./camera")
      .then(async (m) => {
        if (cancelled || !video.current) return;
        stop = await m.startCamera(video.current, onRead);
      })
      .catch((err: unknown) => setError(err instanceof Error ? err.message : String(err)));
    return () => {
      cancelled = true;
      stop?.();
    };
  }, []);
  return (
    <div class="sheet" role="dialog" aria-label={t("scan.camera")} data-testid="camera-sheet">
      <video ref={video} class="camera" playsInline muted />
      {error && <p class="warn">{t("scan.cameraError", { reason: error })}</p>}
      <button type="button" class="btn" onClick={onClose}>
        {t("common.close")}
      </button>
    </div>
  );
}
