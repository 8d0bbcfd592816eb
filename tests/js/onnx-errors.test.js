// fromONNX / toONNX refuse what they cannot represent with a CnnError naming the node, the op and the attribute:
// unsupported ops and attributes, pads our layers cannot express, external data, malformed bytes, bad options.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as cnn from '../../web/index.js';
import { fromONNX, toONNX } from '../../web/onnx/index.js';
import { ModelProto, DATA_TYPE, ATTR } from '../../web/onnx/schema.js';

before(() => cnn.ready());

const f32 = (name, dims, fill = 0.1) => ({ name, dims, data_type: DATA_TYPE.FLOAT,
  float_data: Array(dims.reduce((a, b) => a * b, 1)).fill(fill) });
const info = (name, dims) => ({ name, type: { tensor_type: { elem_type: DATA_TYPE.FLOAT,
  shape: { dim: dims.map((d) => (typeof d === 'string' ? { dim_param: d } : { dim_value: d })) } } } });
const ints = (name, v) => ({ name, type: ATTR.INTS, ints: v });
const int = (name, v) => ({ name, type: ATTR.INT, i: v });

/** A one-Conv model (input [N, 2, 6, 6], weight [3, 2, 3, 3]) with `edit` applied to its node / graph. */
function convModel({ attrs = [], op = 'Conv', initializer = [f32('w', [3, 2, 3, 3])], inputs = ['x', 'w'] } = {}) {
  return ModelProto.encode(ModelProto.fromObject({
    ir_version: 8, opset_import: [{ domain: '', version: 17 }],
    graph: {
      name: 'g', node: [{ name: 'conv1', op_type: op, input: inputs, output: ['y'], attribute: attrs }],
      initializer, input: [info('x', ['N', 2, 6, 6])], output: [info('y', ['N', 3, 4, 4])],
    },
  })).finish();
}

async function refuses(bytes, pattern) {
  await assert.rejects(fromONNX(bytes), (err) => {
    assert.ok(err instanceof cnn.CnnError, `a CnnError, got ${err}`);
    assert.match(err.message, pattern);
    return true;
  });
}

test('the plain model imports (the cases below differ from it in one thing)', async () => {
  const model = await fromONNX(convModel({ attrs: [ints('kernel_shape', [3, 3])] }));
  assert.deepEqual(model.outputShape, [null, 4, 4, 3]);
  model.dispose();
});

test('unsupported op: names the node and the op, lists the supported ones', async () => {
  await refuses(convModel({ op: 'Gelu', inputs: ['x'] }), /node 'conv1' \(Gelu\): op Gelu is not supported; supported ops: .*Conv/);
});

test('unsupported attribute or value: names node, op and attribute', async () => {
  await refuses(convModel({ attrs: [int('group', 2)] }), /node 'conv1' \(Conv\): attribute group = 2 is not supported/);
  await refuses(convModel({ attrs: [int('mystery', 1)] }), /node 'conv1' \(Conv\): attribute 'mystery' is not supported/);
  await refuses(convModel({ attrs: [ints('dilations', [2, 2]), ints('strides', [2, 2])] }), /node 'conv1' \(Conv\): attributes dilations/);
  await refuses(convModel({ attrs: [{ name: 'auto_pad', type: ATTR.STRING, s: new TextEncoder().encode('WEIRD') }] }),
    /node 'conv1' \(Conv\): attribute auto_pad = 'WEIRD'/);
});

