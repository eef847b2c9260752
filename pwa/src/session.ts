// Who is signed in on this device. The device id survives sign-out: the server binds tokens to it
// and the audit trail names the handheld that took each scan.
import type { Schemas } from "./api";
import { Store } from "./store";

export type User = Schemas["UserOut"];
export type Role = User["roles"][number];

export interface Session {
  token: string | null;
  user: User | null;
  deviceId: string;
}

const K_DEVICE = "udipick.deviceId";
const K_SESSION = "udipick.session";

function newDeviceId(): string {
  const rand = crypto.getRandomValues(new Uint8Array(4));
  return "HH-" + Array.from(rand, (b) => b.toString(16).padStart(2, "0")).join("").toUpperCase();
}

function load(): Session {
  let deviceId = localStorage.getItem(K_DEVICE);
  if (!deviceId) {
    deviceId = newDeviceId();
    localStorage.setItem(K_DEVICE, deviceId);
  }
  try {
    const saved = JSON.parse(localStorage.getItem(K_SESSION) || "null");
    if (saved && saved.token && saved.user) return { token: saved.token, user: saved.user, deviceId };
  } catch {
    /* a corrupt entry means: sign in again */
  }
  return { token: null, user: null, deviceId };
}

export const session = new Store<Session>(load());

export function setDeviceId(id: string): void {
  localStorage.setItem(K_DEVICE, id);
  session.update({ deviceId: id });
}

export function signedIn(token: string, user: User, deviceId: string): void {
  localStorage.setItem(K_SESSION, JSON.stringify({ token, user }));
  setDeviceId(deviceId);
  session.update({ token, user });
}

export function signedOut(): void {
  localStorage.removeItem(K_SESSION);
  session.update({ token: null, user: null });
  navigator.serviceWorker?.controller?.postMessage({ type: "clear-data" });
}

export function hasRole(...roles: Role[]): boolean {
  const user = session.get().user;
  if (!user) return false;
  return user.roles.some((r) => r === "admin" || r === "supervisor" || roles.includes(r));
}

/** Supervisor or admin: the roles the supervisor area is for (not the blanket access of hasRole). */
export function isSupervisor(): boolean {
  return !!session.get().user?.roles.some((r) => r === "admin" || r === "supervisor");
}
