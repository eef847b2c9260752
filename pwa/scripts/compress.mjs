// Precompresses the build for `udipick serve` (server/udipick/api/pwa.py), which picks the copy the
// browser accepts instead of compressing per request: next to every compressible file a brotli copy
// (quality 11, `.br`) and a gzip copy (level 9, `.gz`), each kept only when it is smaller.
import { readFileSync, readdirSync, statSync, writeFileSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";

const COMPRESSIBLE = /\.(?:js|mjs|css|html|json|webmanifest|svg|wasm|txt)$/;

function* files(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* files(path);
    else yield path;
  }
}

let count = 0;
for (const path of [...files("dist")]) {
  if (path.endsWith(".br") || path.endsWith(".gz")) {
    unlinkSync(path); // a stale copy from an earlier build
    continue;
  }
  if (!COMPRESSIBLE.test(path)) continue;
  const raw = readFileSync(path);
  const copies = {
    ".br": brotliCompressSync(raw, {
      params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: raw.length },
    }),
    ".gz": gzipSync(raw, { level: 9 }),
  };
  for (const [suffix, data] of Object.entries(copies)) {
    if (data.length < raw.length) {
      writeFileSync(path + suffix, data);
      count++;
    }
  }
}
console.log(`precompressed ${count} copies (.br, .gz) in dist`);
