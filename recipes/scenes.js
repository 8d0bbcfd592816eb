// Generated segmentation scenes for training, tests and the demo: procedural shapes, or real MNIST digits placed on
// a canvas. Held-out scenes use a different seed and, for digits, the held-out digits, so nothing is seen twice.
import { loadMnist, splitMnist } from './mnist.js';

/** dataset 'shapes' | 'mnist' → { trainSet, testSet, numClasses, classNames } (sets as cnn.data returns them). */
export async function makeScenes(cnn, dataset, { train = 2000, test = 500, size = 64, seed = 1, mnistSource } = {}) {
  if (dataset === 'shapes') {
    const trainSet = train > 0 ? cnn.data.shapes({ count: train, size, seed }) : null;
    const testSet = cnn.data.shapes({ count: test, size, seed: seed + 1000 });
    return { trainSet, testSet, numClasses: testSet.numClasses, classNames: testSet.classNames };
  }
  if (dataset === 'mnist') {
    const digits = splitMnist(await loadMnist(mnistSource));
    const trainSet = train > 0 ? cnn.data.mnistScenes({ digits: digits.train, count: train, size, seed }) : null;
    const testSet = cnn.data.mnistScenes({ digits: digits.test, count: test, size, seed: seed + 1000 });
    return { trainSet, testSet, numClasses: testSet.numClasses, classNames: testSet.classNames };
  }
  throw new Error(`unknown dataset '${dataset}': expected 'shapes' or 'mnist'`);
}
