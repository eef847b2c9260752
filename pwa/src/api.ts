// HTTP to udipick. Every error arrives as an RFC 9457 problem (`code`, `detail`, context members such
// as `takeLot`/`takeLocation`); a connection failure is an OfflineError so callers can queue the scan.
import type { components } from "./openapi/schema";
import { session, signedOut } from "./session";

/** Request and answer bodies as the server's OpenAPI document states them: `Schemas["PackageClosed"]`, ...
 * Generated from the server code into ./openapi/ by scripts/gen-api-types.sh; CI fails when they are stale. */
export type Schemas = components["schemas"];

/** Every problem `code` the server can send (the OpenAPI Problem schema's enum). */
export type ProblemCode = NonNullable<Schemas["Problem"]["code"]>;

/** A refusal: the server's RFC 9457 body (Schemas["Problem"]), or one the handheld decides offline,
 * which has no `type` or `title` of its own. */
export interface Problem {
  type?: string;
  title?: string;
  status: number;
  detail?: string;
  code?: ProblemCode;
  [member: string]: unknown;
}

export class ProblemError extends Error {
  constructor(public problem: Problem) {
    super(problem.detail || problem.title || `HTTP ${problem.status}`);
  }
}

export class OfflineError extends Error {
  constructor() {
    super("offline");
  }
}

export function isOnline(): boolean {
  return navigator.onLine !== false;
}

export function headers(): Record<string, string> {
  const s = session.get();
  const h: Record<string, string> = { "X-Device-Id": s.deviceId, Accept: "application/json" };
  if (s.token) h.Authorization = `Bearer ${s.token}`;
  return h;
}

export interface Raw {
  status: number;
  body: unknown;
}

/** One request; never throws for an HTTP status (the caller decides), only OfflineError. */
export async function send(method: string, path: string, body?: unknown): Promise<Raw> {
  // offline, a GET may still be answered by the service worker's copy of the last task list
  const cached = method === "GET" && !!navigator.serviceWorker?.controller;
  if (!isOnline() && !cached) throw new OfflineError();
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers: body === undefined ? headers() : { ...headers(), "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new OfflineError();
  }
  const text = await res.text();
  let parsed: unknown = null;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = { status: res.status, detail: text };
    }
  }
  return { status: res.status, body: parsed };
}

export function toProblem(raw: Raw): Problem {
  const p = (raw.body && typeof raw.body === "object" ? raw.body : {}) as Problem;
  return { ...p, status: p.status || raw.status };
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const raw = await send(method, path, body);
  if (raw.status >= 200 && raw.status < 300) return raw.body as T;
  const problem = toProblem(raw);
  if (raw.status === 401 && !path.endsWith("/auth/login")) signedOut();
  throw new ProblemError(problem);
}

export const get = <T>(path: string) => api<T>("GET", path);
export const post = <T>(path: string, body: unknown = {}) => api<T>("POST", path, body);

export function uuid(): string {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
