// wasm-cnn/node image files: PNG of every colour type and bit depth (built by hand here, so the reader is not only
// checked against its own writer), JPEG, format detection by magic bytes, and the error for each kind of bad file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile, readFile, rm, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync, crc32 } from 'node:zlib';
import { readImage, writeImage, decodeImage, encodeImage, imageFormat, imageToInput } from '../../web/node/index.js';
import * as cnn from '../../web/index.js';

const dir = await mkdtemp(join(tmpdir(), 'wasm-cnn-images-'));
process.on('exit', () => rm(dir, { recursive: true, force: true }));

function chunk(type, data) {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/** A PNG from raw scanlines (filter byte 0 before each row), with optional extra chunks before IDAT. */
function makePng({ width, height, bitDepth, colorType, rows, extra = [] }) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = bitDepth; ihdr[9] = colorType;
  const raw = Buffer.concat(rows.map((r) => Buffer.concat([Buffer.from([0]), Buffer.from(r)])));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr),
    ...extra.map(([t, d]) => chunk(t, Buffer.from(d))), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

const pixel = (img, x, y) => Array.from(img.data.subarray(4 * (y * img.width + x), 4 * (y * img.width + x) + 4));

test('PNG: 8-bit grey, 16-bit grey, grey + alpha, palette with transparency, 16-bit RGB all read as 8-bit RGBA', async () => {
  const cases = [
    { name: 'grey8', png: { width: 3, height: 2, bitDepth: 8, colorType: 0, rows: [[0, 128, 255], [1, 2, 3]] },
      expect: [[0, 0, [0, 0, 0, 255]], [1, 0, [128, 128, 128, 255]], [2, 1, [3, 3, 3, 255]]] },
    { name: 'grey16', png: { width: 2, height: 1, bitDepth: 16, colorType: 0, rows: [[0xff, 0xff, 0x80, 0x00]] },
      expect: [[0, 0, [255, 255, 255, 255]], [1, 0, [128, 128, 128, 255]]] },
    { name: 'grey-alpha', png: { width: 2, height: 1, bitDepth: 8, colorType: 4, rows: [[10, 20, 30, 40]] },
      expect: [[0, 0, [10, 10, 10, 20]], [1, 0, [30, 30, 30, 40]]] },
    { name: 'palette', png: { width: 3, height: 1, bitDepth: 8, colorType: 3, rows: [[0, 1, 2]],
      extra: [['PLTE', [255, 0, 0, 0, 255, 0, 0, 0, 255]], ['tRNS', [255, 7]]] },
      expect: [[0, 0, [255, 0, 0, 255]], [1, 0, [0, 255, 0, 7]], [2, 0, [0, 0, 255, 255]]] },
    { name: 'palette-4bit', png: { width: 2, height: 1, bitDepth: 4, colorType: 3, rows: [[0x10]],
      extra: [['PLTE', [1, 2, 3, 4, 5, 6]]] },
      expect: [[0, 0, [4, 5, 6, 255]], [1, 0, [1, 2, 3, 255]]] },
    { name: 'rgb16', png: { width: 1, height: 1, bitDepth: 16, colorType: 2, rows: [[0xff, 0xff, 0x00, 0x00, 0x80, 0x00]] },
      expect: [[0, 0, [255, 0, 128, 255]]] },
  ];
  for (const c of cases) {
    const path = join(dir, `${c.name}.png`);
    await writeFile(path, makePng(c.png));
    const img = await readImage(path);
    assert.equal(img.width, c.png.width, c.name);
    assert.equal(img.height, c.png.height, c.name);
    assert.ok(img.data instanceof Uint8ClampedArray, c.name);
    assert.equal(img.data.length, img.width * img.height * 4, c.name);
    for (const [x, y, rgba] of c.expect) assert.deepEqual(pixel(img, x, y), rgba, `${c.name} (${x}, ${y})`);
  }
});

