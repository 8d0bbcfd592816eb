// model.segment(image): runs a per-pixel model on an image of any size and returns its class map at the image's size.
import { CnnError } from '../core/errors.js';
import { checkOptions } from '../core/options.js';
import { Tensor, wrap, describe } from '../core/tensor.js';
import { readPixels, checkSize } from '../image/pixels.js';
import { resampleBilinear, parseSize, resizeNearest } from '../image/resize.js';

const now = () => (typeof performance !== 'undefined' ? performance.now() : Date.now());

const defaultNormalize = (v) => v / 255;

/**
 * model.segment(image, { size, normalize = v => v / 255, batchSize }) → { width, height, classes: Uint8Array,
 * numClasses, timeMs }: the image (anything fromPixels reads, or a [h, w, c] Tensor of 0..255 values) is resized
 * bilinearly to the model's input, normalized, run, and the per-pixel argmax is scaled back to the image's own size
 * with nearest neighbour. A single-channel output (sigmoid) is thresholded at 0.5 into classes 0 and 1.
 */
export function segment(model, image, options = {}) {
  const what = 'segment';
  const t0 = now();
  checkOptions(options, ['size', 'normalize', 'batchSize'], what);
  if (!model || typeof model.predict !== 'function' || !model.inputs) throw new CnnError(`${what}: expected a model with an input, got ${describe(model)}`);
  const inShape = model.inputs[0].sampleShape;
  const outShape = model.outputs[0].sampleShape;
  if (!inShape || inShape.length !== 3) throw new CnnError(`${what}: the model's input must be an image [h, w, c], got [${inShape ?? ''}]`);
  if (!outShape || outShape.length !== 3) {
    throw new CnnError(`${what}: the model must output a class map [h, w, classes] (softmax over the last axis), got [${outShape ?? ''}]`);
  }
  const [inH, inW, inC] = inShape;
  const [outH, outW, classCount] = outShape;
  if (options.size !== undefined) {
    const [h, w] = parseSize(options.size, what);
    if (h !== inH || w !== inW) {
      throw new CnnError(`${what}: size [${h}, ${w}] differs from the model's input size [${inH}, ${inW}]; the model takes a fixed size, so leave size out`);
    }
  }
  const numClasses = classCount === 1 ? 2 : classCount;
  if (numClasses > 256) throw new CnnError(`${what}: the model has ${numClasses} classes; segment() returns class ids as bytes (at most 256 classes)`);
  const normalize = options.normalize === undefined ? defaultNormalize : options.normalize;
  if (normalize !== null && typeof normalize !== 'function') {
    throw new CnnError(`${what}: normalize must be a function (value => number) or null, got ${describe(normalize)}`);
  }

  // The source image as interleaved values with `stride` values per pixel.
  let src, width, height, stride;
  if (image instanceof Tensor) {
    const shape = image.rank === 4 && image.shape[0] === 1 ? image.shape.slice(1) : image.shape;
    if (shape.length !== 3) throw new CnnError(`${what}: an image tensor must have shape [h, w, c], got [${image.shape}]`);
    [height, width, stride] = shape;
    checkSize(width, height, what);
    if (stride !== inC) throw new CnnError(`${what}: the image tensor has ${stride} channels but the model's input has ${inC}`);
    src = image.values();
  } else {
    if (![1, 3, 4].includes(inC)) {
      throw new CnnError(`${what}: the model's input has ${inC} channels; images give 1 (red), 3 (RGB) or 4 (RGBA); pass a [h, w, ${inC}] Tensor instead`);
    }
    ({ width, height, data: src } = readPixels(image, what));
    stride = 4;
  }

  const input = new Float32Array(inH * inW * inC);
  const fastScale = normalize === defaultNormalize ? 1 / 255 : 1;
  resampleBilinear(src, height, width, stride, inC, inH, inW, input, fastScale);
  if (normalize !== null && normalize !== defaultNormalize) {
    for (let i = 0; i < input.length; i++) {
      const v = normalize(input[i]);
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new CnnError(`${what}: normalize(${input[i]}) returned ${v}; expected a finite number`);
      input[i] = v;
    }
  }
  const x = wrap(input, [1, inH, inW, inC]);
  let scores;
  try {
    scores = model.predict(x, options.batchSize === undefined ? {} : { batchSize: options.batchSize });
  } finally {
    x.dispose();
  }
  const probs = scores.values();
  const small = new Uint8Array(outH * outW);
  if (classCount === 1) {
    for (let i = 0; i < small.length; i++) small[i] = probs[i] > 0.5 ? 1 : 0;
  } else {
    for (let i = 0, k = 0; i < small.length; i++, k += classCount) {
      let best = 0;
      let bestValue = probs[k];
      for (let c = 1; c < classCount; c++) {
        if (probs[k + c] > bestValue) { bestValue = probs[k + c]; best = c; }
      }
      small[i] = best;
    }
  }
  scores.dispose();
  const classes = resizeNearest(small, outH, outW, height, width);
  return { width, height, classes, numClasses, timeMs: now() - t0 };
}
