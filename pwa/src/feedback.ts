// Sound and vibration a picker can tell apart without looking: OK is two short high beeps and one
// short pulse; refused is a long low buzz and three long pulses. WebAudio needs a user gesture first,
// so the context is unlocked on the first key or touch.
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

export type Verdict = "ok" | "refused" | "queued";

export const lastFeedback: { verdict: Verdict | null; at: number } = { verdict: null, at: 0 };

export function feedback(verdict: Verdict): void {
  lastFeedback.verdict = verdict;
  lastFeedback.at = Date.now();
  document.documentElement.dataset.feedback = verdict;
  if (verdict === "ok") {
    tone(1760, 0, 0.07, "sine");
    tone(2350, 0.09, 0.07, "sine");
    vibrate([40]);
  } else if (verdict === "queued") {
    tone(1320, 0, 0.09, "triangle");
    vibrate([25, 40, 25]);
  } else {
    tone(196, 0, 0.6, "square", 0.3);
    vibrate([300, 120, 300, 120, 300]);
  }
}
