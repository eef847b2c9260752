// Prints the gzipped size of the JavaScript the handheld loads at start (the entry and its static
// imports) and, separately, each lazy chunk (the camera, the supervisor area) and the zxing WebAssembly
// the camera fetches on first use.
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { join } from "node:path";

const dist = "dist";
const html = readFileSync(join(dist, "index.html"), "utf8");
const initial = new Set([...html.matchAll(/(?:src|href)="\/(assets\/[^"]+\.(?:js|css))"/g)].map((m) => m[1]));
const gz = (f) => gzipSync(readFileSync(join(dist, f)), { level: 9 }).length;
const kb = (n) => (n / 1024).toFixed(1) + " kB";
const assets = readdirSync(join(dist, "assets")).filter((f) => !/\.(?:br|gz)$/.test(f)).map((f) => `assets/${f}`);
let first = 0, firstCss = 0, wasmRaw = 0, wasmGz = 0;
const lazy = new Map(); // chunk name (file name before its hash) -> gzipped JS + CSS
const rows = [];
for (const f of assets) {
  const raw = statSync(join(dist, f)).size;
  const z = gz(f);
  const chunk = f.replace(/^assets\//, "").replace(/-[\w-]{8}\.\w+$/, "");
  if ((f.endsWith(".js") || f.endsWith(".css")) && !initial.has(f)) lazy.set(chunk, (lazy.get(chunk) ?? 0) + z);
  else if (f.endsWith(".js")) first += z;
  else if (f.endsWith(".css")) firstCss += z;
  else if (f.endsWith(".wasm")) { wasmRaw += raw; wasmGz += z; }
  rows.push(`${f.padEnd(44)} ${kb(raw).padStart(10)} ${kb(z).padStart(10)} gz${initial.has(f) ? "  (first load)" : ""}`);
}
console.log(rows.sort().join("\n"));
console.log(`first-load JS (gzipped): ${kb(first)}  [target < 150 kB]`);
// what `udipick serve` sends a browser that accepts brotli: the .br copies written by compress.mjs
const br = (f) => (existsSync(join(dist, f + ".br")) ? statSync(join(dist, f + ".br")).size : statSync(join(dist, f)).size);
console.log(`first-load JS (brotli, as served): ${kb([...initial].filter((f) => f.endsWith(".js")).reduce((n, f) => n + br(f), 0))}`);
console.log(`first-load CSS (gzipped): ${kb(firstCss)}`);
for (const [chunk, z] of [...lazy].sort()) console.log(`lazy chunk ${chunk}, JS + CSS (gzipped): ${kb(z)}`);
console.log(`camera zxing WebAssembly, lazy: ${kb(wasmRaw)} (${kb(wasmGz)} gzipped)`);
if (first > 150 * 1024) {
  console.error("first-load JS exceeds 150 kB gzipped");
  process.exit(1);
}
