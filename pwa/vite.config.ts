/// <reference types="node" />
// Vite build for the handheld. The service worker is a plain script (sw/sw.js) whose precache list is
// filled in here from the bundle, so the app shell works offline from the first visit; the camera
// polyfill (barcode-detector + zxing-wasm) and the supervisor area stay lazy chunks, cached only once used.
import { createHash } from "node:crypto";
import { readFileSync, readdirSync } from "node:fs";
import { defineConfig, type Plugin } from "vite";

function serviceWorker(): Plugin {
  return {
    name: "udipick-service-worker",
    apply: "build",
    generateBundle(_options, bundle) {
      // Handheld screens split off the first load (src/app.tsx) are precached all the same: a picker
      // who opens Count for the first time in a cold room with no Wi-Fi still gets it.
      const lazy = new Set<string>();
      const screens = new Set<string>();
      for (const chunk of Object.values(bundle)) {
        if (chunk.type === "chunk" && chunk.isDynamicEntry) {
          const into = chunk.facadeModuleId?.includes("/src/screens/") ? screens : lazy;
          into.add(chunk.fileName);
          for (const dep of chunk.imports) into.add(dep);
        }
      }
      for (const f of screens) lazy.delete(f);
      const assets = Object.keys(bundle).filter((f) => !lazy.has(f) && !f.endsWith(".wasm") && !f.endsWith(".map"));
      const icons = readdirSync("public/icons").map((f) => `icons/${f}`);
      const precache = ["./", "manifest.webmanifest", ...icons, ...assets.filter((f) => f !== "index.html")];
      const version = createHash("sha256").update(JSON.stringify(precache)).digest("hex").slice(0, 12);
      const source = readFileSync("sw/sw.js", "utf8")
        .replace('const VERSION = "__VERSION__";', `const VERSION = "${version}";`)
        .replace("const PRECACHE = __PRECACHE__;", `const PRECACHE = ${JSON.stringify(precache)};`);
      this.emitFile({ type: "asset", fileName: "sw.js", source });
    },
  };
}

export default defineConfig({
  base: "/",
  plugins: [serviceWorker()],
  build: {
    target: "es2020",
    sourcemap: false,
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 1200,
  },
  server: {
    proxy: { "/api": "http://127.0.0.1:8000" },
  },
});
