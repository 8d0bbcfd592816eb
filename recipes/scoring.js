// Segmentation scores from predicted and expected class maps: pure functions of the masks (no DOM, no engine), used by
// the segmentation demo for the shown scene and its held-out measurement, and by tools/quantize-models.js.

/** Per-pixel class of [pixels, k] probabilities (the first of equal maxima). */
export function argmax(probs, k) {
  const out = new Uint8Array(probs.length / k);
  for (let i = 0, j = 0; i < out.length; i++, j += k) {
    let best = 0;
    for (let c = 1; c < k; c++) if (probs[j + c] > probs[j + best]) best = c;
    out[i] = best;
  }
  return out;
}

/** Adds a prediction / truth pair to per-class [tp, predicted, true] counts (k classes); returns the correct pixels. */
export function accumulate(counts, pred, truth, k) {
  let correct = 0;
  for (let i = 0; i < pred.length; i++) {
    const p = pred[i];
    const t = truth[i];
    counts[k + p]++;
    counts[2 * k + t]++;
    if (p === t) { counts[p]++; correct++; }
  }
  return correct;
}

/** Per-class IoU and their mean over the classes present, from accumulate()'s counts. */
export function iouFromCounts(counts, k) {
  const perClass = [];
  let sum = 0;
  let present = 0;
  for (let c = 0; c < k; c++) {
    const tp = counts[c];
    const union = counts[k + c] + counts[2 * k + c] - tp;
    const iou = union > 0 ? tp / union : null; // a class in neither mask does not count
    perClass.push(iou);
    if (iou !== null) { sum += iou; present++; }
  }
  return { meanIoU: present ? sum / present : 0, perClass };
}

/**
 * Mean IoU (over the classes present in the prediction or the truth), per-class IoU and pixel accuracy of one
 * class map against the expected one (same size), k classes.
 */
export function scoreMasks(pred, truth, k) {
  if (pred.length !== truth.length) throw new Error(`scoreMasks: ${pred.length} predicted pixels but ${truth.length} expected`);
  const counts = new Float64Array(k * 3);
  const correct = accumulate(counts, pred, truth, k);
  return { ...iouFromCounts(counts, k), pixelAccuracy: correct / pred.length };
}
