// Layout conversions between wasm-cnn (NHWC, tfjs weight layouts) and ONNX (NCHW, PyTorch weight layouts). Plain
// loops over Float32Arrays; each function returns a new array.

/** NHWC data of shape [n, h, w, c] -> NCHW. */
export function nhwcToNchw(data, [n, h, w, c]) {
  const out = new Float32Array(n * h * w * c);
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const src = ((b * h + y) * w + x) * c;
        for (let k = 0; k < c; k++) out[((b * c + k) * h + y) * w + x] = data[src + k];
      }
    }
  }
  return out;
}

/** NCHW data of shape [n, c, h, w] -> NHWC. */
export function nchwToNhwc(data, [n, c, h, w]) {
  const out = new Float32Array(n * c * h * w);
  for (let b = 0; b < n; b++) {
    for (let k = 0; k < c; k++) {
      for (let y = 0; y < h; y++) {
        const src = ((b * c + k) * h + y) * w;
        for (let x = 0; x < w; x++) out[((b * h + y) * w + x) * c + k] = data[src + x];
      }
    }
  }
  return out;
}

/**
 * Kernel [kh, kw, a, b] -> [b, a, kh, kw]. One permutation serves both kernels: Conv HWIO -> OIHW, and a transposed
 * convolution's tfjs [kh, kw, filters, in] -> ONNX ConvTranspose's [in, filters, kh, kw].
 */
export function kernelToOnnx(k, [kh, kw, a, b]) {
  const out = new Float32Array(k.length);
  for (let y = 0; y < kh; y++) {
    for (let x = 0; x < kw; x++) {
      for (let i = 0; i < a; i++) {
        for (let o = 0; o < b; o++) out[((o * a + i) * kh + y) * kw + x] = k[((y * kw + x) * a + i) * b + o];
      }
    }
  }
  return out;
}

/** The inverse of kernelToOnnx: [b, a, kh, kw] -> [kh, kw, a, b]. */
export function kernelFromOnnx(k, [b, a, kh, kw]) {
  const out = new Float32Array(k.length);
  for (let o = 0; o < b; o++) {
    for (let i = 0; i < a; i++) {
      for (let y = 0; y < kh; y++) {
        for (let x = 0; x < kw; x++) out[((y * kw + x) * a + i) * b + o] = k[((o * a + i) * kh + y) * kw + x];
      }
    }
  }
  return out;
}

/**
 * Dense kernel rows between the two flatten orders of an [h, w, c] map: ours (h, w, c) and ONNX's Flatten of NCHW
 * (c, h, w). toChw: ours -> ONNX; otherwise ONNX -> ours.
 */
export function denseRows(k, [h, w, c], units, toChw) {
  const out = new Float32Array(k.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let ch = 0; ch < c; ch++) {
        const hwc = ((y * w + x) * c + ch) * units;
        const chw = ((ch * h + y) * w + x) * units;
        if (toChw) out.set(k.subarray(hwc, hwc + units), chw);
        else out.set(k.subarray(chw, chw + units), hwc);
      }
    }
  }
  return out;
}

/** [rows, cols] -> [cols, rows]. */
export function transpose2d(data, rows, cols) {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
  return out;
}
