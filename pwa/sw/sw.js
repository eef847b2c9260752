/* udipick service worker.
 * App shell: precached at install, served cache-first, so the handheld starts in a cold room with no Wi-Fi.
 * Task lists and documents (GET /api/v1/..., not auth): network-first, the last answer kept, so the current
 * pick list is still there when the connection drops mid-wave. Scans (POST) are never cached here: the page
 * queues them in IndexedDB with their client scan ids and replays them in order.
 * __VERSION__ and __PRECACHE__ are filled in by vite.config.ts at build time.
 */
const VERSION = "__VERSION__";
const PRECACHE = __PRECACHE__;
const SHELL = `udipick-shell-${VERSION}`;
const LAZY = `udipick-lazy-${VERSION}`;
const DATA = "udipick-data-v1";

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(SHELL).then((c) => c.addAll(PRECACHE)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== SHELL && k !== LAZY && k !== DATA).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("message", (event) => {
  // sign-out: the cached task lists belong to the person who signed in
  if (event.data && event.data.type === "clear-data") event.waitUntil(caches.delete(DATA));
});

async function shell(request) {
  const cache = await caches.open(SHELL);
  const hit = await cache.match(request, { ignoreSearch: request.mode === "navigate" });
  if (hit) return hit;
  if (request.mode === "navigate") {
    const index = await cache.match("./");
    if (index) return index;
  }
  return fetch(request);
}

async function lazyAsset(request) {
  const cache = await caches.open(LAZY);
  const hit = await cache.match(request);
  if (hit) return hit;
  const response = await fetch(request);
  if (response.ok) cache.put(request, response.clone());
  return response;
}

async function data(request) {
  const cache = await caches.open(DATA);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(request, response.clone());
    return response;
  } catch (err) {
    const hit = await cache.match(request);
    if (hit) return hit;
    throw err;
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/api/")) {
    if (url.pathname.startsWith("/api/v1/auth/") || url.pathname.includes("/labels/")) return;
    event.respondWith(data(request));
    return;
  }
  if (url.pathname === "/sw.js" || url.pathname.startsWith("/schema")) return;
  if (request.mode === "navigate" || PRECACHE.includes(url.pathname.slice(1))) {
    event.respondWith(shell(request));
    return;
  }
  if (url.pathname.startsWith("/assets/")) event.respondWith(lazyAsset(request));
});
