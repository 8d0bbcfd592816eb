// How the segmentation demo shows images and masks: canvases scaled to the view, generated scenes as ImageData, masks
// painted over the image (or alone), and the legend with each class's share and IoU.

/** Sizes a canvas's CSS box to fit view×view, keeping its aspect; small canvases are scaled up without smoothing. */
export function fitView(canvas, view) {
  const scale = view / Math.max(canvas.width, canvas.height);
  canvas.style.width = `${Math.round(canvas.width * scale)}px`;
  canvas.style.height = `${Math.round(canvas.height * scale)}px`;
  canvas.style.imageRendering = scale >= 1 ? 'pixelated' : 'auto';
}

/** Image `index` of generated images (floats in [0, 1], RGB, NHWC) as ImageData. */
export function toImageData(images, index, width, height) {
  const px = width * height;
  const out = new ImageData(width, height);
  const src = images.subarray(index * px * 3, (index + 1) * px * 3);
  for (let p = 0; p < px; p++) {
    out.data[4 * p] = Math.round(src[3 * p] * 255);
    out.data[4 * p + 1] = Math.round(src[3 * p + 1] * 255);
    out.data[4 * p + 2] = Math.round(src[3 * p + 2] * 255);
    out.data[4 * p + 3] = 255;
  }
  return out;
}

/**
 * Copies `source` to `canvas` and paints `mask` ({ width, height, classes }) over it with cnn.browser.overlay at
 * `alpha`, or the mask alone (scaled without smoothing) when `maskOnly`.
 */
export function paintMask(cnn, canvas, source, mask, { palette, alpha, maskOnly, view }) {
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  canvas.width = source.width;
  canvas.height = source.height;
  ctx.drawImage(source, 0, 0);
  fitView(canvas, view);
  if (!mask) return;
  if (maskOnly) {
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    const small = cnn.browser.maskToImageData(mask, palette);
    const tmp = new OffscreenCanvas(small.width, small.height);
    tmp.getContext('2d').putImageData(small, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(tmp, 0, 0, canvas.width, canvas.height);
  } else {
    cnn.browser.overlay(canvas, mask, { alpha, palette });
  }
}

/** The legend's items: swatch, class name, share of the predicted pixels and, with a ground truth, the class's IoU. */
export function drawLegend(list, { classNames, palette }, classes, score) {
  const share = new Array(classNames.length).fill(0);
  for (const c of classes) share[c]++;
  list.replaceChildren(...classNames.map((name, c) => {
    const li = document.createElement('li');
    const [r, g, b, a] = palette.subarray(4 * c, 4 * c + 4);
    const sw = document.createElement('span');
    sw.className = a === 0 ? 'swatch clear' : 'swatch';
    if (a) sw.style.background = `rgb(${r} ${g} ${b})`;
    const label = document.createElement('span');
    label.className = 'name';
    label.textContent = name;
    const pct = document.createElement('span');
    pct.className = 'num';
    pct.textContent = `${((share[c] / classes.length) * 100).toFixed(0)}%`;
    pct.title = 'share of the pixels predicted as this class';
    const iou = document.createElement('span');
    iou.className = 'num';
    const v = score?.perClass[c];
    iou.textContent = score ? (v === null ? 'IoU –' : `IoU ${v.toFixed(2)}`) : '';
    li.append(sw, label, pct, iou);
    return li;
  }));
}
