// The only file that knows the C engine's binary interface: enum values, the optimizer-config struct's layout, the
// stats vector, status codes and limits, as c/include/cnn.h defines them. Nothing here is trusted: the engine
// describes its own interface (cnn_abi_json) and verifyAbi() compares it with these tables when the engine loads,
// so a change on one side fails loudly instead of corrupting memory.
import { CnnError } from '../core/errors.js';

export const ABI_VERSION = 2;

// Each enum as [JS name, C name, value]; the Maps below are what the rest of web/ uses.
const ENUMS = {
  cnn_padding: [['valid', 'CNN_PADDING_VALID', 0], ['same', 'CNN_PADDING_SAME', 1]],
  cnn_activation: [['linear', 'CNN_ACT_LINEAR', 0], ['relu', 'CNN_ACT_RELU', 1], ['sigmoid', 'CNN_ACT_SIGMOID', 2],
    ['tanh', 'CNN_ACT_TANH', 3], ['softmax', 'CNN_ACT_SOFTMAX', 4], ['leakyRelu', 'CNN_ACT_LEAKY_RELU', 5]],
  cnn_init: [['zeros', 'CNN_INIT_ZEROS', 0], ['ones', 'CNN_INIT_ONES', 1], ['glorotUniform', 'CNN_INIT_GLOROT_UNIFORM', 2],
    ['glorotNormal', 'CNN_INIT_GLOROT_NORMAL', 3], ['heNormal', 'CNN_INIT_HE_NORMAL', 4],
    ['heUniform', 'CNN_INIT_HE_UNIFORM', 5], ['bilinear', 'CNN_INIT_BILINEAR', 6]],
  cnn_pool_kind: [['max', 'CNN_POOL_MAX', 0], ['avg', 'CNN_POOL_AVG', 1]],
  cnn_loss: [['sparseCategoricalCrossentropy', 'CNN_LOSS_SPARSE_CE', 0],
    ['categoricalCrossentropy', 'CNN_LOSS_CATEGORICAL_CE', 1], ['meanSquaredError', 'CNN_LOSS_MSE', 2]],
  cnn_optimizer_kind: [['sgd', 'CNN_OPT_SGD', 0], ['momentum', 'CNN_OPT_MOMENTUM', 1], ['adam', 'CNN_OPT_ADAM', 2]],
  cnn_status: [['OK', 'CNN_STATUS_OK', 0], ['INVALID_ARG', 'CNN_STATUS_INVALID_ARG', 1],
    ['INVALID_SHAPE', 'CNN_STATUS_INVALID_SHAPE', 2], ['OUT_OF_MEMORY', 'CNN_STATUS_OUT_OF_MEMORY', 3],
    ['INVALID_STATE', 'CNN_STATUS_INVALID_STATE', 4], ['NON_FINITE', 'CNN_STATUS_NON_FINITE', 5]],
  cnn_stats: [['LOSS', 'CNN_STATS_LOSS', 0], ['CORRECT', 'CNN_STATS_CORRECT', 1], ['COUNTED', 'CNN_STATS_COUNTED', 2],
    ['GRAD_NORM', 'CNN_STATS_GRAD_NORM', 3], ['HEADER', 'CNN_STATS_HEADER', 4]],
  cnn_upsampling_mode: [['nearest', 'CNN_UPSAMPLE_NEAREST', 0], ['bilinear', 'CNN_UPSAMPLE_BILINEAR', 1],
    ['bilinearHalfPixel', 'CNN_UPSAMPLE_BILINEAR_HALF_PIXEL', 2],
    ['bilinearAlignCorners', 'CNN_UPSAMPLE_BILINEAR_ALIGN_CORNERS', 3]],
};
const asMap = (name) => new Map(ENUMS[name].map(([js, , v]) => [js, v]));

export const PADDING = asMap('cnn_padding');
export const ACTIVATION = asMap('cnn_activation');
export const INIT = asMap('cnn_init');
export const POOL = Object.freeze(Object.fromEntries(asMap('cnn_pool_kind')));
export const UPSAMPLING = asMap('cnn_upsampling_mode');
export const LOSS = asMap('cnn_loss');
export const OPTIMIZER = asMap('cnn_optimizer_kind');
export const STATUS = Object.freeze(Object.fromEntries(asMap('cnn_status')));
export const STATUS_NAMES = ['ok', 'invalid argument', 'invalid shape', 'out of memory', 'invalid state',
  'non-finite value'];

/** The stats vector every step writes: a header, then per-class counts and per-parameter gradient norms. */
export const STATS = Object.freeze(Object.fromEntries(asMap('cnn_stats')));

