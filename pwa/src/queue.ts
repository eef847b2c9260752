// The offline queue. A scan taken without a connection is stored in IndexedDB with its client scan id
// and replayed in the order it was taken once the handheld is back online. The server answers a replay
// with the first verdict for that id, so a scan whose response was lost is never applied twice. A
// verdict that comes back refused is kept as an exception the picker must resolve, never dropped.
import { OfflineError, isOnline, send, toProblem, type Problem, type Schemas } from "./api";
import { session } from "./session";
import { Store } from "./store";

/** The request bodies of the scans that may wait here: each carries its client scan id, so a replay is
 * answered with the first verdict. */
export type QueuedBody =
  | Schemas["PickScanIn"]
  | Schemas["ShortIn"]
  | Schemas["PackScanIn"]
  | Schemas["ReceiptScanIn"]
  | Schemas["PutawayConfirmIn"];

export interface Queued {
  seq?: number;
  clientScanId: string;
  method: "POST";
  path: string;
  body: QueuedBody;
  /** what the picker sees in the list: "A-01-02 · SYR-10ML" */
  label: string;
  takenAt: string;
  username: string;
}

export interface Exception extends Queued {
  problem: Problem;
  refusedAt: string;
}

const DB_NAME = "udipick";
const OUTBOX = "outbox";
const EXCEPTIONS = "exceptions";

let dbPromise: Promise<IDBDatabase> | null = null;

