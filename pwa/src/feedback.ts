// Sound and vibration a picker can tell apart without looking. Three verdicts, three sounds:
// accepted = two short high beeps and one short pulse; warning (taken, but look at the screen: stock
// sent to quarantine, a held or expired lot looked up) = two mid two-tone "ding-dong" notes falling
// and two medium pulses; refused = a long low buzz and three long pulses. "queued" (saved offline,
// not judged yet) is one mid beep. WebAudio needs a user gesture first, so the context is unlocked on
// the first key or touch.
let ctx: AudioContext | null = null;

function audio(): AudioContext | null {
  if (!ctx) {
    const AC = window.AudioContext || (window as unknown as { webkitAudioContext?: typeof AudioContext }).webkitAudioContext;
    if (!AC) return null;
    ctx = new AC();
  }
  if (ctx.state === "suspended") void ctx.resume().catch(() => undefined);
  return ctx;
}

export function unlockAudio(): void {
  const once = () => {
    audio();
    window.removeEventListener("keydown", once, true);
    window.removeEventListener("pointerdown", once, true);
  };
  window.addEventListener("keydown", once, true);
  window.addEventListener("pointerdown", once, true);
}

function tone(freq: number, start: number, duration: number, type: OscillatorType, gain = 0.25): void {
  const a = audio();
  if (!a) return;
  const osc = a.createOscillator();
  const g = a.createGain();
  osc.type = type;
  osc.frequency.value = freq;
  g.gain.setValueAtTime(gain, a.currentTime + start);
  g.gain.exponentialRampToValueAtTime(0.001, a.currentTime + start + duration);
  osc.connect(g).connect(a.destination);
  osc.start(a.currentTime + start);
  osc.stop(a.currentTime + start + duration + 0.02);
}

function vibrate(pattern: number[]): void {
  try {
    navigator.vibrate?.(pattern);
  } catch {
    /* not every browser allows vibration */
  }
}

export type Verdict = "ok" | "warning" | "refused" | "queued";

/** The vibration of each verdict (also what a test sees through a stubbed `navigator.vibrate`). */
export const VIBRATION: Record<Verdict, number[]> = {
  ok: [40],
  warning: [150, 100, 150],
  refused: [300, 120, 300, 120, 300],
  queued: [25, 40, 25],
};

/** The last verdict given, also as `<html data-feedback="...">` with a running count in
 * `data-feedback-n`, so a test (or a support engineer) can tell which sound played. */
export const lastFeedback: { verdict: Verdict | null; at: number; n: number } = { verdict: null, at: 0, n: 0 };

export function feedback(verdict: Verdict): void {
  lastFeedback.verdict = verdict;
  lastFeedback.at = Date.now();
  lastFeedback.n += 1;
  document.documentElement.dataset.feedback = verdict;
  document.documentElement.dataset.feedbackN = String(lastFeedback.n);
  if (verdict === "ok") {
    tone(1760, 0, 0.07, "sine");
    tone(2350, 0.09, 0.07, "sine");
  } else if (verdict === "warning") {
    tone(880, 0, 0.18, "triangle", 0.3);
    tone(660, 0.22, 0.25, "triangle", 0.3);
  } else if (verdict === "queued") {
    tone(1320, 0, 0.09, "triangle");
  } else {
    tone(196, 0, 0.6, "square", 0.3);
  }
  vibrate(VIBRATION[verdict]);
}
