// Types of wasm-cnn/node (web/node/index.js): PNG and JPEG files as { width, height, data } RGBA images.

/** An image in the ImageData layout: `data` holds width * height * 4 RGBA bytes, row by row. */
export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8ClampedArray | Uint8Array;
}

/** A decoded image: always a Uint8ClampedArray of 8-bit RGBA. */
export interface DecodedImage extends RgbaImage {
  data: Uint8ClampedArray;
}

export interface DecodeOptions {
  /** Refuse images with more pixels than this before decoding (default MAX_PIXELS, 100 million). */
  maxPixels?: number;
}

/** 100e6: the default pixel limit of readImage / decodeImage. */
export const MAX_PIXELS: number;

/** Reads a PNG (any colour type, 1 to 16 bits, palette) or JPEG file, told apart by its first bytes. */
export function readImage(path: string | URL, options?: DecodeOptions): Promise<DecodedImage>;

/** Writes .png (8-bit RGBA) or .jpg / .jpeg (quality 1..100, default 90; alpha dropped); resolves to the byte count. */
export function writeImage(path: string | URL, image: RgbaImage, options?: { quality?: number }): Promise<number>;

/** decodeImage for bytes already in memory; `name` prefixes error messages. */
export function decodeImage(bytes: Uint8Array, options?: DecodeOptions & { name?: string }): DecodedImage;

/** The bytes of a PNG or JPEG file. */
export function encodeImage(image: RgbaImage, format: 'png' | 'jpeg' | 'jpg', options?: { quality?: number; name?: string }): Uint8Array;

/** 'png' | 'jpeg' from a file's first bytes, or null. */
export function imageFormat(bytes: Uint8Array): 'png' | 'jpeg' | null;

/**
 * An image as a model input [h, w, c] (values / 255; c = 1 luminance, 3 RGB, 4 RGBA), resized bilinearly when its
 * size differs: what `wasm-cnn predict` and `train` feed a model.
 */
export function imageToInput(image: RgbaImage, shape: [number, number, number]): { values: Float32Array; resized: boolean };
