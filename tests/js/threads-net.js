// The network the thread tests train, shared by Node (tests/js/threads.test.js, through child processes) and
// Chromium (tests/browser/pages/threads.js): every layer family the threaded engine splits, and dropout, so that a
// difference in any pass shows in the bits of the losses or the weights.
/**
 * Trains a small CNN for 2 epochs (fixed seeds) with the library passed in; resolves to { engine, losses, weights }:
 * the engine info, each batch's loss as the hex of its float32 bits, and FNV-1a hashes of every weight's bytes.
 */
export async function trainThreadsNet(cnn) {
  const model = cnn.sequential({ seed: 7, layers: [
    cnn.layers.conv2d({ inputShape: [16, 16, 3], filters: 8, kernelSize: 3, padding: 'same', activation: 'relu' }),
    cnn.layers.conv2d({ filters: 16, kernelSize: 3, padding: 'same' }), // direct convolution
    cnn.layers.conv2d({ filters: 16, kernelSize: 3, padding: 'same' }), // im2col + GEMM (16 channels x 3 taps > 40)
    cnn.layers.batchNormalization(),
    cnn.layers.activation({ activation: 'relu' }),
    cnn.layers.maxPooling2d({ poolSize: 2 }),
    cnn.layers.conv2d({ filters: 12, kernelSize: 1 }), // pointwise
    cnn.layers.averagePooling2d({ poolSize: 2 }),
    cnn.layers.flatten(),
    cnn.layers.dense({ units: 32, activation: 'relu' }),
    cnn.layers.dropout({ rate: 0.3 }),
    cnn.layers.dense({ units: 5, activation: 'softmax' }),
  ]});
  model.compile({ optimizer: cnn.train.adam(0.003), loss: 'sparseCategoricalCrossentropy' });
  const n = 96;
  const xs = new Float32Array(n * 16 * 16 * 3);
  let s = 12345;
  for (let i = 0; i < xs.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    xs[i] = (s >>> 8) / 16777216 - 0.5;
  }
  const ys = new Int32Array(n).map((_, i) => (i * 7) % 5);
  const losses = [];
  const bits = new DataView(new ArrayBuffer(4));
  const x = cnn.tensor(xs, [n, 16, 16, 3]);
  const y = cnn.tensor(ys, [n], 'int32');
  await model.fit(x, y, { epochs: 2, batchSize: 32, seed: 3, callbacks: {
    onBatchEnd: (batch, logs) => {
      bits.setFloat32(0, logs.loss);
      losses.push(bits.getUint32(0).toString(16));
    },
  } });
  const weights = model.getWeights().map((w) => {
    const data = w.dataSync();
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    let h = 0x811c9dc5;
    for (const b of bytes) h = Math.imul(h ^ b, 0x01000193) >>> 0;
    return `${bytes.length}:${h.toString(16)}`;
  });
  x.dispose();
  y.dispose();
  model.dispose();
  return { engine: cnn.engineInfo(), losses, weights };
}