test('PNG: writeImage then readImage gives back the same RGBA bytes', async () => {
  const width = 7, height = 5;
  const data = new Uint8ClampedArray(width * height * 4).map((_, i) => (i * 37 + 11) % 256);
  const path = join(dir, 'round.png');
  const bytes = await writeImage(path, { width, height, data });
  assert.equal(bytes, (await readFile(path)).length);
  const back = await readImage(path);
  assert.deepEqual([back.width, back.height], [width, height]);
  assert.deepEqual(Array.from(back.data), Array.from(data));
});

test('JPEG: written at a quality, read back close to the original; higher quality is closer and larger', async () => {
  const width = 32, height = 24;
  const data = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = 4 * (y * width + x);
      data[i] = x * 8; data[i + 1] = y * 10; data[i + 2] = 128; data[i + 3] = 255;
    }
  }
  const errorAt = async (quality) => {
    const path = join(dir, `q${quality}.jpg`);
    const size = await writeImage(path, { width, height, data }, { quality });
    const back = await readImage(path);
    assert.deepEqual([back.width, back.height], [width, height]);
    let sum = 0;
    for (let i = 0; i < data.length; i += 4) for (let k = 0; k < 3; k++) sum += Math.abs(back.data[i + k] - data[i + k]);
    for (let i = 3; i < data.length; i += 4) assert.equal(back.data[i], 255);
    return { size, meanError: sum / (width * height * 3) };
  };
  const low = await errorAt(20);
  const high = await errorAt(95);
  assert.ok(high.meanError < 2.5, `quality 95 mean error ${high.meanError}`);
  assert.ok(low.meanError > high.meanError, `quality 20 (${low.meanError}) should be worse than 95 (${high.meanError})`);
  assert.ok(low.size < high.size, `quality 20 (${low.size} bytes) should be smaller than 95 (${high.size})`);
  // .jpeg is the same format as .jpg
  await writeImage(join(dir, 'x.jpeg'), { width, height, data });
  assert.equal(imageFormat(await readFile(join(dir, 'x.jpeg'))), 'jpeg');
});

test('the format comes from the bytes, not the file name', async () => {
  const png = encodeImage({ width: 2, height: 2, data: new Uint8Array(16).fill(200) }, 'png');
  await writeFile(join(dir, 'actually-png.jpg'), png);
  const img = await readImage(join(dir, 'actually-png.jpg'));
  assert.deepEqual(pixel(img, 1, 1), [200, 200, 200, 200]);
  const jpg = encodeImage({ width: 8, height: 8, data: new Uint8Array(256).fill(90) }, 'jpeg', { quality: 100 });
  await writeFile(join(dir, 'no-extension'), jpg);
  assert.equal((await readImage(join(dir, 'no-extension'))).width, 8);
});

