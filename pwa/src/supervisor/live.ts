// The live floor view (GET /api/v1/live, docs/live.md): one WebSocket shared by the wave board, the picker
// board and the exception queue while any of them is open. The server sends a snapshot, then changes; after
// any close the client reconnects (1 s, 2 s, 4 s … at most 30 s, with jitter so a room of tablets does not
// knock at once) and the new snapshot is the truth again. Sections read the state from `live` (a Store) and
// show `status` as a "live" / "reconnecting" chip, so a supervisor knows whether the board is current.
import type { Schemas } from "../api";
import { session } from "../session";
import { Store, useStore } from "../store";
import { useEffect } from "preact/hooks";

export type ExceptionOut = Schemas["ExceptionOut"];

export interface WaveProgress {
  waveId: number;
  orders: number;
  lines: number;
  linesDone: number;
  shortLines: number;
  units: number;
  unitsPicked: number;
}
export interface OrderProgress extends Omit<WaveProgress, "orders"> {
  order: string;
}
export interface Picker {
  user: string;
  device: string | null;
  currentTask: { taskId: number; order: string | null; location: string | null } | null;
  lastScanAt: string;
  lastVerdict: "accepted" | "refused" | "short";
  lastCode: string | null;
  linesPerHour: number;
}
export interface Device {
  device: string;
  user: string | null;
  queued: number;
  online: boolean;
  reportedAt: string | null;
}
interface Change {
  type: string;
  position: number;
  at: string;
  user: string | null;
  device: string | null;
  event: string;
  data: Record<string, unknown>;
  exception?: ExceptionOut | null;
  picker?: Picker | null;
}
type Frame =
  | { type: "snapshot"; head: number; at: string; waves: WaveProgress[]; orders: OrderProgress[]; pickers: Picker[]; devices: Device[]; exceptions: ExceptionOut[] }
  | { type: "changes"; changes: Change[] }
  | { type: "progress"; waves: WaveProgress[]; orders: OrderProgress[] }
  | { type: "resolved"; id: number; resolvedAt: string; resolvedBy: string; note: string }
  | { type: "devices"; devices: Device[] }
  | { type: "heartbeat"; head: number };

export interface LiveState {
  status: "connecting" | "live" | "reconnecting";
  /** seconds until the next attempt while reconnecting */
  retryIn: number;
  waves: Record<number, WaveProgress>;
  /** by `${waveId}/${order}` */
  orders: Record<string, OrderProgress>;
  pickers: Record<string, Picker>;
  devices: Device[];
  /** exceptions seen raised (snapshot and changes), newest first; resolutions are applied in place */
  exceptions: ExceptionOut[];
  /** counts applied frames that moved a wave, so a section can re-read its detail */
  waveTick: Record<number, number>;
}

const empty = (): LiveState => ({ status: "connecting", retryIn: 0, waves: {}, orders: {}, pickers: {}, devices: [], exceptions: [], waveTick: {} });

export const live = new Store<LiveState>(empty());

const MAX_EXCEPTIONS = 500;

/** The state after one frame: pure, so it can be read (and tested) without a socket. */
export function applyFrame(s: LiveState, f: Frame): LiveState {
  switch (f.type) {
    case "snapshot": {
      const waves: LiveState["waves"] = {};
      for (const w of f.waves) waves[w.waveId] = w;
      const orders: LiveState["orders"] = {};
      for (const o of f.orders) orders[`${o.waveId}/${o.order}`] = o;
      const pickers: LiveState["pickers"] = {};
      for (const p of f.pickers) pickers[p.user] = p;
      const tick = { ...s.waveTick };
      for (const w of f.waves) tick[w.waveId] = (tick[w.waveId] ?? 0) + 1;
      return { ...s, status: "live", retryIn: 0, waves, orders, pickers, devices: f.devices, exceptions: f.exceptions, waveTick: tick };
    }
    case "changes": {
      let pickers = s.pickers;
      let exceptions = s.exceptions;
      for (const c of f.changes) {
        if (c.picker) pickers = { ...pickers, [c.picker.user]: c.picker };
        const x = c.exception;
        if (x && !exceptions.some((e) => e.id === x.id)) exceptions = [x, ...exceptions].slice(0, MAX_EXCEPTIONS);
      }
      return { ...s, pickers, exceptions };
    }
    case "progress": {
      const waves = { ...s.waves };
      const tick = { ...s.waveTick };
      for (const w of f.waves) {
        waves[w.waveId] = w;
        tick[w.waveId] = (tick[w.waveId] ?? 0) + 1;
      }
      const orders = { ...s.orders };
      for (const o of f.orders) orders[`${o.waveId}/${o.order}`] = o;
      return { ...s, waves, orders, waveTick: tick };
    }
    case "resolved":
      return {
        ...s,
        exceptions: s.exceptions.map((x) => (x.id === f.id ? { ...x, status: "resolved", resolvedAt: f.resolvedAt, resolvedBy: f.resolvedBy, note: f.note } : x)),
      };
    case "devices":
      return { ...s, devices: f.devices };
    default:
      return s;
  }
}

/** Wait before the n-th reconnection (n from 0): doubling from 1 s to 30 s, ±20 %. */
export function backoff(n: number, random: () => number = Math.random): number {
  const base = Math.min(30_000, 1000 * 2 ** n);
  return Math.round(base * (0.8 + 0.4 * random()));
}

let users = 0;
let socket: WebSocket | null = null;
let timer: ReturnType<typeof setTimeout> | null = null;
let countdown: ReturnType<typeof setInterval> | null = null;
let failures = 0;
let linger: ReturnType<typeof setTimeout> | null = null;

function url(): string {
  const s = session.get();
  const q = new URLSearchParams({ access_token: s.token ?? "", device_id: s.deviceId });
  return `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/api/v1/live?${q}`;
}

function connect(): void {
  timer = null;
  if (countdown) clearInterval(countdown);
  countdown = null;
  const ws = new WebSocket(url());
  socket = ws;
  ws.onmessage = (e) => {
    if (socket !== ws) return;
    let frame: Frame;
    try {
      frame = JSON.parse(String(e.data)) as Frame;
    } catch {
      return;
    }
    if (frame.type === "snapshot") failures = 0;
    live.set(applyFrame(live.get(), frame));
  };
  ws.onclose = () => {
    if (socket !== ws) return;
    socket = null;
    if (users > 0) retry();
  };
}

function retry(): void {
  const wait = backoff(failures++);
  const until = Date.now() + wait;
  const left = () => Math.max(0, Math.ceil((until - Date.now()) / 1000));
  live.update({ status: "reconnecting", retryIn: left() });
  countdown = setInterval(() => live.update({ retryIn: left() }), 1000);
  timer = setTimeout(connect, wait);
}

function stop(): void {
  if (timer) clearTimeout(timer);
  if (countdown) clearInterval(countdown);
  timer = countdown = null;
  const ws = socket;
  socket = null;
  ws?.close(1000);
  failures = 0;
  live.set(empty());
}

/** The live state, connected while at least one component uses it. */
export function useLive(): LiveState {
  useEffect(() => {
    if (linger) clearTimeout(linger);
    linger = null;
    if (users++ === 0 && !socket && !timer) connect();
    return () => {
      // moving from one live section to another keeps the socket (and its snapshot) open
      if (--users === 0) linger = setTimeout(() => users === 0 && stop(), 5000);
    };
  }, []);
  return useStore(live);
}

/** Go back to the server now (the "reconnect" button), instead of waiting out the backoff. */
export function reconnectNow(): void {
  if (socket || users === 0) return;
  if (timer) clearTimeout(timer);
  connect();
}