/** cnn_optimizer_config: [field, byte offset, type]. */
export const OPTIMIZER_CONFIG = Object.freeze({
  size: 36,
  fields: [['kind', 0, 'i32'], ['learning_rate', 4, 'f32'], ['momentum', 8, 'f32'], ['nesterov', 12, 'i32'],
    ['beta1', 16, 'f32'], ['beta2', 20, 'f32'], ['epsilon', 24, 'f32'], ['weight_decay', 28, 'f32'],
    ['clip_norm', 32, 'f32']],
});

/** Limits the engine enforces (cnn.h's CNN_MAX_*); JS checks them first so that messages name the option. */
export const LIMITS = Object.freeze({
  maxDim: 65536,              // height, width, channels, filters, units
  maxKernel: 65536,           // kernel size and its dilated span, pool size
  maxStride: 65536,           // strides, dilation
  maxPadding: 65536,          // each side of zeroPadding2d
  maxTransposeKernel: 1024,   // conv2dTranspose kernel size and strides
  maxInputs: 8,               // inputs of add / concatenate
  maxElements: 1 << 28,       // floats in one sample's tensor at any node, or in one parameter
  maxBatch: 65536,            // samples per engine call (plan capacity)
  maxBufferBytes: 2 ** 31,    // one engine buffer
  maxPlanBytes: 2 ** 32,      // all of a model's planned buffers
  errorBytes: 512,            // the last-error buffer
});
const LIMIT_NAMES = { maxDim: 'max_dim', maxKernel: 'max_kernel', maxStride: 'max_stride', maxPadding: 'max_padding',
  maxTransposeKernel: 'max_transpose_kernel', maxInputs: 'max_inputs', maxElements: 'max_elements',
  maxBatch: 'max_batch', maxBufferBytes: 'max_buffer_bytes', maxPlanBytes: 'max_plan_bytes', errorBytes: 'error_bytes' };

/** Writes an optimizer config (JS names) into a DataView at byteOffset. */
export function writeOptimizerConfig(view, byteOffset, values) {
  for (const [field, offset, type] of OPTIMIZER_CONFIG.fields) {
    const value = values[field];
    if (type === 'i32') view.setInt32(byteOffset + offset, value, true);
    else view.setFloat32(byteOffset + offset, value, true);
  }
}

function mismatch(what, js, c) {
  return new CnnError(`wasm-cnn: the engine's ABI does not match this JavaScript (${what}: JS has ${JSON.stringify(js)}, ` +
    `the engine ${JSON.stringify(c)}); rebuild dist/ from the same sources (bash build.sh)`);
}

/** Compares the engine's description of itself (parsed cnn_abi_json) with these tables; throws on any difference. */
export function verifyAbi(c) {
  if (c.abi_version !== ABI_VERSION) throw mismatch('abi_version', ABI_VERSION, c.abi_version);
  const size = c.sizeof?.cnn_optimizer_config;
  if (size !== OPTIMIZER_CONFIG.size) throw mismatch('sizeof(cnn_optimizer_config)', OPTIMIZER_CONFIG.size, size);
  const offsets = c.offsetof?.cnn_optimizer_config ?? {};
  for (const [field, offset] of OPTIMIZER_CONFIG.fields) {
    if (offsets[field] !== offset) throw mismatch(`offsetof(cnn_optimizer_config, ${field})`, offset, offsets[field]);
  }
  if (Object.keys(offsets).length !== OPTIMIZER_CONFIG.fields.length) {
    throw mismatch('cnn_optimizer_config fields', OPTIMIZER_CONFIG.fields.map((f) => f[0]), Object.keys(offsets));
  }
  for (const [name, entries] of Object.entries(ENUMS)) {
    const got = c.enums?.[name] ?? {};
    for (const [, cName, value] of entries) if (got[cName] !== value) throw mismatch(cName, value, got[cName]);
    const extra = Object.keys(got).filter((k) => !entries.some(([, cName]) => cName === k));
    if (extra.length) throw mismatch(`${name} names`, entries.map(([, n]) => n), Object.keys(got));
  }
  for (const [key, cName] of Object.entries(LIMIT_NAMES)) {
    if (c.limits?.[cName] !== LIMITS[key]) throw mismatch(`limits.${cName}`, LIMITS[key], c.limits?.[cName]);
  }
  const extraLimits = Object.keys(c.limits ?? {}).filter((k) => !Object.values(LIMIT_NAMES).includes(k));
  if (extraLimits.length) throw mismatch('limits', Object.values(LIMIT_NAMES), Object.keys(c.limits));
}