test('bad files: each error names the file and says what is wrong', async () => {
  const good = encodeImage({ width: 16, height: 16, data: new Uint8Array(1024).fill(60) }, 'png');
  const jpg = encodeImage({ width: 16, height: 16, data: new Uint8Array(1024).fill(60) }, 'jpeg');
  const corrupt = Buffer.from(good);
  const idat = corrupt.indexOf('IDAT');
  corrupt[idat + 6] ^= 0xff; // inside the compressed data: the chunk CRC no longer matches
  const files = {
    'empty.png': [Buffer.alloc(0), /empty\.png: the file is empty/],
    'text.png': [Buffer.from('hello, not an image'), /text\.png: not a PNG or JPEG image \(the file starts with bytes 68 65 6c 6c\)/],
    'anim.gif': [Buffer.from('GIF89a\x01\x00\x01\x00', 'latin1'), /anim\.gif: GIF images are not supported; convert it to PNG or JPEG/],
    'pic.webp': [Buffer.from('RIFF\x00\x00\x00\x00WEBPVP8 ', 'latin1'), /pic\.webp: WebP images are not supported/],
    'cut.png': [good.subarray(0, good.length - 20), /cut\.png: truncated PNG: the file ends after \d+ bytes, before the end-of-image \(IEND\) chunk/],
    'cut-header.png': [good.subarray(0, 20), /cut-header\.png: truncated PNG/],
    'corrupt.png': [corrupt, /corrupt\.png: corrupt PNG \(/],
    'cut.jpg': [jpg.subarray(0, Math.floor(jpg.length / 2)), /cut\.jpg: truncated JPEG: the file ends after \d+ bytes without the end-of-image marker/],
    'zero.png': [makePng({ width: 0, height: 1, bitDepth: 8, colorType: 0, rows: [[]] }), /zero\.png: the image is empty \(0 x 1 pixels\)/],
  };
  for (const [name, [bytes, message]] of Object.entries(files)) {
    await writeFile(join(dir, name), bytes);
    await assert.rejects(readImage(join(dir, name)), (err) => {
      assert.ok(err instanceof cnn.CnnError, `${name}: ${err}`);
      assert.match(err.message, message);
      return true;
    });
  }
  await assert.rejects(readImage(join(dir, 'missing.png')), /missing\.png: no such file/);
  await mkdir(join(dir, 'folder.png'), { recursive: true });
  await assert.rejects(readImage(join(dir, 'folder.png')), /folder\.png: is a directory, not an image file/);
  // a header that announces more pixels than allowed is refused before any decoding
  const huge = makePng({ width: 1, height: 1, bitDepth: 8, colorType: 0, rows: [[0]] });
  huge.writeUInt32BE(50000, 16); huge.writeUInt32BE(50000, 20);
  assert.throws(() => decodeImage(huge, { name: 'huge.png' }), /huge\.png: the image is 50000 x 50000 pixels, more than the limit of 100000000/);
  assert.throws(() => decodeImage(good, { name: 'small.png', maxPixels: 100 }), /small\.png: the image is 16 x 16 pixels, more than the limit of 100/);
  assert.throws(() => decodeImage(jpg, { name: 'small.jpg', maxPixels: 100 }), /small\.jpg: the JPEG is too large to decode/);
});

test('writeImage refuses bad images, names and qualities', async () => {
  const image = { width: 2, height: 2, data: new Uint8ClampedArray(16) };
  await assert.rejects(writeImage(join(dir, 'out.gif'), image), /out\.gif: the file name must end in \.png, \.jpg or \.jpeg/);
  await assert.rejects(writeImage(join(dir, 'out.png'), { width: 2, height: 2, data: new Uint8Array(15) }),
    /out\.png: data holds 15 bytes, but a 2 x 2 RGBA image needs 16/);
  await assert.rejects(writeImage(join(dir, 'out.png'), { width: 0, height: 2, data: new Uint8Array(0) }), /width and height must be positive integers, got 0 x 2/);
  await assert.rejects(writeImage(join(dir, 'out.png'), { width: 1, height: 1, data: [1, 2, 3, 4] }), /data must be a Uint8ClampedArray or Uint8Array/);
  await assert.rejects(writeImage(join(dir, 'out.jpg'), image, { quality: 0 }), /out\.jpg: quality must be an integer from 1 to 100, got 0/);
  await assert.rejects(writeImage(join(dir, 'no-such-dir', 'out.png'), image), /out\.png: cannot write the file \(ENOENT\)/);
});

test('imageToInput: luminance for one channel, RGB for three, values / 255, bilinear resize when sizes differ', async () => {
  await cnn.ready();
  const image = { width: 2, height: 1, data: new Uint8ClampedArray([255, 0, 0, 255, 0, 0, 255, 255]) };
  const grey = imageToInput(image, [1, 2, 1]);
  assert.equal(grey.resized, false);
  assert.ok(Math.abs(grey.values[0] - 0.299) < 1e-6 && Math.abs(grey.values[1] - 0.114) < 1e-6, `${grey.values}`);
  const rgb = imageToInput(image, [1, 2, 3]);
  assert.deepEqual(Array.from(rgb.values), [1, 0, 0, 0, 0, 1]);
  const up = imageToInput(image, [1, 4, 3]);
  assert.equal(up.resized, true);
  assert.equal(up.values.length, 12);
  // half-pixel centres: the outer pixels copy the edges, the inner two mix 3:1
  assert.deepEqual(Array.from(up.values, (v) => Math.round(v * 100) / 100), [1, 0, 0, 0.75, 0, 0.25, 0.25, 0, 0.75, 0, 0, 1]);
});
