// PNG and JPEG files as the { width, height, data: RGBA bytes } images the library takes (the ImageData layout).
// Decoders: pngjs and jpeg-js, both pure JavaScript: `npm install` needs no compiler, no native binary per
// platform and no system library (sharp or canvas would), and both are small, long-maintained and bounded
// (jpeg-js refuses images above a resolution / memory limit instead of exhausting the heap). The format is told by
// the file's first bytes, never by its name.
import { readFile, writeFile } from 'node:fs/promises';
import pngjs from 'pngjs';
import jpeg from 'jpeg-js';
import { CnnError } from '../index.js';

const { PNG } = pngjs;

/** Images larger than this many pixels are refused before decoding (jpeg-js's own default is 100 megapixels). */
export const MAX_PIXELS = 100e6;

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const startsWith = (bytes, magic) => magic.every((b, i) => bytes[i] === b);

// Formats we recognise only to say that they are not supported, instead of "not an image".
const OTHER_FORMATS = [
  ['GIF', [0x47, 0x49, 0x46, 0x38]],
  ['BMP', [0x42, 0x4d]],
  ['TIFF', [0x49, 0x49, 0x2a, 0x00]],
  ['TIFF', [0x4d, 0x4d, 0x00, 0x2a]],
  ['ICO', [0x00, 0x00, 0x01, 0x00]],
];

/** 'png' | 'jpeg' from a file's first bytes, or null. */
export function imageFormat(bytes) {
  if (bytes.length >= 8 && startsWith(bytes, PNG_MAGIC)) return 'png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  return null;
}

function otherFormat(bytes) {
  if (bytes.length >= 12 && String.fromCharCode(...bytes.subarray(0, 4)) === 'RIFF' &&
      String.fromCharCode(...bytes.subarray(8, 12)) === 'WEBP') return 'WebP';
  if (bytes.length >= 12 && String.fromCharCode(...bytes.subarray(4, 12)) === 'ftypavif') return 'AVIF';
  for (const [name, magic] of OTHER_FORMATS) if (bytes.length >= magic.length && startsWith(bytes, magic)) return name;
  return null;
}

const fail = (name, detail) => { throw new CnnError(`${name}: ${detail}`); };

function checkPixels(name, width, height, maxPixels) {
  if (width === 0 || height === 0) fail(name, `the image is empty (${width} x ${height} pixels)`);
  if (width * height > maxPixels) {
    fail(name, `the image is ${width} x ${height} pixels, more than the limit of ${maxPixels} (option maxPixels)`);
  }
}

// Walks the PNG chunk list so that a cut-off file is reported as truncated rather than as pngjs's stream message.
function checkPngStructure(bytes, name, maxPixels) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 8;
  let sawHeader = false;
  while (at + 8 <= bytes.length) {
    const length = view.getUint32(at);
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    if (!sawHeader) {
      if (type !== 'IHDR' || length !== 13) fail(name, 'corrupt PNG: the first chunk is not a 13-byte IHDR header');
      if (at + 8 + 13 > bytes.length) break;
      checkPixels(name, view.getUint32(at + 8), view.getUint32(at + 12), maxPixels);
      sawHeader = true;
    }
    if (type === 'IEND') return;
    at += 12 + length; // length, type, data, CRC
  }
  fail(name, `truncated PNG: the file ends after ${bytes.length} bytes, before the end-of-image (IEND) chunk`);
}

function decodePng(bytes, name, maxPixels) {
  checkPngStructure(bytes, name, maxPixels);
  let png;
  try {
    // pngjs expands grey, grey + alpha, palette and RGB to RGBA and scales 16-bit samples to 8 bits.
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (err) {
    fail(name, `corrupt PNG (${err.message})`);
  }
  return { width: png.width, height: png.height, data: new Uint8ClampedArray(png.data.buffer, png.data.byteOffset, png.data.length) };
}

function decodeJpeg(bytes, name, maxPixels) {
  let image;
  try {
    image = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: maxPixels / 1e6,
      maxMemoryUsageInMB: 1024 });
  } catch (err) {
    let end = bytes.length - 1;
    while (end > 1 && bytes[end] === 0) end--; // some writers pad after the end marker
    const hasEnd = bytes[end - 1] === 0xff && bytes[end] === 0xd9;
    if (/maxResolutionInMP|maxMemoryUsageInMB/.test(err.message)) fail(name, `the JPEG is too large to decode (${err.message})`);
    if (!hasEnd) fail(name, `truncated JPEG: the file ends after ${bytes.length} bytes without the end-of-image marker (${err.message})`);
    fail(name, `corrupt or unsupported JPEG (${err.message}); jpeg-js reads baseline and progressive JPEG`);
  }
  checkPixels(name, image.width, image.height, maxPixels);
  return { width: image.width, height: image.height, data: new Uint8ClampedArray(image.data.buffer, image.data.byteOffset, image.data.length) };
}

