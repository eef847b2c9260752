// Writes the PWA icons (public/icons/*.png) with no image library: a navy tile with a white
// barcode and a green tick. Run once: `node scripts/make-icons.mjs` (the PNGs are committed).
import { writeFileSync, mkdirSync } from "node:fs";
import { deflateSync } from "node:zlib";

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}
function png(size, pixel) {
  const raw = Buffer.alloc(size * (size * 3 + 1));
  for (let y = 0; y < size; y++) {
    raw[y * (size * 3 + 1)] = 0;
    for (let x = 0; x < size; x++) {
      const [r, g, b] = pixel(x / size, y / size);
      const o = y * (size * 3 + 1) + 1 + x * 3;
      raw[o] = r; raw[o + 1] = g; raw[o + 2] = b;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; ihdr[9] = 2; ihdr[10] = 0; ihdr[11] = 0; ihdr[12] = 0;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(raw, { level: 9 })),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}
const NAVY = [11, 31, 51], WHITE = [255, 255, 255], GREEN = [38, 194, 129];
const BARS = [2, 1, 1, 3, 1, 2, 2, 1, 3, 1, 1, 2, 1, 1, 2, 3, 1, 2];
function icon(inset) {
  const edges = [];
  let pos = 0;
  const total = BARS.reduce((a, b) => a + b, 0);
  for (const w of BARS) { edges.push([pos / total, (pos + w) / total]); pos += w; }
  return (u, v) => {
    const x = (u - inset) / (1 - 2 * inset), y = (v - inset) / (1 - 2 * inset);
    if (x < 0 || x > 1 || y < 0 || y > 1) return NAVY;
    // tick, lower right
    const tx = x - 0.62, ty = y - 0.62;
    const onTick = (tx >= 0 && tx <= 0.12 && Math.abs(ty - tx - 0.1) < 0.045) ||
                   (tx >= 0.1 && tx <= 0.32 && Math.abs(ty - (0.22 - (tx - 0.1))) < 0.045);
    if (onTick) return GREEN;
    if (y > 0.18 && y < 0.62 && x > 0.16 && x < 0.84) {
      const bx = (x - 0.16) / 0.68;
      const i = edges.findIndex(([a, b]) => bx >= a && bx < b);
      return i % 2 === 0 ? WHITE : NAVY;
    }
    return NAVY;
  };
}
mkdirSync("public/icons", { recursive: true });
writeFileSync("public/icons/icon-192.png", png(192, icon(0)));
writeFileSync("public/icons/icon-512.png", png(512, icon(0)));
writeFileSync("public/icons/maskable-512.png", png(512, icon(0.12)));
console.log("icons written to public/icons");
