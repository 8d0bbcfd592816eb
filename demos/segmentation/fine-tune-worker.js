// Module worker of the segmentation demo's "Fine-tune" button (app.js). model.fit yields between batches only and a
// batch takes about half a second, so training on the page's thread froze the page for that long at a time; here it
// runs on its own thread. The page sends the model as bytes; the worker generates the scenes itself (cnn.data.shapes
// is isomorphic, and making them is cheaper than copying them over) and trains with the page's recipe and seeds, so a
// run gives the same weights as the same run in the page. One worker per run: terminating it frees its wasm heap.
//
// page → worker: { type: 'start', bytes, run } (run: fineTune's second argument), then maybe { type: 'stop' }
// worker → page: { type: 'training' } once the scenes are made; { type: 'batch', epoch, batch, logs: { loss,
//   pixelAccuracy, meanIoU } } after each batch; at the end { type: 'done', bytes, history } (the trained model, also
//   when stopped; its buffer is transferred) or { type: 'error', message }.
//
// app.js imports fineTune for its fallback in browsers without module workers; the message handling below only
// runs in a worker.
import * as cnn from '../../web/index.js';
import { compileOptions, toTensors, train } from './recipes.js';

/**
 * Trains `model` in place on `count` new generated scenes of seed `sceneSeed` (recipes.train: Adam, one-cycle schedule
 * up to `peakLearningRate`, fit seed `fitSeed`); calls onTraining() once the scenes are made and
 * onBatch(epoch, batch, logs) after each batch (awaited); a `signal` abort ends fit after the batch in progress.
 * Returns the History's per-epoch values.
 */
export async function fineTune(model, { arch, size, count, epochs, batchSize, peakLearningRate, sceneSeed, fitSeed },
  { signal, onTraining, onBatch }) {
  const tensors = toTensors(cnn, cnn.data.shapes({ count, size, seed: sceneSeed }));
  let epoch = 0;
  try {
    model.compile(compileOptions(cnn, arch, peakLearningRate));
    onTraining();
    const history = await train(cnn, arch, model, tensors, {
      epochs, batchSize, peakLearningRate, seed: fitSeed, signal,
      callbacks: {
        onBatchEnd: (batch, logs) => onBatch(epoch, batch, logs),
        onEpochEnd(e) { epoch = e + 1; },
      },
    });
    return history.history;
  } finally {
    tensors.x.dispose();
    tensors.y.dispose();
  }
}

async function run(bytes, options, signal) {
  await cnn.ready();
  const model = await cnn.loadModel(bytes);
  try {
    const history = await fineTune(model, options, {
      signal,
      onTraining: () => self.postMessage({ type: 'training' }),
      onBatch(epoch, batch, { loss, pixelAccuracy, meanIoU }) {
        self.postMessage({ type: 'batch', epoch, batch, logs: { loss, pixelAccuracy, meanIoU } });
      },
    });
    const out = model.save();
    self.postMessage({ type: 'done', bytes: out, history }, [out.buffer]);
  } finally {
    model.dispose();
  }
}

if (typeof WorkerGlobalScope !== 'undefined' && self instanceof WorkerGlobalScope) {
  const abort = new AbortController();
  // fit yields to the event loop after each batch (a batch takes longer than its yieldEvery), so a 'stop' sent during
  // a batch is seen before the next one starts.
  self.onmessage = ({ data }) => {
    if (data.type === 'stop') abort.abort();
    else if (data.type === 'start') run(data.bytes, data.run, abort.signal).catch((err) => self.postMessage({ type: 'error', message: err.message }));
  };
}
