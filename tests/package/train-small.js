// Shared by the installed-package checks in Node (node-app.js) and in the bundled page (page/main.js): a small
// CNN learns which half of an 8 x 8 image is bright. Returns the loss per epoch and the accuracy on fresh samples.
export async function trainSmall(cnn) {
  let state = 12345;
  const random = () => { state = (Math.imul(state, 1103515245) + 12345) >>> 0; return state / 2 ** 32; };
  const make = (n) => {
    const x = new Float32Array(n * 64);
    const y = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      y[i] = i % 2;
      for (let p = 0; p < 64; p++) {
        const right = p % 8 >= 4;
        x[i * 64 + p] = (right === (y[i] === 1) ? 0.7 : 0.2) + 0.3 * random();
      }
    }
    return [cnn.tensor(x, [n, 8, 8, 1]), cnn.tensor(y, [n], 'int32')];
  };
  const model = cnn.sequential({ seed: 1, layers: [
    cnn.layers.conv2d({ inputShape: [8, 8, 1], filters: 4, kernelSize: 3, activation: 'relu' }),
    cnn.layers.maxPooling2d({ poolSize: 2 }),
    cnn.layers.flatten(),
    cnn.layers.dense({ units: 2, activation: 'softmax' }),
  ] });
  model.compile({ optimizer: cnn.train.adam(0.01), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
  const [x, y] = make(128);
  const history = await model.fit(x, y, { epochs: 6, batchSize: 16, seed: 2 });
  const [xt, yt] = make(64);
  const [loss, acc] = model.evaluate(xt, yt);
  const result = { losses: history.history.loss, testAccuracy: acc.dataSync()[0], bytes: model.save({ metadata: { classNames: ['left', 'right'] } }) };
  [x, y, xt, yt, loss, acc].forEach((t) => t.dispose());
  model.dispose();
  return result;
}
