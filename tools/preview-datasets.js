// Writes build/preview/shapes.png and build/preview/mnist-scenes.png: a grid of generated images, each next to its
// colour-coded mask (cnn.data.palette; background black), to check the generators by eye. PNG written with node:zlib.
//
//   node tools/preview-datasets.js [--seed N] [--count N] [--size N]
//
// mnist-scenes.png needs dist/data/mnist.bin (node tools/prepare-mnist.js); it is skipped with a note otherwise.
import { deflateSync } from 'node:zlib';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { data } from '../web/data/index.js';
import { loadMnist } from '../recipes/mnist.js';

const args = process.argv.slice(2);
const arg = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const SEED = arg('seed', 1);
const COUNT = arg('count', 12);   // images per sheet
const SIZE = arg('size', 64);
const ZOOM = 3;
const GAP = 6;
const PAIRS_PER_ROW = 3;

const outDir = fileURLToPath(new URL('../build/preview/', import.meta.url));
mkdirSync(outDir, { recursive: true });

// ---- PNG (RGBA, 8 bits) -----------------------------------------------------------------------------------------
const CRC_TABLE = new Uint32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, body) {
  const out = Buffer.alloc(12 + body.length);
  out.writeUInt32BE(body.length, 0);
  out.write(type, 4, 'ascii');
  Buffer.from(body).copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + body.length)), 8 + body.length);
  return out;
}
function encodePng(rgba, width, height) {
  const raw = Buffer.alloc((width * 4 + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (width * 4 + 1)] = 0; // filter: none
    Buffer.from(rgba.buffer, rgba.byteOffset + y * width * 4, width * 4).copy(raw, y * (width * 4 + 1) + 1);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; header[9] = 6; header[10] = 0; header[11] = 0; header[12] = 0; // 8-bit RGBA
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header), chunk('IDAT', deflateSync(raw, { level: 9 })), chunk('IEND', new Uint8Array(0)),
  ]);
}

// ---- sheet: rows of [image | mask] pairs ------------------------------------------------------------------------
function sheet(set, n, file) {
  const { height: h, width: w, channels } = set;
  const pal = data.palette(set.numClasses);
  const cellW = w * ZOOM;
  const cellH = h * ZOOM;
  const rows = Math.ceil(n / PAIRS_PER_ROW);
  const W = PAIRS_PER_ROW * (2 * cellW + GAP) + (PAIRS_PER_ROW + 1) * GAP;
  const H = rows * (cellH + GAP) + GAP;
  const rgba = new Uint8Array(W * H * 4).fill(255); // white margins
  const put = (X, Y, r, g, b) => { const q = (Y * W + X) * 4; rgba[q] = r; rgba[q + 1] = g; rgba[q + 2] = b; rgba[q + 3] = 255; };
  for (let i = 0; i < n; i++) {
    const ox = GAP + (i % PAIRS_PER_ROW) * (2 * cellW + 2 * GAP);
    const oy = GAP + Math.floor(i / PAIRS_PER_ROW) * (cellH + GAP);
    for (let Y = 0; Y < cellH; Y++) {
      for (let X = 0; X < cellW; X++) {
        const p = i * h * w + Math.floor(Y / ZOOM) * w + Math.floor(X / ZOOM);
        const v = (c) => Math.round(255 * set.images[p * channels + (channels === 3 ? c : 0)]);
        put(ox + X, oy + Y, v(0), v(1), v(2));
        const cls = set.masks[p];
        put(ox + cellW + GAP + X, oy + Y, pal[cls * 4], pal[cls * 4 + 1], pal[cls * 4 + 2]);
      }
    }
  }
  writeFileSync(outDir + file, encodePng(rgba, W, H));
  console.log(`wrote build/preview/${file} (${W}×${H}): ${n} images with their masks`);
  const legend = set.classNames.map((name, c) => `${name}=rgb(${pal[c * 4]},${pal[c * 4 + 1]},${pal[c * 4 + 2]})`);
  console.log(`  mask colours: ${legend.join(' ')}`);
}

let t = performance.now();
const shapeSet = data.shapes({ count: COUNT, size: SIZE, seed: SEED });
console.log(`shapes: ${COUNT} images in ${(performance.now() - t).toFixed(1)} ms`);
sheet(shapeSet, COUNT, 'shapes.png');

let digits;
try {
  digits = await loadMnist();
} catch (err) {
  console.log(`skipping mnist-scenes.png: ${err.message}`);
}
if (digits) {
  t = performance.now();
  const scenes = data.mnistScenes({ digits, count: COUNT, size: SIZE, seed: SEED });
  console.log(`mnistScenes: ${COUNT} scenes in ${(performance.now() - t).toFixed(1)} ms`);
  sheet(scenes, COUNT, 'mnist-scenes.png');
  for (let i = 0; i < Math.min(COUNT, 6); i++) {
    console.log(`  scene ${i}: digits ${scenes.objects[i].map((d) => d.label).join(', ')}`);
  }
}
