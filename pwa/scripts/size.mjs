// Prints the gzipped size of the JavaScript the handheld loads at start (the entry and its static
// imports) and, separately, the lazy camera chunk and the zxing WebAssembly it fetches on first use.
import { readFileSync, readdirSync, statSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { join } from "node:path";

const dist = "dist";
const html = readFileSync(join(dist, "index.html"), "utf8");
const initial = new Set([...html.matchAll(/(?:src|href)="\/(assets\/[^"]+\.(?:js|css))"/g)].map((m) => m[1]));
const gz = (f) => gzipSync(readFileSync(join(dist, f)), { level: 9 }).length;
const kb = (n) => (n / 1024).toFixed(1) + " kB";
const assets = readdirSync(join(dist, "assets")).map((f) => `assets/${f}`);
let first = 0, firstCss = 0, lazy = 0, wasmRaw = 0, wasmGz = 0;
const rows = [];
for (const f of assets) {
  const raw = statSync(join(dist, f)).size;
  const z = gz(f);
  if (f.endsWith(".js")) {
    if (initial.has(f)) first += z;
    else lazy += z;
  } else if (f.endsWith(".css")) firstCss += z;
  else if (f.endsWith(".wasm")) { wasmRaw += raw; wasmGz += z; }
  rows.push(`${f.padEnd(44)} ${kb(raw).padStart(10)} ${kb(z).padStart(10)} gz${initial.has(f) ? "  (first load)" : ""}`);
}
console.log(rows.sort().join("\n"));
console.log(`first-load JS (gzipped): ${kb(first)}  [target < 150 kB]`);
console.log(`first-load CSS (gzipped): ${kb(firstCss)}`);
console.log(`camera JS, lazy (gzipped): ${kb(lazy)}`);
console.log(`camera zxing WebAssembly, lazy: ${kb(wasmRaw)} (${kb(wasmGz)} gzipped)`);
if (first > 150 * 1024) {
  console.error("first-load JS exceeds 150 kB gzipped");
  process.exit(1);
}