function open(): Promise<IDBDatabase> {
  dbPromise ??= new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = () => {
      const db = req.result;
      if (!db.objectStoreNames.contains(OUTBOX)) db.createObjectStore(OUTBOX, { keyPath: "seq", autoIncrement: true });
      if (!db.objectStoreNames.contains(EXCEPTIONS)) db.createObjectStore(EXCEPTIONS, { keyPath: "clientScanId" });
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
  return dbPromise;
}

function tx<T>(store: string, mode: IDBTransactionMode, fn: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  return open().then(
    (db) =>
      new Promise<T>((resolve, reject) => {
        const t = db.transaction(store, mode);
        const req = fn(t.objectStore(store));
        t.oncomplete = () => resolve(req.result);
        t.onerror = () => reject(t.error);
        t.onabort = () => reject(t.error);
      }),
  );
}

export const sync = new Store<{ waiting: number; exceptions: number; syncing: boolean; online: boolean }>({
  waiting: 0,
  exceptions: 0,
  syncing: false,
  online: isOnline(),
});

/** Results of replayed scans, for the screen that queued them (e.g. to refresh the pick list) and for the
 * app, which shows a refusal full screen (`body` is then the problem). */
type Replayed = (q: Queued, accepted: boolean, body: unknown) => void;
const replayListeners = new Set<Replayed>();
export function onReplayed(fn: Replayed): () => void {
  replayListeners.add(fn);
  return () => replayListeners.delete(fn);
}

async function refreshCounts(): Promise<void> {
  const [waiting, exceptions] = await Promise.all([
    tx<number>(OUTBOX, "readonly", (s) => s.count()),
    tx<number>(EXCEPTIONS, "readonly", (s) => s.count()),
  ]);
  const changed = waiting !== sync.get().waiting;
  sync.update({ waiting, exceptions, online: isOnline() });
  if (changed) void reportQueue();
}

/** Tell the server how many scans wait here (the supervisors' live view lists handhelds offline with
 * scans waiting); on every change of the count and every 30 s. Offline it cannot arrive: the server
 * counts a handheld silent for 90 s as offline, with the count it last heard. */
async function reportQueue(): Promise<void> {
  if (!session.get().token || !isOnline()) return;
  const body: Schemas["HeartbeatIn"] = { queued: sync.get().waiting, online: isOnline() };
  try {
    await send("POST", "/api/v1/devices/heartbeat", body);
  } catch {
    // offline after all: the next change or the next 30 s tries again
  }
}

/** A pick scan replayed from the queue says when it was taken: refused now, it goes to the supervisor's
 * exception queue on the server (the picker has moved on from that shelf). */
function replayBody(q: Queued): QueuedBody {
  return /\/picking\/tasks\/\d+\/scans$/.test(q.path) ? { ...q.body, queuedAt: q.takenAt } : q.body;
}

export async function enqueue(q: Queued): Promise<void> {
  await tx(OUTBOX, "readwrite", (s) => s.add(q));
  await refreshCounts();
}

export async function waiting(): Promise<Queued[]> {
  return tx<Queued[]>(OUTBOX, "readonly", (s) => s.getAll());
}

export async function exceptions(): Promise<Exception[]> {
  return tx<Exception[]>(EXCEPTIONS, "readonly", (s) => s.getAll());
}

export async function resolveException(clientScanId: string): Promise<void> {
  await tx(EXCEPTIONS, "readwrite", (s) => s.delete(clientScanId));
  await refreshCounts();
}

let running: Promise<void> | null = null;

/** Replay queued scans, oldest first; stop at the first one that cannot reach the server. */
export function flush(): Promise<void> {
  running ??= (async () => {
    sync.update({ syncing: true });
    try {
      for (;;) {
        if (!isOnline()) break;
        const [next] = await tx<Queued[]>(OUTBOX, "readonly", (s) => s.getAll(undefined, 1));
        if (!next) break;
        // a scan is replayed only under the token of the person who took it (the audit trail names them)
        if (next.username && next.username !== session.get().user?.username) break;
        let raw;
        try {
          raw = await send(next.method, next.path, replayBody(next));
        } catch (err) {
          if (err instanceof OfflineError) break;
          throw err;
        }
        if (raw.status === 401 || raw.status >= 500 || raw.status === 429) break; // sign in / server trouble: keep it
        const accepted = raw.status >= 200 && raw.status < 300;
        const problem = accepted ? null : toProblem(raw);
        await open().then(
          (db) =>
            new Promise<void>((resolve, reject) => {
              const t = db.transaction([OUTBOX, EXCEPTIONS], "readwrite");
              t.objectStore(OUTBOX).delete(next.seq!);
              if (!accepted) {
                const ex: Exception = { ...next, problem: problem!, refusedAt: new Date().toISOString() };
                delete ex.seq;
                t.objectStore(EXCEPTIONS).put(ex);
              }
              t.oncomplete = () => resolve();
              t.onerror = () => reject(t.error);
            }),
        );
        await refreshCounts();
        for (const l of [...replayListeners]) l(next, accepted, accepted ? raw.body : problem);
      }
    } finally {
      await refreshCounts();
      sync.update({ syncing: false });
      running = null;
    }
  })();
  return running;
}

export function hasWaiting(): boolean {
  return sync.get().waiting > 0;
}

export function startSync(): void {
  window.addEventListener("online", () => {
    sync.update({ online: true });
    void reportQueue();
    void flush();
  });
  window.addEventListener("offline", () => sync.update({ online: false }));
  window.setInterval(() => {
    if (isOnline() && sync.get().waiting > 0) void flush();
  }, 5000);
  window.setInterval(() => void reportQueue(), 30000);
  void refreshCounts().then(() => flush());
}

/**
 * Send an idempotent scan now, or queue it. Queued scans keep their order: while older scans wait,
 * a new one waits behind them. Returns the verdict when online (`T`: the route's answer), or `queued`.
 */
export async function submitScan<T>(
  q: Queued,
): Promise<{ kind: "accepted"; body: T } | { kind: "refused"; problem: Problem } | { kind: "queued" }> {
  if (!isOnline() || hasWaiting()) {
    await enqueue(q);
    if (isOnline()) void flush();
    return { kind: "queued" };
  }
  try {
    const raw = await send(q.method, q.path, q.body);
    if (raw.status >= 200 && raw.status < 300) return { kind: "accepted", body: raw.body as T };
    if (raw.status >= 500) {
      await enqueue(q);
      return { kind: "queued" };
    }
    return { kind: "refused", problem: toProblem(raw) };
  } catch (err) {
    if (err instanceof OfflineError) {
      await enqueue(q);
      return { kind: "queued" };
    }
    throw err;
  }
}
