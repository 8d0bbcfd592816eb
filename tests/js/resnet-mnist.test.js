// ResNet-20 at half width (the CIFAR ResNet of He et al. 2015, cnn.zoo.resnet({ depth: 20, widthMultiplier: 0.5 }))
// trained on 8,000 real MNIST digits padded to 32×32 reaches at least 98% on the 2,000 held-out digits.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as cnn from '../../web/index.js';
import { loadMnist, splitMnist } from '../../recipes/mnist.js';

before(async () => { await cnn.ready(); });

/** 28×28 digits centred in 32×32, as LeNet's original input (zero padding of 2 pixels). */
function padTo32(set) {
  const out = new Float32Array(set.count * 32 * 32);
  for (let i = 0; i < set.count; i++) {
    for (let y = 0; y < 28; y++) out.set(set.images.subarray(i * 784 + y * 28, i * 784 + y * 28 + 28), i * 1024 + (y + 2) * 32 + 2);
  }
  return cnn.tensor(out, [set.count, 32, 32, 1]);
}

test('ResNet-20 (width 1/2) reaches >= 98% held-out accuracy on MNIST at 32x32', async () => {
  const { train, test: heldOut } = splitMnist(await loadMnist());
  const x = padTo32(train);
  const y = cnn.tensor(train.labels, [train.count], 'int32');
  const xt = padTo32(heldOut);
  const yt = cnn.tensor(heldOut.labels, [heldOut.count], 'int32');
  const model = cnn.zoo.resnet({ depth: 20, widthMultiplier: 0.5, inputShape: [32, 32, 1], numClasses: 10, seed: 1 });
  assert.deepEqual(cnn.lint(model), []);
  model.compile({ optimizer: cnn.train.adam(0.005), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
  const started = performance.now();
  await model.fit(x, y, { epochs: 4, batchSize: 32, seed: 1, learningRateSchedule: cnn.train.oneCycle(0.005) });
  const seconds = (performance.now() - started) / 1000;
  const [loss, acc] = model.evaluate(xt, yt);
  const accuracy = acc.dataSync()[0];
  console.log(`# ResNet-20 x0.5 (${model.countParams()} parameters): held-out accuracy ${(accuracy * 100).toFixed(2)}%, ` +
    `loss ${loss.dataSync()[0].toFixed(4)}, 4 epochs in ${seconds.toFixed(0)} s`);
  assert.ok(accuracy >= 0.98, `held-out accuracy ${accuracy}`);
  for (const t of [x, y, xt, yt, loss, acc]) t.dispose();
  model.dispose();
});
