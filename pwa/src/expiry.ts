// What a receiver types or scans into a question field, read the way a label writes it. A date picker
// (mm/dd/yyyy) is hard with gloves; the label says YYMMDD (GS1 AI 17), so that is what is typed. A scan
// of the whole label into any field answers every question it can (lot, expiry, serial).

const GS = "\x1d";
/** GS1 AIs of fixed length (value digits) that may come before the ones asked for. */
const FIXED: Record<string, number> = { "00": 18, "01": 14, "02": 14, "11": 6, "12": 6, "13": 6, "15": 6, "16": 6, "17": 6, "20": 2 };
const VARIABLE = new Set(["10", "21", "22", "30", "37", "240", "241", "250", "251"]);

/** YYMMDD as GS1 reads it (General Specifications 7.12): the century that puts the year within 49 years
 * ahead or 50 back of `today`; day 00 is the month's last day. `null` for a date that does not exist. */
export function fromYymmdd(digits: string, today: Date = new Date()): string | null {
  if (!/^\d{6}$/.test(digits)) return null;
  const yy = Number(digits.slice(0, 2));
  const month = Number(digits.slice(2, 4));
  let day = Number(digits.slice(4, 6));
  const current = today.getUTCFullYear();
  const diff = yy - (current % 100);
  const century = Math.floor(current / 100) + (diff >= 51 ? -1 : diff <= -50 ? 1 : 0);
  const year = century * 100 + yy;
  if (month < 1 || month > 12) return null;
  const last = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (day === 0) day = last;
  if (day > last) return null;
  return `${year}-${String(month).padStart(2, "0")}-${String(day).padStart(2, "0")}`;
}

/** An expiry as typed: YYMMDD, YYYYMMDD or YYYY-MM-DD (also with / or .), as an ISO date; else `null`. */
export function readExpiry(typed: string, today: Date = new Date()): string | null {
  const s = typed.trim();
  const fromScan = readGs1(s).expiry;
  if (fromScan) return fromScan;
  if (/^\d{6}$/.test(s)) return fromYymmdd(s, today);
  const m = s.match(/^(\d{4})[-/.]?(\d{2})[-/.]?(\d{2})$/);
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (mo < 1 || mo > 12 || d < 1 || d > new Date(Date.UTC(y, mo, 0)).getUTCDate()) return null;
  return `${m[1]}-${m[2]}-${m[3]}`;
}

export interface LabelData {
  lot?: string;
  expiry?: string;
  serial?: string;
}

/** Lot (10), expiry (17) and serial (21) from a GS1 element string as a scanner sends it (GS between
 * fields, an optional ]d2 / ]C1 / ]Q3 prefix) or in the human-readable (AI) form; `{}` for anything else. */
export function readGs1(raw: string, today: Date = new Date()): LabelData {
  let s = raw.replace(/^\][A-Za-z]\d/, "");
  const fields: Record<string, string> = {};
  if (s.startsWith("(")) {
    for (const m of s.matchAll(/\((\d{2,4})\)([^(]*)/g)) fields[m[1]] = m[2];
  } else {
    if (!/^(00|01|02)\d{14}/.test(s)) return {};
    while (s.length) {
      const ai2 = s.slice(0, 2);
      const ai3 = s.slice(0, 3);
      if (ai2 in FIXED) {
        fields[ai2] = s.slice(2, 2 + FIXED[ai2]);
        s = s.slice(2 + FIXED[ai2]);
      } else if (/^3[1-6]\d\d/.test(s)) {
        s = s.slice(10);
      } else if (VARIABLE.has(ai2) || VARIABLE.has(ai3)) {
        const ai = VARIABLE.has(ai2) ? ai2 : ai3;
        const end = s.indexOf(GS);
        fields[ai] = end < 0 ? s.slice(ai.length) : s.slice(ai.length, end);
        s = end < 0 ? "" : s.slice(end + 1);
      } else break;
      if (s.startsWith(GS)) s = s.slice(1);
    }
  }
  const out: LabelData = {};
  if (fields["10"]) out.lot = fields["10"];
  if (fields["21"]) out.serial = fields["21"];
  const expiry = fields["17"] ? fromYymmdd(fields["17"], today) : null;
  if (expiry) out.expiry = expiry;
  return out;
}