test('pooling windows our layers cannot express are refused, not approximated', async () => {
  const pool = (attrs, side = 7) => ModelProto.encode(ModelProto.fromObject({
    ir_version: 8, opset_import: [{ version: 17 }],
    graph: { node: [{ name: 'pool', op_type: 'MaxPool', input: ['x'], output: ['y'], attribute: attrs }],
      input: [info('x', [1, 2, side, side])], output: [info('y', [1, 2, 4, 4])] },
  })).finish();
  // ceil_mode windows over the end: explicit pooling with ceilMode.
  let model = await fromONNX(pool([ints('kernel_shape', [2, 2]), ints('strides', [2, 2]), int('ceil_mode', 1)]));
  assert.deepEqual(model.layers[1].outputShape, [4, 4, 2]);
  assert.equal(model.layers[1].getConfig().ceilMode, true);
  model.dispose();
  // Symmetric pads on a max pooling whose input may be negative: TensorFlow's 'same' on 7x7; on 8x8 (where 'same'
  // would pad [0, 1]) explicit pads, padding with -inf.
  const symmetric = [ints('kernel_shape', [3, 3]), ints('strides', [2, 2]), ints('pads', [1, 1, 1, 1])];
  model = await fromONNX(pool(symmetric, 7));
  assert.equal(model.layers[1].getConfig().padding, 'same');
  model.dispose();
  model = await fromONNX(pool(symmetric, 8));
  assert.deepEqual(model.layers[1].getConfig().padding, [[1, 1], [1, 1]]);
  model.dispose();
  // A pad as wide as the window (a window wholly in padding) and dilated windows have no wasm-cnn layer.
  await refuses(pool([ints('kernel_shape', [2, 2]), ints('strides', [2, 2]), ints('pads', [2, 0, 0, 0])], 8),
    /node 'pool' \(MaxPool\): attribute pads = \[2,0,0,0\] is not supported: each pad must be smaller than the window/);
  await refuses(pool([ints('kernel_shape', [2, 2]), ints('dilations', [2, 2])], 8),
    /node 'pool' \(MaxPool\): attribute dilations = \[2,2\] is not supported/);
});

test('a weight that is not a constant, and external data, are refused by name', async () => {
  await refuses(convModel({ initializer: [] }), /node 'conv1' \(Conv\): input 1 \('w'\) is not produced/);
  const external = { name: 'w', dims: [3, 2, 3, 3], data_type: DATA_TYPE.FLOAT, data_location: 1,
    external_data: [{ key: 'location', value: 'weights.bin' }] };
  await refuses(convModel({ initializer: [external] }), /initializer 'w' is stored in an external data file \('weights.bin'\)/);
});

test('malformed bytes, empty files and wrong sources', async () => {
  await refuses(Uint8Array.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 1, 2]), /not an ONNX model: protobuf decoding failed/);
  await refuses(new Uint8Array(0), /not an ONNX model/);
  const good = convModel();
  await refuses(good.subarray(0, good.length - 7), /not an ONNX model/);
  await assert.rejects(fromONNX('/nonexistent/model.onnx'), /fromONNX: cannot read \/nonexistent\/model.onnx/);
  await assert.rejects(fromONNX(42), /expected a Uint8Array, ArrayBuffer, URL or (file )?path/);
  await assert.rejects(fromONNX(good, { inputshape: [6, 6, 2] }), /unknown option 'inputshape'/);
});

test('dynamic spatial axes need inputShape', async () => {
  const bytes = ModelProto.encode(ModelProto.fromObject({
    ir_version: 8, opset_import: [{ version: 17 }],
    graph: { node: [{ name: 'r', op_type: 'Relu', input: ['x'], output: ['y'] }],
      input: [info('x', ['N', 2, 'H', 'W'])], output: [info('y', ['N', 2, 'H', 'W'])] },
  })).finish();
  await refuses(bytes, /has dynamic axes \[N,2,H,W\]; give the option inputShape/);
  const model = await fromONNX(bytes, { inputShape: [5, 7, 2] });
  assert.deepEqual(model.inputShape, [null, 5, 7, 2]);
  model.dispose();
});

test('toONNX options are checked', () => {
  const model = cnn.sequential({ layers: [cnn.layers.dense({ inputShape: [3], units: 2 })] });
  assert.throws(() => toONNX(model, { opset: 12 }), (e) => e instanceof cnn.CnnError && /opset must be an integer from 13 to 17, got 12/.test(e.message));
  assert.throws(() => toONNX(model, { opSet: 13 }), /unknown option 'opSet'/);
  assert.throws(() => toONNX({}), /expected a wasm-cnn model/);
  model.dispose();
});
