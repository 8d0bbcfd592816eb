// The segmentation demo's held-out measurement: mean IoU and pixel accuracy of a model on the first 100 of
// tools/train-segmentation.js's held-out scenes, over all their pixels (as model.evaluate's meanIoU), predicted in
// small chunks with a yield between them so that the page keeps painting.
import * as scoring from '../../recipes/scoring.js';

export const HELD_OUT = Object.freeze({ seed: 1001, count: 100 });

let cached = null;

/**
 * Scores `model` (numClasses classes, size×size inputs); onProgress(fraction) after each chunk.
 * @returns {Promise<{ meanIoU: number, perClass: (number | null)[], pixelAccuracy: number, count: number }>}
 */
export async function heldOutScore(cnn, model, { size, numClasses, onProgress = () => {} }) {
  cached ??= cnn.data.shapes({ count: HELD_OUT.count, size, seed: HELD_OUT.seed });
  const set = cached;
  const px = set.height * set.width;
  const counts = new Float64Array(numClasses * 3); // [tp, predicted, true] per class
  let correct = 0;
  // 2 scenes take 15–50 ms (FCN), so the page keeps answering while it measures, also right after fine-tuning; the
  // scores do not depend on the chunk size (predictions are per scene), nor does the total time.
  const chunk = 2;
  for (let start = 0; start < set.count; start += chunk) {
    // Yield first, so that a chunk never runs in the same task as the caller's work (loading the fine-tuned model).
    await new Promise((r) => setTimeout(r));
    const n = Math.min(chunk, set.count - start);
    const x = cnn.tensor(set.images.subarray(start * px * 3, (start + n) * px * 3), [n, set.height, set.width, 3]);
    const y = model.predict(x);
    const probs = y.dataSync();
    x.dispose();
    y.dispose();
    const pred = scoring.argmax(probs, numClasses);
    correct += scoring.accumulate(counts, pred, set.masks.subarray(start * px, (start + n) * px), numClasses);
    onProgress((start + n) / set.count);
  }
  return { ...scoring.iouFromCounts(counts, numClasses), pixelAccuracy: correct / (set.count * px), count: set.count };
}
