// zh-CN / en. The language defaults to the device's and can be switched on any screen. Server refusals
// are translated by their problem `code` with the problem's context members as arguments; a code this
// build does not know yet falls back to the server's English `detail`, so nothing reaches the floor blank.
import { Store, useStore } from "./store";
import type { Problem } from "./api";
import { en, zh, problemsEn, problemsZh, type Key } from "./messages";

export type Lang = "en" | "zh-CN";
const K_LANG = "udipick.lang";

export function deviceLanguage(langs: readonly string[] = navigator.languages || [navigator.language]): Lang {
  for (const l of langs) {
    if (l.toLowerCase().startsWith("zh")) return "zh-CN";
    if (l.toLowerCase().startsWith("en")) return "en";
  }
  return "en";
}

function initial(): Lang {
  const saved = localStorage.getItem(K_LANG);
  return saved === "en" || saved === "zh-CN" ? saved : deviceLanguage();
}

export const lang = new Store<{ lang: Lang }>({ lang: initial() });

export function setLang(l: Lang): void {
  localStorage.setItem(K_LANG, l);
  document.documentElement.lang = l;
  lang.set({ lang: l });
}
document.documentElement.lang = lang.get().lang;

function fill(template: string, args: Record<string, unknown>): string | null {
  let missing = false;
  const out = template.replace(/\{(\w+)\}/g, (_, name: string) => {
    const v = args[name];
    if (v === undefined || v === null || v === "") {
      missing = true;
      return "";
    }
    return Array.isArray(v) ? v.join(", ") : String(v);
  });
  return missing ? null : out;
}

export function t(key: Key, args: Record<string, unknown> = {}): string {
  const dict = lang.get().lang === "zh-CN" ? zh : en;
  return fill(dict[key] ?? en[key], args) ?? en[key];
}

/** The translator of a dictionary pair that a lazily loaded chunk brings along (the supervisor area's),
 * so its texts stay out of the handheld's first load; filled and falling back to English like `t`. */
export function dictionary<K extends string>(dictEn: Record<K, string>, dictZh: Record<K, string>) {
  return (key: K, args: Record<string, unknown> = {}): string => {
    const dict = lang.get().lang === "zh-CN" ? dictZh : dictEn;
    return fill(dict[key] ?? dictEn[key], args) ?? dictEn[key];
  };
}

export function useLang(): Lang {
  return useStore(lang).lang;
}

export interface Said {
  headline: string;
  todo: string | null;
}

/** The refusal in this build's words, or `null` when its code is unknown or its members do not fill them. */
export function sayKnownProblem(problem: Problem): Said | null {
  const table = lang.get().lang === "zh-CN" ? problemsZh : problemsEn;
  const p = worded(problem);
  const entry = p.code ? table[p.code] : undefined;
  if (!entry) return null;
  const headline = fill(entry[0], p);
  const action = typeof p.action === "string" && `action.${p.action}` in en ? t(`action.${p.action}` as Key, p) : null;
  const todo = action ?? (entry[1] ? fill(entry[1], p) : null);
  return headline ? { headline, todo } : null;
}

/** A coded value the server sends as a fact (a status, a kind of location, a reason code) in the chosen
 * language: `prefix.value` when this build has words for it, else the value as sent. */
export function word(prefix: string, value: string, args: Record<string, unknown> = {}): string {
  const key = `${prefix}.${value.replace(/ /g, "-")}`;
  return key in en ? t(key as Key, args) : value;
}

/** Problem members that are codes, and the words for them: filled into a refusal in the user's language. */
const WORDED: Record<string, string> = {
  receiptStatus: "status",
  orderStatus: "status",
  taskStatus: "status",
  packageStatus: "status",
  returnStatus: "status",
  lotStatus: "status",
  serialStatus: "status",
  needs: "needs",
  why: "why",
};

function worded(p: Problem): Problem {
  const out: Problem = { ...p };
  for (const [member, prefix] of Object.entries(WORDED)) {
    const v = p[member];
    if (typeof v === "string") out[member] = word(prefix, v, p);
  }
  return out;
}

/** A refusal in the chosen language: what happened and what to do. The server's `action` member, when this
 * build has words for it, is what to do (an expired lot at the dock is refused, in a rack it is quarantined). */
export function sayProblem(problem: Problem): Said {
  const said = sayKnownProblem(problem);
  if (said) return said;
  const p = problem;
  const fallback = p.detail || p.title || t("problem.generic", { status: p.status });
  return { headline: fallback, todo: null };
}

/** The field a server question names (lot, expiry, temperature...), in the chosen language. */
export function fieldName(field: string): string {
  const key = `field.${field}` as Key;
  return key in en ? t(key) : field;
}

/** What happened to a label udipick queued, in the chosen language (printed, waiting, failed, no printer). */
export function sayLabel(label: { jobId?: number; job_id?: number; status: string; printer?: string | null; message: string }): string {
  const key = `label.${label.status}`;
  const args = { jobId: label.jobId ?? label.job_id, printer: label.printer ?? "—" };
  return key in en ? t(key as Key, args) : label.message;
}

/** Why received units went to quarantine, in the chosen language (the server's facts, or its English when
 * an answer carries none for some reason, e.g. a text it could not read back). */
export function sayQuarantine(why: ReadonlyArray<Record<string, unknown>> | undefined, reasons: readonly string[]): string {
  if (why && why.length === reasons.length) return why.map((w) => word("qwhy", String(w.code), worded(w as Problem))).join("; ");
  return reasons.join("; ");
}
