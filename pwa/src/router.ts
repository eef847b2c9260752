// Hash routes (#/pick, #/receive/12): the server needs no SPA fallback and the app shell is one
// cached document.
import { Store } from "./store";

function parse(): { path: string; args: string[] } {
  const parts = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  return { path: parts[0] || "home", args: parts.slice(1) };
}

export const route = new Store(parse());
window.addEventListener("hashchange", () => route.set(parse()));

export function go(path: string, ...args: (string | number)[]): void {
  const hash = "#/" + [path, ...args.map((a) => encodeURIComponent(String(a)))].join("/");
  if (location.hash !== hash) location.hash = hash;
  else route.set(parse());
}