/**
 * Decodes PNG or JPEG bytes (told apart by their first bytes) into { width, height, data: Uint8ClampedArray RGBA }.
 * `name` (a file name) prefixes every error message.
 */
export function decodeImage(bytes, { name = 'image', maxPixels = MAX_PIXELS } = {}) {
  if (!(bytes instanceof Uint8Array)) fail(name, `expected the file's bytes as a Uint8Array or Buffer, got ${typeof bytes}`);
  if (bytes.length === 0) fail(name, 'the file is empty (0 bytes), not an image');
  const format = imageFormat(bytes);
  if (format === 'png') return decodePng(bytes, name, maxPixels);
  if (format === 'jpeg') return decodeJpeg(bytes, name, maxPixels);
  const other = otherFormat(bytes);
  if (other) fail(name, `${other} images are not supported; convert it to PNG or JPEG`);
  const head = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
  return fail(name, `not a PNG or JPEG image (the file starts with bytes ${head})`);
}

/** Reads a PNG or JPEG file into { width, height, data: Uint8ClampedArray RGBA }. */
export async function readImage(path, options = {}) {
  const name = String(path);
  let bytes;
  try {
    bytes = await readFile(path);
  } catch (err) {
    if (err.code === 'ENOENT') fail(name, 'no such file');
    if (err.code === 'EISDIR') fail(name, 'is a directory, not an image file');
    fail(name, `cannot read the file (${err.code ?? err.message})`);
  }
  return decodeImage(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length), { ...options, name });
}

function checkImage(image, name) {
  if (!image || typeof image !== 'object') fail(name, `expected an image { width, height, data }, got ${image === null ? 'null' : typeof image}`);
  const { width, height, data } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    fail(name, `width and height must be positive integers, got ${width} x ${height}`);
  }
  if (!(data instanceof Uint8Array || data instanceof Uint8ClampedArray)) {
    fail(name, 'data must be a Uint8ClampedArray or Uint8Array of RGBA bytes');
  }
  if (data.length !== width * height * 4) {
    fail(name, `data holds ${data.length} bytes, but a ${width} x ${height} RGBA image needs ${width * height * 4}`);
  }
  return { width, height, data: Buffer.from(data.buffer, data.byteOffset, data.length) };
}

/**
 * Encodes { width, height, data: RGBA } as 'png' (8-bit RGBA, lossless) or 'jpeg' (`quality` 1..100, default 90;
 * alpha is dropped) and returns the bytes.
 */
export function encodeImage(image, format, { quality = 90, name = 'image' } = {}) {
  const { width, height, data } = checkImage(image, name);
  if (format === 'png') {
    return new Uint8Array(PNG.sync.write({ width, height, data }, { colorType: 6, inputColorType: 6, bitDepth: 8 }));
  }
  if (format === 'jpeg' || format === 'jpg') {
    if (!Number.isInteger(quality) || quality < 1 || quality > 100) fail(name, `quality must be an integer from 1 to 100, got ${quality}`);
    return new Uint8Array(jpeg.encode({ width, height, data }, quality).data);
  }
  return fail(name, `unknown image format '${format}'; use 'png' or 'jpeg'`);
}

/** The format a file name asks for: 'png' | 'jpeg' | null. */
export function formatFromName(path) {
  const m = /\.(png|jpe?g)$/i.exec(String(path));
  if (!m) return null;
  return m[1].toLowerCase() === 'png' ? 'png' : 'jpeg';
}

/**
 * Writes an image to `path` as PNG (.png) or JPEG (.jpg / .jpeg, `quality` 1..100, default 90), told by the
 * extension. Resolves to the number of bytes written.
 */
export async function writeImage(path, image, { quality } = {}) {
  const name = String(path);
  const format = formatFromName(name);
  if (!format) fail(name, 'the file name must end in .png, .jpg or .jpeg (it decides the format)');
  const bytes = encodeImage(image, format, { quality, name });
  try {
    await writeFile(path, bytes);
  } catch (err) {
    fail(name, `cannot write the file (${err.code ?? err.message})`);
  }
  return bytes.length;
}
